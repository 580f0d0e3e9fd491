#include <xdr/api/model_json.hpp>

#include <xdr/util/time.hpp>

namespace xdr::api {

namespace {

OrderedJson time_json(const std::optional<TimePoint>& t) {
  if (!t) return nullptr;
  return util::format_rfc3339(*t, 7, true);
}

template <class T>
OrderedJson optional_json(const std::optional<T>& v) {
  if (!v) return nullptr;
  return *v;
}

void put(OrderedJson& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}

} // namespace

OrderedJson to_json(const Comment& c) {
  return {{"comment", c.comment}, {"createdBy", c.created_by}, {"createdTime", time_json(c.created_time)}};
}

OrderedJson to_json(const Device& d) {
  return {{"mdatpDeviceId", d.mdatp_device_id},
          {"aadDeviceId", optional_json(d.aad_device_id)},
          {"deviceDnsName", d.device_dns_name},
          {"osPlatform", d.os_platform},
          {"version", d.version},
          {"osProcessor", d.os_processor},
          {"osBuild", optional_json(d.os_build)},
          {"healthStatus", d.health_status},
          {"riskScore", d.risk_score},
          {"rbacGroupName", optional_json(d.rbac_group_name)},
          {"rbacGroupId", optional_json(d.rbac_group_id)},
          {"firstSeen", time_json(d.first_seen)},
          {"tags", d.tags},
          {"defenderAvStatus", optional_json(d.defender_av_status)},
          {"onboardingStatus", optional_json(d.onboarding_status)}};
}

OrderedJson to_json(const Entity& e) {
  OrderedJson j = {{"entityType", e.entity_type}};
  put(j, "sha1", e.sha1);
  put(j, "sha256", e.sha256);
  put(j, "fileName", e.file_name);
  put(j, "filePath", e.file_path);
  if (e.process_id) j["processId"] = *e.process_id;
  put(j, "processCommandLine", e.process_command_line);
  if (e.process_creation_time) j["processCreationTime"] = time_json(e.process_creation_time);
  if (e.parent_process_id) j["parentProcessId"] = *e.parent_process_id;
  if (e.parent_process_creation_time) j["parentProcessCreationTime"] = time_json(e.parent_process_creation_time);
  put(j, "parentProcessFileName", e.parent_process_file_name);
  put(j, "ipAddress", e.ip_address);
  put(j, "url", e.url);
  put(j, "accountName", e.account_name);
  put(j, "domainName", e.domain_name);
  put(j, "userSid", e.user_sid);
  put(j, "aadUserId", e.aad_user_id);
  put(j, "userPrincipalName", e.user_principal_name);
  put(j, "mailboxDisplayName", e.mailbox_display_name);
  put(j, "mailboxAddress", e.mailbox_address);
  put(j, "clusterBy", e.cluster_by);
  put(j, "sender", e.sender);
  put(j, "recipient", e.recipient);
  put(j, "subject", e.subject);
  put(j, "deliveryAction", e.delivery_action);
  put(j, "securityGroupId", e.security_group_id);
  put(j, "securityGroupName", e.security_group_name);
  put(j, "registryHive", e.registry_hive);
  put(j, "registryKey", e.registry_key);
  put(j, "registryValueType", e.registry_value_type);
  put(j, "registryValue", e.registry_value);
  put(j, "deviceId", e.device_id);
  return j;
}

OrderedJson to_json(const Alert& a) {
  OrderedJson devices = OrderedJson::array();
  for (const auto& d : a.devices) devices.push_back(to_json(d));
  OrderedJson entities = OrderedJson::array();
  for (const auto& e : a.entities) entities.push_back(to_json(e));
  return {{"id", a.alert_id},
          {"incidentId", a.incident_id},
          {"title", a.title},
          {"description", a.description},
          {"category", a.category},
          {"status", std::string(to_string(a.status, Dialect::graph))},
          {"severity", std::string(to_string(a.severity, Dialect::graph))},
          {"classification", a.classification ? OrderedJson(std::string(to_string(*a.classification, Dialect::graph))) : OrderedJson(nullptr)},
          {"determination", a.determination ? OrderedJson(std::string(to_string(*a.determination, Dialect::graph))) : OrderedJson(nullptr)},
          {"serviceSource", a.service_source},
          {"detectionSource", a.detection_source},
          {"detectorId", a.detector_id},
          {"assignedTo", optional_json(a.assigned_to)},
          {"actorName", optional_json(a.actor_name)},
          {"threatFamilyName", optional_json(a.threat_family_name)},
          {"investigationId", optional_json(a.investigation_id)},
          {"investigationState", a.investigation_state},
          {"mitreTechniques", a.mitre_techniques},
          {"createdDateTime", time_json(a.creation_time)},
          {"lastUpdateDateTime", time_json(a.last_updated_time)},
          {"resolvedDateTime", time_json(a.resolved_time)},
          {"firstActivityDateTime", time_json(a.first_activity)},
          {"lastActivityDateTime", time_json(a.last_activity)},
          {"devices", std::move(devices)},
          {"entities", std::move(entities)}};
}

OrderedJson to_json(const Incident& i, bool alerts) {
  OrderedJson comments = OrderedJson::array();
  for (const auto& c : i.comments) comments.push_back(to_json(c));
  OrderedJson j = {{"id", i.incident_id},
                   {"tenantId", i.tenant_id},
                   {"displayName", i.incident_name},
                   {"status", std::string(to_string(i.status, Dialect::graph))},
                   {"severity", std::string(to_string(i.severity, Dialect::graph))},
                   {"classification", std::string(to_string(i.classification, Dialect::graph))},
                   {"determination", std::string(to_string(i.determination, Dialect::graph))},
                   {"assignedTo", optional_json(i.assigned_to)},
                   {"createdDateTime", time_json(i.created_time)},
                   {"lastUpdateDateTime", time_json(i.last_update_time)},
                   {"redirectIncidentId", optional_json(i.redirect_incident_id)},
                   {"incidentWebUrl", i.incident_web_url},
                   {"description", i.description},
                   {"detectionSource", i.detection_source},
                   {"tags", i.tags},
                   {"systemTags", i.system_tags},
                   {"comments", std::move(comments)},
                   {"alertCount", i.alerts.size()}};
  if (alerts) {
    OrderedJson list = OrderedJson::array();
    for (const auto& a : i.alerts) list.push_back(to_json(a));
    j["alerts"] = std::move(list);
  }
  return j;
}

OrderedJson to_json(const HuntingCell& c) {
  switch (c.kind) {
  case HuntingCell::Kind::null: return nullptr;
  case HuntingCell::Kind::boolean: return c.boolean;
  case HuntingCell::Kind::integer: return c.integer;
  case HuntingCell::Kind::real: return c.real;
  case HuntingCell::Kind::string: return c.text;
  case HuntingCell::Kind::dynamic: {
    OrderedJson parsed = OrderedJson::parse(c.text, nullptr, false);
    return parsed.is_discarded() ? OrderedJson(c.text) : parsed;
  }
  }
  return nullptr;
}

} // namespace xdr::api
