#pragma once
// The one typed model of Defender XDR security data that both API dialects map onto:
// the legacy Defender XDR API (api.security.microsoft.com/api, PascalCase enums, numeric incident ids)
// and the Microsoft Graph security API (graph.microsoft.com/v1.0/security, camelCase enums, string ids).
// Parsing and formatting per dialect live in xdr/api/dialect.hpp; this header only holds the data.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/util/clock.hpp>

namespace xdr::api {

using util::TimePoint;

// Which API surface a request goes to and a response came from.
enum class Dialect { legacy, graph };

// Incident status. `awaiting_action` exists on Graph only.
enum class IncidentStatus { active, in_progress, resolved, redirected, awaiting_action, unknown_future_value };

// Severity of an incident or alert. Legacy `UnSpecified` and Graph `unknown` are both `unspecified`.
enum class Severity { unspecified, informational, low, medium, high, unknown_future_value };

// Classification. Legacy `Unknown` and Graph `unknown` are both `unknown`.
enum class Classification { unknown, false_positive, true_positive, informational_expected_activity, unknown_future_value };

// Determination. The two documented spellings map onto one value each: legacy PATCH `CompromisedAccount` and
// `CompromisedUser` -> compromised_user, `ConfirmedActivity` / `ConfirmedUserActivity` -> confirmed_user_activity,
// `NoEnoughDataToValidate` / `InsufficientData` -> insufficient_data. Legacy `NotAvailable` and Graph `unknown`
// are both `not_available`.
enum class Determination {
  not_available,
  apt,
  malware,
  security_personnel,
  security_testing,
  unwanted_software,
  other,
  multi_staged_attack,
  compromised_user,
  phishing,
  malicious_user_activity,
  clean,
  insufficient_data,
  confirmed_user_activity,
  line_of_business_application,
  unknown_future_value
};

// Alert status: legacy `New`/`InProgress`/`Resolved` (`Active` accepted as `new_alert`), Graph
// `new`/`inProgress`/`resolved`.
enum class AlertStatus { new_alert, in_progress, resolved, unknown_future_value };

// One comment on an incident or alert.
struct Comment {
  std::string comment;
  std::string created_by;
  std::optional<TimePoint> created_time;

  bool operator==(const Comment&) const = default;
};

// A device as it appears inside an alert (legacy `devices[]`, Graph `deviceEvidence`).
struct Device {
  std::string mdatp_device_id;              // 40 hex characters
  std::optional<std::string> aad_device_id; // GUID
  std::string device_dns_name;
  std::string os_platform;                  // "Windows10", "WindowsServer2016", ...
  std::string version;                      // "1607"
  std::string os_processor;                 // "x64"
  std::optional<int64_t> os_build;          // 14393
  std::string health_status;                // "Active"
  std::string risk_score;                   // "High", "Informational", ...
  std::optional<std::string> rbac_group_name;
  std::optional<int64_t> rbac_group_id;
  std::optional<TimePoint> first_seen;
  std::vector<std::string> tags;
  std::optional<std::string> defender_av_status;
  std::optional<std::string> onboarding_status;

  bool operator==(const Device&) const = default;
};

// An entity of an alert. The legacy API sends every key on every entity (unused ones null); absent and null
// are both std::nullopt here.
struct Entity {
  std::string entity_type; // "User", "Ip", "Url", "File", "Process", "MailBox", "MailMessage", ...
  std::optional<std::string> sha1, sha256, file_name, file_path;
  std::optional<int64_t> process_id;
  std::optional<std::string> process_command_line;
  std::optional<TimePoint> process_creation_time;
  std::optional<int64_t> parent_process_id;
  std::optional<TimePoint> parent_process_creation_time;
  std::optional<std::string> parent_process_file_name;
  std::optional<std::string> ip_address, url;
  std::optional<std::string> account_name, domain_name, user_sid, aad_user_id, user_principal_name;
  std::optional<std::string> mailbox_display_name, mailbox_address;
  std::optional<std::string> cluster_by, sender, recipient, subject, delivery_action;
  std::optional<std::string> security_group_id, security_group_name;
  std::optional<std::string> registry_hive, registry_key, registry_value_type, registry_value;
  std::optional<std::string> device_id;

  bool operator==(const Entity&) const = default;
};

// An alert, inside an incident (legacy `alerts[]`, Graph `$expand=alerts`) or from Graph `alerts_v2`.
struct Alert {
  std::string alert_id;      // legacy `alertId`, Graph `id`
  std::string incident_id;   // decimal text on both dialects
  std::string service_source;
  std::string detection_source;
  std::string detector_id;
  std::string title;
  std::string description;
  std::string category;
  AlertStatus status = AlertStatus::new_alert;
  Severity severity = Severity::unspecified;
  std::optional<Classification> classification;
  std::optional<Determination> determination;
  std::optional<std::string> assigned_to;
  std::optional<std::string> actor_name;
  std::optional<std::string> threat_family_name;
  std::optional<int64_t> investigation_id;
  std::string investigation_state;
  std::vector<std::string> mitre_techniques;
  std::optional<TimePoint> creation_time;
  std::optional<TimePoint> last_updated_time;
  std::optional<TimePoint> resolved_time;
  std::optional<TimePoint> first_activity;
  std::optional<TimePoint> last_activity;
  std::vector<Device> devices;
  std::vector<Entity> entities;

  bool operator==(const Alert&) const = default;
};

// An incident. `incident_id` is the decimal id on both dialects (legacy `incidentId` number, Graph `id` string).
struct Incident {
  std::string incident_id;
  std::optional<std::string> redirect_incident_id;
  std::string tenant_id;      // Graph `tenantId`; on the legacy API, the tenant the client asked
  std::string incident_name;  // legacy `incidentName`, Graph `displayName`
  std::string description;    // Graph only
  std::string incident_web_url; // Graph only
  std::optional<TimePoint> created_time;     // legacy `createdTime`, Graph `createdDateTime`
  std::optional<TimePoint> last_update_time; // legacy `lastUpdateTime`, Graph `lastUpdateDateTime`
  std::optional<std::string> assigned_to;
  IncidentStatus status = IncidentStatus::active;
  Severity severity = Severity::unspecified;
  Classification classification = Classification::unknown;
  Determination determination = Determination::not_available;
  std::string detection_source;
  std::vector<std::string> tags;        // legacy `tags`, Graph `customTags`
  std::vector<std::string> system_tags; // Graph `systemTags`
  std::vector<Comment> comments;
  std::vector<Alert> alerts;            // legacy always; Graph with $expand=alerts

  bool operator==(const Incident&) const = default;
};

// One column of a hunting result: its name and the service's type name ("DateTime", "String", "Int64", ...).
struct HuntingColumn {
  std::string name;
  std::string type;

  bool operator==(const HuntingColumn&) const = default;
};

// One cell of a hunting result row. Strings (datetimes included, as the service sends them) keep their text;
// numbers their value and their JSON text; objects and arrays (KQL `dynamic`) their raw JSON text.
struct HuntingCell {
  enum class Kind { null, boolean, integer, real, string, dynamic };
  Kind kind = Kind::null;
  std::string text; // string value, raw JSON of a dynamic value, or the number as written
  int64_t integer = 0;
  double real = 0;
  bool boolean = false;

  bool operator==(const HuntingCell&) const = default;
};

// One row of a hunting result, one cell per schema column, in schema order.
using HuntingRow = std::vector<HuntingCell>;

// The enum names as each dialect spells them (what a PATCH body or $filter literal carries).
std::string_view to_string(IncidentStatus value, Dialect dialect);
std::string_view to_string(Severity value, Dialect dialect);
std::string_view to_string(Classification value, Dialect dialect);
std::string_view to_string(Determination value, Dialect dialect);
std::string_view to_string(AlertStatus value, Dialect dialect);

// Parses an enum name in either dialect's spelling, case-insensitively ("InProgress", "inProgress",
// "in_progress"); std::nullopt for an unknown name.
std::optional<IncidentStatus> parse_incident_status(std::string_view text);
std::optional<Severity> parse_severity(std::string_view text);
std::optional<Classification> parse_classification(std::string_view text);
std::optional<Determination> parse_determination(std::string_view text);
std::optional<AlertStatus> parse_alert_status(std::string_view text);

} // namespace xdr::api
