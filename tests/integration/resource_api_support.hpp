#pragma once
// Helpers for the resource-API tests (Defender XDR, Defender for Endpoint, Graph security): tokens for a
// resource, raw HTTPS calls with a bearer token, and walking @odata.nextLink pages.

#include "emulator_fixture.hpp"

#include <functional>
#include <set>
#include <vector>

namespace xdr::testing {

inline const std::string k_mde = "https://api.securitycenter.microsoft.com";
inline const std::string k_graph = "https://graph.microsoft.com";

class ResourceApiTest : public EmulatorTest {
protected:
  // A v1 client-credentials token of `tenant` for `resource`.
  std::string token(const std::string& tenant, const std::string& resource = k_xdr) const {
    Json b = body_of(post_form("/" + tenant + "/oauth2/token", secret_v1(resource)));
    EXPECT_TRUE(b.contains("access_token")) << b.dump();
    return b.value("access_token", std::string());
  }
  httplib::Result call(const std::string& method, const std::string& path, const std::string& bearer,
                       const std::string& body = "", const std::string& ctype = "application/json",
                       httplib::Headers headers = {}) const {
    if (!bearer.empty()) headers.emplace("Authorization", "Bearer " + bearer);
    auto c = client();
    if (method == "GET") return c->Get(path.c_str(), headers);
    if (method == "PATCH") return c->Patch(path.c_str(), headers, body, ctype.c_str());
    return c->Post(path.c_str(), headers, body, ctype.c_str());
  }
  // Walks every page from `first`, following absolute @odata.nextLink URLs on the emulator.
  std::vector<Json> list_all(const std::string& bearer, const std::string& first, int* pages = nullptr,
                             std::vector<size_t>* page_sizes = nullptr) const {
    std::vector<Json> out;
    std::string path = first;
    int n = 0;
    while (!path.empty() && n < 1000) {
      auto r = call("GET", path, bearer);
      EXPECT_TRUE(r);
      if (!r) break;
      EXPECT_EQ(r->status, 200) << path << ": " << r->body;
      Json b = body_of(r);
      for (const auto& i : b["value"]) out.push_back(i);
      if (page_sizes) page_sizes->push_back(b["value"].size());
      ++n;
      path.clear();
      if (b.contains("@odata.nextLink")) {
        std::string link = b["@odata.nextLink"];
        EXPECT_EQ(link.rfind(emulator->url() + "/", 0), 0u) << link;
        path = link.substr(emulator->url().size());
      }
    }
    if (pages) *pages = n;
    return out;
  }
  // The default scenario with Fabrikam's incident count and optional quotas/limits/churn.
  Json scenario_with(int fabrikam_incidents, Json extra = Json::object(), Json fabrikam_data = Json::object()) const {
    Json s = identity.scenario();
    fabrikam_data["incidents"] = fabrikam_incidents;
    s["tenants"][0]["data"] = fabrikam_data;
    for (auto& [k, v] : extra.items()) s[k] = v;
    return s;
  }
};

inline std::string q(const std::string& s) { return httplib::detail::encode_query_param(s); }

} // namespace xdr::testing
