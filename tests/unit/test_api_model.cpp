#include <gtest/gtest.h>

#include <xdr/api/model.hpp>

namespace xdr::api {
namespace {

TEST(ApiModel, SpellsEnumsPerDialect) {
  EXPECT_EQ(to_string(IncidentStatus::in_progress, Dialect::legacy), "InProgress");
  EXPECT_EQ(to_string(IncidentStatus::in_progress, Dialect::graph), "inProgress");
  EXPECT_EQ(to_string(Severity::unspecified, Dialect::legacy), "UnSpecified");
  EXPECT_EQ(to_string(Severity::unspecified, Dialect::graph), "unknown");
  EXPECT_EQ(to_string(Determination::not_available, Dialect::legacy), "NotAvailable");
  EXPECT_EQ(to_string(Determination::compromised_user, Dialect::graph), "compromisedUser");
  EXPECT_EQ(to_string(AlertStatus::new_alert, Dialect::legacy), "New");
}

TEST(ApiModel, ParsesEitherSpellingAndTheDocumentedAliases) {
  EXPECT_EQ(parse_incident_status("InProgress"), IncidentStatus::in_progress);
  EXPECT_EQ(parse_incident_status("inProgress"), IncidentStatus::in_progress);
  EXPECT_EQ(parse_incident_status("in_progress"), IncidentStatus::in_progress);
  EXPECT_EQ(parse_determination("CompromisedAccount"), Determination::compromised_user);
  EXPECT_EQ(parse_determination("NoEnoughDataToValidate"), Determination::insufficient_data);
  EXPECT_EQ(parse_determination("ConfirmedActivity"), Determination::confirmed_user_activity);
  EXPECT_EQ(parse_determination("unknown"), Determination::not_available);
  EXPECT_EQ(parse_severity("Unknown"), Severity::unspecified);
  EXPECT_EQ(parse_alert_status("Active"), AlertStatus::new_alert);
  EXPECT_EQ(parse_classification("informationalExpectedActivity"), Classification::informational_expected_activity);
  EXPECT_FALSE(parse_incident_status("Closed"));
  EXPECT_FALSE(parse_severity(""));
  EXPECT_FALSE(parse_determination("Mal_ware_x"));
}

TEST(ApiModel, EveryValueRoundTripsInBothDialects) {
  for (int i = 0; i <= static_cast<int>(Determination::unknown_future_value); ++i) {
    auto d = static_cast<Determination>(i);
    EXPECT_EQ(parse_determination(to_string(d, Dialect::legacy)), d);
    EXPECT_EQ(parse_determination(to_string(d, Dialect::graph)), d);
  }
  for (int i = 0; i <= static_cast<int>(IncidentStatus::unknown_future_value); ++i) {
    auto s = static_cast<IncidentStatus>(i);
    EXPECT_EQ(parse_incident_status(to_string(s, Dialect::legacy)), s);
    EXPECT_EQ(parse_incident_status(to_string(s, Dialect::graph)), s);
  }
}

} // namespace
} // namespace xdr::api
