// The typed filter: literals per dialect, the split between server-side $filter and client-side terms, and
// the client-side evaluation.

#include <gtest/gtest.h>

#include <xdr/api/filter.hpp>
#include <xdr/util/time.hpp>

namespace xdr::api {
namespace {

TimePoint at(const char* text) { return util::parse_rfc3339(text).value(); }

TEST(ApiFilter, LiteralsPerDialect) {
  EXPECT_EQ(format_literal(at("2021-04-01T00:00:00Z"), Dialect::legacy), "2021-04-01T00:00:00Z");
  EXPECT_EQ(format_literal(at("2021-04-01T00:00:00.1234500Z"), Dialect::graph), "2021-04-01T00:00:00.12345Z");
  EXPECT_EQ(format_literal(std::optional<std::string>("o'brien@contoso.com"), Dialect::legacy), "'o''brien@contoso.com'");
  EXPECT_EQ(format_literal(std::optional<std::string>(), Dialect::legacy), "null");
  EXPECT_EQ(format_literal(IncidentStatus::in_progress, Dialect::legacy), "'InProgress'");
  EXPECT_EQ(format_literal(IncidentStatus::in_progress, Dialect::graph), "'inProgress'");
  EXPECT_EQ(format_literal(Severity::unspecified, Dialect::legacy), "'UnSpecified'");
  EXPECT_EQ(format_literal(Severity::unspecified, Dialect::graph), "'unknown'");
  EXPECT_EQ(format_literal(Determination::compromised_user, Dialect::graph), "'compromisedUser'");
}

TEST(ApiFilter, LegacyKeepsItsFourFieldsServerSideAndSaysWhatItFiltersItself) {
  IncidentFilter f;
  f.created_time(FilterOp::gt, at("2021-04-01T00:00:00Z"))
      .status({IncidentStatus::active, IncidentStatus::in_progress})
      .assigned_to("secop2@contoso.com")
      .severity({Severity::high})
      .last_update_time(FilterOp::ge, at("2021-05-01T10:00:00Z"));
  FilterPlan legacy = plan_filter(f, Dialect::legacy);
  EXPECT_EQ(legacy.odata, "createdTime gt 2021-04-01T00:00:00Z and (status eq 'Active' or status eq 'InProgress') and "
                          "assignedTo eq 'secop2@contoso.com' and lastUpdateTime ge 2021-05-01T10:00:00Z");
  ASSERT_EQ(legacy.client_side.size(), 1u);
  EXPECT_EQ(legacy.client_side[0].field, FilterField::severity);
  ASSERT_EQ(legacy.notes.size(), 1u);
  EXPECT_EQ(legacy.notes[0], "severity eq 'High' applied client-side: the Defender XDR API does not filter on severity, "
                             "so every page is fetched and filtered here");

  FilterPlan graph = plan_filter(f, Dialect::graph);
  EXPECT_EQ(graph.odata, "createdDateTime gt 2021-04-01T00:00:00Z and (status eq 'active' or status eq 'inProgress') and "
                         "assignedTo eq 'secop2@contoso.com' and severity eq 'high' and lastUpdateDateTime ge "
                         "2021-05-01T10:00:00Z");
  EXPECT_TRUE(graph.client_side.empty());
  EXPECT_TRUE(graph.notes.empty());
}

TEST(ApiFilter, ClassificationAndDeterminationAreClientSideOnLegacyOnly) {
  IncidentFilter f;
  f.classification({Classification::true_positive}).determination({Determination::malware});
  EXPECT_EQ(plan_filter(f, Dialect::legacy).odata, "");
  EXPECT_EQ(plan_filter(f, Dialect::legacy).client_side.size(), 2u);
  EXPECT_EQ(plan_filter(f, Dialect::graph).odata, "classification eq 'truePositive' and determination eq 'malware'");
}

TEST(ApiFilter, ClientSideEvaluation) {
  Incident i;
  i.severity = Severity::medium;
  i.status = IncidentStatus::resolved;
  i.assigned_to = "SecOp2@Contoso.com";
  i.last_update_time = at("2021-05-02T00:00:00Z");
  EXPECT_TRUE(matches(i, FilterTerm{FilterField::severity, FilterOp::eq, {Severity::high, Severity::medium}}));
  EXPECT_FALSE(matches(i, FilterTerm{FilterField::severity, FilterOp::eq, {Severity::high}}));
  EXPECT_TRUE(matches(i, FilterTerm{FilterField::severity, FilterOp::ge, {Severity::low}}));
  EXPECT_TRUE(matches(i, FilterTerm{FilterField::assigned_to, FilterOp::eq, {std::optional<std::string>("secop2@contoso.com")}}));
  EXPECT_FALSE(matches(i, FilterTerm{FilterField::assigned_to, FilterOp::eq, {std::optional<std::string>()}}));
  EXPECT_TRUE(matches(i, FilterTerm{FilterField::last_update_time, FilterOp::gt, {at("2021-05-01T00:00:00Z")}}));
  EXPECT_FALSE(matches(i, FilterTerm{FilterField::last_update_time, FilterOp::lt, {at("2021-05-01T00:00:00Z")}}));
  Incident unassigned;
  EXPECT_TRUE(matches(unassigned, FilterTerm{FilterField::assigned_to, FilterOp::eq, {std::optional<std::string>()}}));
}

TEST(ApiFilter, MisuseIsAProgrammingError) {
  IncidentFilter f;
  EXPECT_THROW(f.add({FilterField::severity, FilterOp::eq, {IncidentStatus::active}}), Fatal);
  EXPECT_THROW(f.add({FilterField::severity, FilterOp::gt, {Severity::low, Severity::high}}), Fatal);
  EXPECT_THROW(f.add({FilterField::severity, FilterOp::eq, {}}), Fatal);
}

} // namespace
} // namespace xdr::api
