#pragma once
// Shared helpers for the store, sync and fleet tests: fully populated incidents (every field of the
// model set, so a lost column shows) and a few tenant GUIDs.

#include <string>
#include <vector>

#include <xdr/api/model.hpp>
#include <xdr/store/store.hpp>
#include <xdr/util/clock.hpp>

namespace xdr::testing {

inline constexpr const char* k_fabrikam = "f0000000-0000-4000-8000-00000000000f";
inline constexpr const char* k_northwind = "a0000000-0000-4000-8000-00000000000a";
inline constexpr const char* k_tailspin = "c0000000-0000-4000-8000-00000000000c";

inline util::TimePoint at(int64_t unix_seconds) { return util::from_unix(unix_seconds); }

inline store::Tenant tenant(const std::string& id, const std::string& name,
                            std::map<std::string, std::string> labels = {}) {
  store::Tenant t;
  t.tenant_id = id;
  t.name = name;
  t.domain = name + ".onmicrosoft.com";
  t.region = "eu";
  t.labels = std::move(labels);
  t.added_at = at(1'700'000'000);
  return t;
}

// An alert with one device and two entities; `seed` varies the values.
inline api::Alert make_alert(const std::string& incident_id, const std::string& alert_id, int seed) {
  api::Alert a;
  a.alert_id = alert_id;
  a.incident_id = incident_id;
  a.service_source = "MicrosoftDefenderForEndpoint";
  a.detection_source = "EDR";
  a.detector_id = "det-" + std::to_string(seed);
  a.title = "Suspicious PowerShell " + std::to_string(seed);
  a.description = "A process ran \"encoded\" commands; it's odd";
  a.category = "Execution";
  a.status = seed % 2 ? api::AlertStatus::in_progress : api::AlertStatus::new_alert;
  a.severity = api::Severity::medium;
  a.classification = api::Classification::true_positive;
  a.determination = api::Determination::malware;
  a.assigned_to = "secops@contoso.com";
  a.actor_name = std::nullopt;
  a.threat_family_name = "Emotet";
  a.investigation_id = 1000 + seed;
  a.investigation_state = "Running";
  a.mitre_techniques = {"T1059.001", "T1027"};
  a.creation_time = at(1'767'000'000 + seed);
  a.last_updated_time = at(1'767'000'100 + seed);
  a.first_activity = at(1'766'999'000 + seed);
  a.last_activity = at(1'766'999'500 + seed);
  api::Device d;
  d.mdatp_device_id = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab" + std::to_string(10 + seed % 90);
  d.aad_device_id = "80fe8ff8-2624-418e-9591-41f0491218f9";
  d.device_dns_name = "pc" + std::to_string(seed) + ".contoso.local";
  d.os_platform = "Windows10";
  d.version = "1709";
  d.os_processor = "x64";
  d.os_build = 16299;
  d.health_status = "Active";
  d.risk_score = "High";
  d.rbac_group_id = 7;
  d.first_seen = at(1'600'000'000);
  d.tags = {"Finance", "VIP"};
  d.defender_av_status = "updated";
  a.devices.push_back(d);
  api::Entity user;
  user.entity_type = "User";
  user.account_name = "jdoe";
  user.domain_name = "CONTOSO";
  user.user_sid = "S-1-5-21-1-2-3-" + std::to_string(seed);
  user.user_principal_name = "jdoe@contoso.com";
  a.entities.push_back(user);
  api::Entity process;
  process.entity_type = "Process";
  process.sha1 = "0123456789abcdef0123456789abcdef01234567";
  process.file_name = "powershell.exe";
  process.file_path = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0";
  process.process_id = 4242 + seed;
  process.process_command_line = "powershell -enc SQBFAFgA";
  process.process_creation_time = at(1'766'999'100 + seed);
  process.parent_process_id = 1000;
  process.parent_process_creation_time = at(1'766'999'000);
  process.device_id = d.mdatp_device_id;
  a.entities.push_back(process);
  return a;
}

// An incident of `tenant_id` last updated at `updated` (unix seconds) with `alerts` alerts.
inline api::Incident make_incident(const std::string& tenant_id, int64_t id, int64_t updated, int alerts = 2) {
  api::Incident i;
  i.incident_id = std::to_string(id);
  i.tenant_id = tenant_id;
  i.incident_name = "Multi-stage incident " + std::to_string(id);
  i.description = "Graph description";
  i.incident_web_url = "https://security.microsoft.com/incidents/" + std::to_string(id);
  i.created_time = at(updated - 3600);
  i.last_update_time = at(updated);
  i.assigned_to = "analyst@contoso.com";
  i.status = id % 3 == 0 ? api::IncidentStatus::resolved : api::IncidentStatus::active;
  i.severity = id % 2 ? api::Severity::high : api::Severity::medium;
  i.classification = api::Classification::true_positive;
  i.determination = api::Determination::multi_staged_attack;
  i.detection_source = "MicrosoftDefenderForEndpoint";
  i.tags = {"ransomware", "tier-1"};
  i.system_tags = {"Defender Experts"};
  i.comments = {{"first look", "analyst@contoso.com", at(updated - 60)}, {"no time", "bot", std::nullopt}};
  for (int k = 0; k < alerts; ++k)
    i.alerts.push_back(make_alert(i.incident_id, "da" + std::to_string(id) + "_" + std::to_string(k), static_cast<int>(id) + k));
  return i;
}

} // namespace xdr::testing
