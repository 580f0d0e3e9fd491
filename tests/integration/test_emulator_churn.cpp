// Data that changes while the emulator runs: the churn control call and the scenario's steady churn rate,
// seen through the legacy and Graph incident lists and the hunting tables.

#include "resource_api_support.hpp"

#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

class ChurnTest : public ResourceApiTest {
protected:
  std::vector<Json> legacy_all() const { return list_all(token(k_fabrikam), "/api/incidents"); }
  static std::string latest(const std::vector<Json>& incidents) {
    std::string max;
    for (const auto& i : incidents) max = std::max(max, i["lastUpdateTime"].get<std::string>());
    return max;
  }
};

std::vector<int64_t> ids_of(const Json& j) { return j.get<std::vector<int64_t>>(); }

} // namespace

TEST_F(ChurnTest, TheChurnCallCreatesAndUpdatesIncidentsThatIncrementalSyncCatches) {
  auto before = legacy_all();
  ASSERT_EQ(before.size(), 25u);
  std::string watermark = latest(before);
  control("POST", "/_emulator/clock", {{"advance_seconds", 5}});
  Json r = control("POST", "/_emulator/tenants/fabrikam.onmicrosoft.com/churn", {{"create", 3}, {"update", 4}});
  ASSERT_EQ(r["tenant_id"], k_fabrikam) << r.dump();
  auto created = ids_of(r["created"]);
  auto updated = ids_of(r["updated"]);
  ASSERT_EQ(created.size(), 3u);
  ASSERT_EQ(updated.size(), 4u);
  std::set<int64_t> old_ids;
  for (const auto& i : before) old_ids.insert(i["incidentId"].get<int64_t>());
  for (int64_t id : created) EXPECT_FALSE(old_ids.count(id)) << "new ids";
  for (int64_t id : updated) EXPECT_TRUE(old_ids.count(id)) << "existing ids";
  // What an incremental sync asks: everything updated since the last one it saw.
  std::set<int64_t> since;
  for (const auto& i : list_all(token(k_fabrikam), "/api/incidents?$filter=" + q("lastUpdateTime gt " + watermark)))
    since.insert(i["incidentId"].get<int64_t>());
  std::set<int64_t> changed(created.begin(), created.end());
  changed.insert(updated.begin(), updated.end());
  EXPECT_EQ(since, changed);
  auto after = legacy_all();
  EXPECT_EQ(after.size(), 28u);
  for (const auto& i : after) {
    if (std::find(created.begin(), created.end(), i["incidentId"].get<int64_t>()) == created.end()) continue;
    EXPECT_EQ(i["status"], "Active");
    EXPECT_EQ(i["createdTime"], i["lastUpdateTime"]);
    EXPECT_FALSE(i["alerts"].empty());
  }
  // The same incidents on Graph, and their alerts in AlertInfo.
  std::set<std::string> graph_since;
  for (const auto& i : list_all(token(k_fabrikam, k_graph),
                                "/v1.0/security/incidents?$filter=" + q("lastUpdateDateTime gt " + watermark)))
    graph_since.insert(i["id"].get<std::string>());
  EXPECT_EQ(graph_since.size(), changed.size());
  Json info = body_of(call("POST", "/api/advancedhunting/run", token(k_fabrikam), R"({"Query":"AlertInfo | project AlertId"})"));
  std::set<std::string> hunted;
  for (const auto& row : info["Results"]) hunted.insert(row["AlertId"].get<std::string>());
  size_t alerts = 0;
  for (const auto& i : after)
    for (const auto& a : i["alerts"]) {
      ++alerts;
      EXPECT_TRUE(hunted.count(a["alertId"].get<std::string>())) << a["alertId"];
    }
  EXPECT_EQ(hunted.size(), alerts);
  // A second churn after hunting extends AlertInfo again.
  Json r2 = control("POST", "/_emulator/tenants/" + k_fabrikam + "/churn", {{"create", 1}});
  ASSERT_EQ(r2["created"].size(), 1u);
  EXPECT_TRUE(r2["updated"].empty());
  Json info2 = body_of(call("POST", "/api/advancedhunting/run", token(k_fabrikam), R"({"Query":"AlertInfo | count"})"));
  EXPECT_GT(info2["Results"][0]["Count"].get<int64_t>(), static_cast<int64_t>(alerts));
}

TEST_F(ChurnTest, ChurnIsDeterministicFromTheSeedAndRejectsBadInput) {
  Json a = control("POST", "/_emulator/tenants/" + k_fabrikam + "/churn", {{"create", 2}, {"update", 3}});
  Json a2 = control("POST", "/_emulator/tenants/" + k_fabrikam + "/churn", {{"create", 2}, {"update", 3}});
  EXPECT_NE(a["created"], a2["created"]) << "each call makes new incidents";
  emulator->stop();
  start(identity.scenario());
  Json b = control("POST", "/_emulator/tenants/" + k_fabrikam + "/churn", {{"create", 2}, {"update", 3}});
  EXPECT_EQ(a["created"], b["created"]);
  EXPECT_EQ(a["updated"], b["updated"]);
  auto c = client();
  auto bad = c->Post(("/_emulator/tenants/" + k_fabrikam + "/churn").c_str(), R"({"create":-1})", "application/json");
  EXPECT_EQ(bad->status, 400);
  bad = c->Post(("/_emulator/tenants/" + k_fabrikam + "/churn").c_str(), R"({"create":"many"})", "application/json");
  EXPECT_EQ(bad->status, 400);
  bad = c->Post("/_emulator/tenants/nowhere.example.com/churn", R"({"create":1})", "application/json");
  EXPECT_EQ(bad->status, 404);
  // Asking to update more incidents than exist updates each once.
  Json all = control("POST", "/_emulator/tenants/" + k_northwind + "/churn", {{"update", 1000}});
  EXPECT_EQ(all["updated"].size(), 25u);
  auto every = ids_of(all["updated"]);
  EXPECT_EQ(std::set<int64_t>(every.begin(), every.end()).size(), 25u);
}

TEST_F(ChurnTest, SteadyChurnAppliesAsTheEmulatorClockAdvances) {
  emulator->stop();
  start(scenario_with(30, Json::object(), {{"churn", {{"create_per_minute", 2}, {"update_per_minute", 5}}}}));
  auto before = legacy_all();
  ASSERT_EQ(before.size(), 30u);
  std::string watermark = latest(before);
  EXPECT_EQ(legacy_all().size(), 30u) << "nothing is due within the first seconds";
  control("POST", "/_emulator/clock", {{"advance_seconds", 61}});
  auto after = legacy_all();
  EXPECT_EQ(after.size(), 32u) << "two creations per minute";
  auto since = list_all(token(k_fabrikam), "/api/incidents?$filter=" + q("lastUpdateTime gt " + watermark));
  EXPECT_GE(since.size(), 3u) << "2 created + up to 5 updated";
  EXPECT_LE(since.size(), 7u);
  Json state = control("GET", "/_emulator/state");
  auto now = util::parse_rfc3339(state["now"].get<std::string>());
  for (const auto& i : since) EXPECT_LE(*util::parse_rfc3339(i["lastUpdateTime"].get<std::string>()), *now) << "stamped when due";
  control("POST", "/_emulator/clock", {{"advance_seconds", 60}});
  EXPECT_EQ(legacy_all().size(), 34u);
  EXPECT_EQ(list_all(token(k_fabrikam, k_graph), "/v1.0/security/incidents").size(), 34u);
}
