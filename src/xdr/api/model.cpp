#include <xdr/api/model.hpp>

#include <array>

namespace xdr::api {
namespace {

// One enum value with its legacy and Graph spellings and any further accepted legacy spelling.
template <class E>
struct Name {
  E value;
  std::string_view legacy;
  std::string_view graph;
  std::string_view alias = {};
};

// Case-insensitive comparison that also ignores underscores, so "in_progress" matches "InProgress".
bool loose_equals(std::string_view a, std::string_view b) {
  auto next = [](std::string_view s, size_t& i) -> int {
    while (i < s.size() && s[i] == '_') ++i;
    if (i == s.size()) return -1;
    char c = s[i++];
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : static_cast<unsigned char>(c);
  };
  size_t i = 0;
  size_t j = 0;
  for (;;) {
    int x = next(a, i);
    int y = next(b, j);
    if (x != y) return false;
    if (x == -1) return true;
  }
}

template <class E, size_t N>
std::string_view spell(const std::array<Name<E>, N>& names, E value, Dialect dialect) {
  for (const auto& n : names) {
    if (n.value == value) return dialect == Dialect::legacy ? n.legacy : n.graph;
  }
  return dialect == Dialect::legacy ? std::string_view("Unknown") : std::string_view("unknownFutureValue");
}

template <class E, size_t N>
std::optional<E> parse(const std::array<Name<E>, N>& names, std::string_view text) {
  // The services' own spellings first (what every page carries), then the loose comparison.
  for (const auto& n : names) {
    if (text == n.legacy || text == n.graph) return n.value;
  }
  for (const auto& n : names) {
    if (loose_equals(text, n.legacy) || loose_equals(text, n.graph) || (!n.alias.empty() && loose_equals(text, n.alias))) {
      return n.value;
    }
  }
  return std::nullopt;
}

constexpr std::array<Name<IncidentStatus>, 6> k_statuses{{
    {IncidentStatus::active, "Active", "active"},
    {IncidentStatus::in_progress, "InProgress", "inProgress"},
    {IncidentStatus::resolved, "Resolved", "resolved"},
    {IncidentStatus::redirected, "Redirected", "redirected"},
    {IncidentStatus::awaiting_action, "AwaitingAction", "awaitingAction"},
    {IncidentStatus::unknown_future_value, "UnknownFutureValue", "unknownFutureValue"},
}};

constexpr std::array<Name<Severity>, 6> k_severities{{
    {Severity::unspecified, "UnSpecified", "unknown", "Unknown"},
    {Severity::informational, "Informational", "informational"},
    {Severity::low, "Low", "low"},
    {Severity::medium, "Medium", "medium"},
    {Severity::high, "High", "high"},
    {Severity::unknown_future_value, "UnknownFutureValue", "unknownFutureValue"},
}};

constexpr std::array<Name<Classification>, 5> k_classifications{{
    {Classification::unknown, "Unknown", "unknown"},
    {Classification::false_positive, "FalsePositive", "falsePositive"},
    {Classification::true_positive, "TruePositive", "truePositive"},
    {Classification::informational_expected_activity, "InformationalExpectedActivity", "informationalExpectedActivity"},
    {Classification::unknown_future_value, "UnknownFutureValue", "unknownFutureValue"},
}};

constexpr std::array<Name<Determination>, 16> k_determinations{{
    {Determination::not_available, "NotAvailable", "unknown", "Unknown"},
    {Determination::apt, "Apt", "apt"},
    {Determination::malware, "Malware", "malware"},
    {Determination::security_personnel, "SecurityPersonnel", "securityPersonnel"},
    {Determination::security_testing, "SecurityTesting", "securityTesting"},
    {Determination::unwanted_software, "UnwantedSoftware", "unwantedSoftware"},
    {Determination::other, "Other", "other"},
    {Determination::multi_staged_attack, "MultiStagedAttack", "multiStagedAttack"},
    {Determination::compromised_user, "CompromisedUser", "compromisedUser", "CompromisedAccount"},
    {Determination::phishing, "Phishing", "phishing"},
    {Determination::malicious_user_activity, "MaliciousUserActivity", "maliciousUserActivity"},
    {Determination::clean, "Clean", "clean"},
    {Determination::insufficient_data, "InsufficientData", "insufficientData", "NoEnoughDataToValidate"},
    {Determination::confirmed_user_activity, "ConfirmedUserActivity", "confirmedUserActivity", "ConfirmedActivity"},
    {Determination::line_of_business_application, "LineOfBusinessApplication", "lineOfBusinessApplication"},
    {Determination::unknown_future_value, "UnknownFutureValue", "unknownFutureValue"},
}};

constexpr std::array<Name<AlertStatus>, 4> k_alert_statuses{{
    {AlertStatus::new_alert, "New", "new", "Active"},
    {AlertStatus::in_progress, "InProgress", "inProgress"},
    {AlertStatus::resolved, "Resolved", "resolved"},
    {AlertStatus::unknown_future_value, "UnknownFutureValue", "unknownFutureValue"},
}};

} // namespace

std::string_view to_string(IncidentStatus value, Dialect dialect) { return spell(k_statuses, value, dialect); }
std::string_view to_string(Severity value, Dialect dialect) { return spell(k_severities, value, dialect); }
std::string_view to_string(Classification value, Dialect dialect) { return spell(k_classifications, value, dialect); }
std::string_view to_string(Determination value, Dialect dialect) { return spell(k_determinations, value, dialect); }
std::string_view to_string(AlertStatus value, Dialect dialect) { return spell(k_alert_statuses, value, dialect); }

std::optional<IncidentStatus> parse_incident_status(std::string_view text) { return parse(k_statuses, text); }
std::optional<Severity> parse_severity(std::string_view text) { return parse(k_severities, text); }
std::optional<Classification> parse_classification(std::string_view text) { return parse(k_classifications, text); }
std::optional<Determination> parse_determination(std::string_view text) { return parse(k_determinations, text); }
std::optional<AlertStatus> parse_alert_status(std::string_view text) { return parse(k_alert_statuses, text); }

} // namespace xdr::api
