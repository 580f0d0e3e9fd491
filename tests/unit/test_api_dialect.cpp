// The dialect parsers against Microsoft's published examples (tests/data/api, see its README) with exact
// field assertions, and against malformed answers (each must be a clear invalid_response, never a crash).

#include <gtest/gtest.h>

#include <xdr/api/dialect.hpp>
#include <xdr/util/time.hpp>

#include "api_test_data.hpp"

namespace xdr::api {
namespace {

std::string read_data(const std::string& name) { return testing::read_api_data(name); }

TimePoint at(const char* text) {
  auto tp = util::parse_rfc3339(text);
  EXPECT_TRUE(tp) << text;
  return tp.value_or(TimePoint{});
}

TEST(ApiDialect, LegacyListIncidentsExampleAsPublished) {
  auto page = parse_incident_page(read_data("legacy_list_incidents.json"), Dialect::legacy);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->incidents.size(), 3u);
  EXPECT_FALSE(page->next_link);

  const Incident& a = page->incidents[0];
  EXPECT_EQ(a.incident_id, "924565");
  EXPECT_FALSE(a.redirect_incident_id);
  EXPECT_EQ(a.incident_name, "Ransomware activity");
  EXPECT_EQ(a.created_time, at("2020-09-06T14:46:57.0733333Z"));
  EXPECT_EQ(a.last_update_time, at("2020-09-06T14:46:57.29Z"));
  EXPECT_FALSE(a.assigned_to);
  EXPECT_EQ(a.classification, Classification::unknown);
  EXPECT_EQ(a.determination, Determination::not_available);
  EXPECT_EQ(a.status, IncidentStatus::active);
  EXPECT_EQ(a.severity, Severity::medium);
  EXPECT_TRUE(a.tags.empty());
  ASSERT_EQ(a.comments.size(), 1u);
  EXPECT_EQ(a.comments[0], (Comment{"test comment for docs", "secop123@contoso.com", at("2021-01-26T01:00:37.8404534Z")}));
  ASSERT_EQ(a.alerts.size(), 1u);
  const Alert& aa = a.alerts[0];
  EXPECT_EQ(aa.alert_id, "caD70CFEE2-1F54-32DB-9988-3A868A1EBFAC");
  EXPECT_EQ(aa.incident_id, "924565");
  EXPECT_EQ(aa.service_source, "MicrosoftCloudAppSecurity");
  EXPECT_EQ(aa.creation_time, at("2020-09-06T14:46:55.7182276Z"));
  EXPECT_EQ(aa.last_updated_time, at("2020-09-06T14:46:57.2433333Z"));
  EXPECT_FALSE(aa.resolved_time);
  EXPECT_EQ(aa.first_activity, at("2020-09-04T05:22:59Z"));
  EXPECT_EQ(aa.last_activity, at("2020-09-04T05:22:59Z"));
  EXPECT_EQ(aa.title, "Ransomware activity");
  EXPECT_EQ(aa.category, "Impact");
  EXPECT_EQ(aa.status, AlertStatus::new_alert);
  EXPECT_EQ(aa.severity, Severity::medium);
  EXPECT_FALSE(aa.investigation_id);
  EXPECT_EQ(aa.investigation_state, "UnsupportedAlertType");
  EXPECT_FALSE(aa.classification);
  EXPECT_FALSE(aa.determination);
  EXPECT_EQ(aa.detection_source, "MCAS");
  EXPECT_TRUE(aa.devices.empty());
  ASSERT_EQ(aa.entities.size(), 2u);
  Entity user;
  user.entity_type = "User";
  user.account_name = "testUser2";
  user.domain_name = "europe.corp.contoso";
  user.user_sid = "S-1-5-21-1721254763-462695806-1538882281-4156657";
  user.aad_user_id = "fc8f7484-f813-4db2-afab-bc1507913fb6";
  user.user_principal_name = "testUser2@contoso.com";
  EXPECT_EQ(aa.entities[0], user);
  EXPECT_EQ(aa.entities[1].entity_type, "Ip");
  EXPECT_EQ(aa.entities[1].ip_address, "62.216.203.204");

  const Alert& b = page->incidents[1].alerts.at(0);
  EXPECT_EQ(page->incidents[1].severity, Severity::low);
  EXPECT_EQ(b.threat_family_name, "Mimikatz");
  EXPECT_EQ(b.detection_source, "WindowsDefenderAv");
  ASSERT_EQ(b.devices.size(), 1u);
  Device d;
  d.mdatp_device_id = "24c222b0b60fe148eeece49ac83910cc6a7ef491";
  d.device_dns_name = "user5cx.middleeast.corp.contoso.com";
  d.os_platform = "WindowsServer2016";
  d.version = "1607";
  d.os_processor = "x64";
  d.os_build = 14393;
  d.health_status = "Active";
  d.risk_score = "High";
  d.rbac_group_name = "WDATP-Ring0";
  d.rbac_group_id = 9;
  d.first_seen = at("2020-02-06T14:16:01.9330135Z");
  EXPECT_EQ(b.devices[0], d);
  ASSERT_EQ(b.entities.size(), 1u);
  EXPECT_EQ(b.entities[0].file_path, "C:\\Agent\\_work\\_temp\\Deploy_SYSTEM 2020-09-06 12_14_54\\Out");
  EXPECT_EQ(b.entities[0].device_id, "24c222b0b60fe148eeece49ac83910cc6a7ef491");
  EXPECT_NE(b.description.find("\n\nThese tools"), std::string::npos);

  const Incident& c = page->incidents[2];
  EXPECT_EQ(c.severity, Severity::informational);
  EXPECT_EQ(c.alerts.at(0).status, AlertStatus::in_progress);
  EXPECT_EQ(c.alerts.at(0).assigned_to, "Automation");
  ASSERT_EQ(c.alerts.at(0).entities.size(), 8u);
  EXPECT_EQ(c.alerts[0].entities[2].entity_type, "MailMessage");
  EXPECT_EQ(c.alerts[0].entities[2].subject, "[EXTERNAL] Attention");
  EXPECT_EQ(c.alerts[0].entities[3].cluster_by, "Subject;P2SenderDomain;ContentType");
}

TEST(ApiDialect, LegacyUpdateResponseIsOneIncident) {
  auto inc = parse_incident(read_data("legacy_update_incident_response.json"), Dialect::legacy);
  ASSERT_TRUE(inc) << inc.error().message;
  EXPECT_EQ(inc->incident_id, "924521");
  EXPECT_EQ(inc->status, IncidentStatus::resolved);
  EXPECT_EQ(inc->classification, Classification::true_positive);
  EXPECT_EQ(inc->determination, Determination::malware);
  EXPECT_EQ(inc->assigned_to, "secop2@contoso.com");
  EXPECT_EQ(inc->tags, (std::vector<std::string>{"Yossi's playground", "Don't mess with the Zohan"}));
  ASSERT_EQ(inc->comments.size(), 1u);
  EXPECT_EQ(inc->comments[0].comment, "pen testing");
  EXPECT_EQ(inc->alerts.size(), 1u);
}

TEST(ApiDialect, GraphListIncidentsExampleAsPublished) {
  // The published example writes the enums in PascalCase (a doc mistake): both spellings are read.
  auto page = parse_incident_page(read_data("graph_list_incidents.json"), Dialect::graph);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->incidents.size(), 1u);
  const Incident& i = page->incidents[0];
  EXPECT_EQ(i.incident_id, "2972395");
  EXPECT_EQ(i.incident_web_url, "https://security.microsoft.com/incidents/2972395?tid=12f988bf-16f1-11af-11ab-1d7cd011db47");
  EXPECT_FALSE(i.redirect_incident_id);
  EXPECT_EQ(i.tenant_id, "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c");
  EXPECT_EQ(i.incident_name, "Multi-stage incident involving Initial access & Command and control on multiple "
                             "endpoints reported by multiple sources");
  EXPECT_EQ(i.created_time, at("2021-08-13T08:43:35.5533333Z"));
  EXPECT_EQ(i.last_update_time, at("2021-09-30T09:35:45.1133333Z"));
  EXPECT_EQ(i.assigned_to, "KaiC@contoso.onmicrosoft.com");
  EXPECT_EQ(i.classification, Classification::true_positive);
  EXPECT_EQ(i.determination, Determination::multi_staged_attack);
  EXPECT_EQ(i.status, IncidentStatus::active);
  EXPECT_EQ(i.severity, Severity::medium);
  EXPECT_EQ(i.tags, std::vector<std::string>{"Demo"});
  EXPECT_EQ(i.system_tags, std::vector<std::string>{"Defender Experts"});
  ASSERT_EQ(i.comments.size(), 1u);
  EXPECT_EQ(i.comments[0], (Comment{"Demo incident", "DavidS@contoso.onmicrosoft.com", at("2021-09-30T12:07:37.2756993Z")}));
  EXPECT_EQ(i.description.substr(0, 42), "Microsoft observed Raspberry Robin worm ac");
  EXPECT_TRUE(i.alerts.empty());
}

TEST(ApiDialect, GraphAlertsV2ExampleAsPublished) {
  auto page = parse_alert_page(read_data("graph_list_alerts_v2.json"));
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->alerts.size(), 1u);
  const Alert& a = page->alerts[0];
  EXPECT_EQ(a.alert_id, "da637551227677560813_-961444813");
  EXPECT_EQ(a.incident_id, "28282");
  EXPECT_EQ(a.status, AlertStatus::new_alert);
  EXPECT_EQ(a.severity, Severity::low);
  EXPECT_EQ(a.classification, Classification::unknown);
  EXPECT_EQ(a.determination, Determination::not_available);
  EXPECT_EQ(a.service_source, "microsoftDefenderForEndpoint");
  EXPECT_EQ(a.detection_source, "antivirus");
  EXPECT_EQ(a.detector_id, "e0da400f-affd-43ef-b1d5-afc2eb6f2756");
  EXPECT_EQ(a.title, "Suspicious execution of hidden file");
  EXPECT_EQ(a.category, "DefenseEvasion");
  EXPECT_FALSE(a.assigned_to);
  EXPECT_EQ(a.mitre_techniques, std::vector<std::string>{"T1564.001"});
  EXPECT_EQ(a.creation_time, at("2021-04-27T12:19:27.7211305Z"));
  EXPECT_EQ(a.last_updated_time, at("2021-05-02T14:19:01.3266667Z"));
  EXPECT_FALSE(a.resolved_time);
  EXPECT_EQ(a.first_activity, at("2021-04-26T07:45:50.116Z"));
  EXPECT_EQ(a.last_activity, at("2021-05-02T07:56:58.222Z"));

  ASSERT_EQ(a.devices.size(), 1u);
  EXPECT_EQ(a.devices[0].mdatp_device_id, "73e7e2de709dff64ef64b1d0c30e67fab63279db");
  EXPECT_EQ(a.devices[0].device_dns_name, "tempDns");
  EXPECT_EQ(a.devices[0].os_platform, "Windows10");
  EXPECT_EQ(a.devices[0].os_build, 22424);
  EXPECT_EQ(a.devices[0].rbac_group_id, 75);
  EXPECT_EQ(a.devices[0].rbac_group_name, "UnassignedGroup");
  EXPECT_EQ(a.devices[0].onboarding_status, "onboarded");
  EXPECT_EQ(a.devices[0].first_seen, at("2020-09-12T07:28:32.4321753Z"));
  EXPECT_EQ(a.devices[0].tags, std::vector<std::string>{"Test Machine"});

  ASSERT_EQ(a.entities.size(), 3u);
  const Entity& file = a.entities[0];
  EXPECT_EQ(file.entity_type, "File");
  EXPECT_EQ(file.sha1, "5f1e8acedc065031aad553b710838eb366cfee9a");
  EXPECT_EQ(file.file_name, "MsSense.exe");
  EXPECT_EQ(file.file_path, "C:\\Program Files\\temp");
  EXPECT_EQ(file.device_id, "73e7e2de709dff64ef64b1d0c30e67fab63279db");
  const Entity& process = a.entities[1];
  EXPECT_EQ(process.entity_type, "Process");
  EXPECT_EQ(process.process_id, 4780);
  EXPECT_EQ(process.parent_process_id, 668);
  EXPECT_EQ(process.process_command_line, "\"MsSense.exe\"");
  EXPECT_EQ(process.process_creation_time, at("2021-08-12T12:43:19.0772577Z"));
  EXPECT_EQ(process.parent_process_file_name, "services.exe");
  EXPECT_EQ(process.file_name, "MsSense.exe");
  EXPECT_EQ(process.account_name, "SYSTEM");
  EXPECT_EQ(process.domain_name, "NT AUTHORITY");
  EXPECT_EQ(process.user_sid, "S-1-5-18");
  const Entity& reg = a.entities[2];
  EXPECT_EQ(reg.entity_type, "Registry");
  EXPECT_EQ(reg.registry_hive, "HKEY_LOCAL_MACHINE");
  EXPECT_EQ(reg.registry_key, "SYSTEM\\CONTROLSET001\\CONTROL\\WMI\\AUTOLOGGER\\SENSEAUDITLOGGER");
}

TEST(ApiDialect, GraphIncidentWithExpandedAlerts) {
  const std::string body = R"({"value":[{"id":"28282","status":"awaitingAction","severity":"high",
    "classification":"informationalExpectedActivity","determination":"lineOfBusinessApplication",
    "customTags":["a"],"alerts":[{"id":"x1","incidentId":"28282","status":"resolved","severity":"medium",
    "evidence":[{"@odata.type":"#microsoft.graph.security.ipEvidence","ipAddress":"10.1.2.3"},
                {"@odata.type":"#microsoft.graph.security.somethingNewEvidence"}]}]}],
    "@odata.nextLink":"https://graph.microsoft.com/v1.0/security/incidents?$skip=1"})";
  auto page = parse_incident_page(body, Dialect::graph);
  ASSERT_TRUE(page) << page.error().message;
  const Incident& i = page->incidents.at(0);
  EXPECT_EQ(i.status, IncidentStatus::awaiting_action);
  EXPECT_EQ(i.severity, Severity::high);
  EXPECT_EQ(i.classification, Classification::informational_expected_activity);
  EXPECT_EQ(i.determination, Determination::line_of_business_application);
  ASSERT_EQ(i.alerts.size(), 1u);
  EXPECT_EQ(i.alerts[0].alert_id, "x1");
  EXPECT_EQ(i.alerts[0].status, AlertStatus::resolved);
  ASSERT_EQ(i.alerts[0].entities.size(), 2u);
  EXPECT_EQ(i.alerts[0].entities[0].entity_type, "Ip");
  EXPECT_EQ(i.alerts[0].entities[0].ip_address, "10.1.2.3");
  EXPECT_EQ(i.alerts[0].entities[1].entity_type, "SomethingNew");
  EXPECT_EQ(page->next_link, "https://graph.microsoft.com/v1.0/security/incidents?$skip=1");
}

TEST(ApiDialect, GraphAnalyzedMessageSenderIsAnEmailSenderObject) {
  // Graph documents analyzedMessageEvidence.p1Sender as emailSender {displayName, domainName, emailAddress}.
  const std::string body = R"({"value":[{"id":"5","alerts":[{"id":"fa1","evidence":[
    {"@odata.type":"#microsoft.graph.security.analyzedMessageEvidence","subject":"Invoice",
     "p1Sender":{"displayName":"Billing","domainName":"contoso.example","emailAddress":"billing@contoso.example"}},
    {"@odata.type":"#microsoft.graph.security.analyzedMessageEvidence","p1Sender":"old@contoso.example"},
    {"@odata.type":"#microsoft.graph.security.analyzedMessageEvidence","p1Sender":null}]}]}]})";
  auto page = parse_incident_page(body, Dialect::graph);
  ASSERT_TRUE(page) << page.error().message;
  const auto& entities = page->incidents.at(0).alerts.at(0).entities;
  ASSERT_EQ(entities.size(), 3u);
  EXPECT_EQ(entities[0].sender, "billing@contoso.example");
  EXPECT_EQ(entities[0].subject, "Invoice");
  EXPECT_EQ(entities[1].sender, "old@contoso.example");
  EXPECT_FALSE(entities[2].sender);
}

TEST(ApiDialect, UnknownFieldsIgnoredAndUnknownEnumsAreFutureValues) {
  const std::string body = R"({"@odata.context":"x","extra":{"deep":[1,2,{"a":null}]},"value":[
    {"incidentId":7,"novelField":[{"x":1}],"status":"Snoozed","severity":"Critical","classification":"Maybe",
     "determination":"Aliens","alerts":[{"alertId":"a","status":"Paused","severity":"Extreme","newThing":true}]}]})";
  auto page = parse_incident_page(body, Dialect::legacy);
  ASSERT_TRUE(page) << page.error().message;
  const Incident& i = page->incidents.at(0);
  EXPECT_EQ(i.incident_id, "7");
  EXPECT_EQ(i.status, IncidentStatus::unknown_future_value);
  EXPECT_EQ(i.severity, Severity::unknown_future_value);
  EXPECT_EQ(i.classification, Classification::unknown_future_value);
  EXPECT_EQ(i.determination, Determination::unknown_future_value);
  EXPECT_EQ(i.alerts.at(0).status, AlertStatus::unknown_future_value);
  EXPECT_EQ(i.alerts.at(0).severity, Severity::unknown_future_value);
}

// Keys are matched word by word against the names (no memcmp), with the next expected key tried first and the
// others found by their length: keys in any order, near misses and keys longer than any name must all behave
// exactly as a plain comparison would.
TEST(ApiDialect, KeysInAnyOrderAndNearMissesAreMatchedExactly) {
  const std::string in_order = R"({"value":[{"incidentId":7,"incidentName":"Ransomware","status":"Active",
    "severity":"High","tags":["a"],"alerts":[{"alertId":"da1","title":"T","severity":"Low","entities":[
    {"entityType":"File","sha1":null,"fileName":"evil.exe","filePath":null,"url":null,"deviceId":"d1"}]}]}]})";
  const std::string shuffled = R"({"value":[{"alerts":[{"entities":[
    {"deviceId":"d1","url":null,"fileName":"evil.exe","entityType":"File","filePath":null,"sha1":null}],
    "severity":"Low","title":"T","alertId":"da1"}],"tags":["a"],"severity":"High","status":"Active",
    "incidentName":"Ransomware","incidentId":7}]})";
  auto a = parse_incident_page(in_order, Dialect::legacy);
  auto b = parse_incident_page(shuffled, Dialect::legacy);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(a->incidents, b->incidents);
  const Entity& e = b->incidents.at(0).alerts.at(0).entities.at(0);
  EXPECT_EQ(e.entity_type, "File");
  EXPECT_EQ(e.file_name, "evil.exe");
  EXPECT_EQ(e.device_id, "d1");
  EXPECT_FALSE(e.sha1);

  // Same length as a known key, one character off; a prefix and an extension of known keys; a key longer than
  // every name (33+ characters, which the matcher must not read as a name); the known keys after them still match.
  const std::string near = R"({"value":[{"incidentId":8,"incidentNamf":"no","statu":"Resolved","statuss":"Resolved",
    "severityLevelOfThisIncidentAsAssessed":"Low","status":"InProgress","severity":"Medium",
    "incidentName":"yes"}]})";
  auto c = parse_incident_page(near, Dialect::legacy);
  ASSERT_TRUE(c) << c.error().message;
  const Incident& i = c->incidents.at(0);
  EXPECT_EQ(i.incident_id, "8");
  EXPECT_EQ(i.incident_name, "yes");
  EXPECT_EQ(i.status, IncidentStatus::in_progress);
  EXPECT_EQ(i.severity, Severity::medium);

  // The longest names (Graph evidence keys of 29 characters) match whole, and a key that shares their first 24
  // characters does not.
  const std::string graph = R"({"value":[{"id":"9","alerts":[{"id":"da2","evidence":[{
    "@odata.type":"#microsoft.graph.security.processEvidence","parentProcessCreationDateTimX":"2020-01-01T00:00:00Z",
    "parentProcessCreationDateTime":"2021-02-03T04:05:06Z","processCreationDateTime":"2021-02-03T04:05:07Z"}]}]}]})";
  auto g = parse_incident_page(graph, Dialect::graph);
  ASSERT_TRUE(g) << g.error().message;
  const Entity& p = g->incidents.at(0).alerts.at(0).entities.at(0);
  EXPECT_EQ(p.entity_type, "Process");
  EXPECT_EQ(p.parent_process_creation_time, at("2021-02-03T04:05:06Z"));
  EXPECT_EQ(p.process_creation_time, at("2021-02-03T04:05:07Z"));
}

TEST(ApiDialect, LegacyAdvancedHuntingExampleStreamsRows) {
  std::vector<HuntingRow> rows;
  auto result = parse_hunting(read_data("legacy_advanced_hunting_response.json"), [&](HuntingRow& row) {
    rows.push_back(row);
    return true;
  });
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->schema, (std::vector<HuntingColumn>{{"Timestamp", "DateTime"},
                                                        {"FileName", "String"},
                                                        {"InitiatingProcessFileName", "String"}}));
  EXPECT_EQ(result->rows, 2u);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].kind, HuntingCell::Kind::string);
  EXPECT_EQ(rows[0][0].text, "2020-08-30T06:38:35.7664356Z");
  EXPECT_EQ(rows[0][1].text, "conhost.exe");
  EXPECT_EQ(rows[1][0].text, "2020-08-30T06:38:30.5163363Z");
  EXPECT_EQ(rows[1][2].text, "powershell.exe");
}

TEST(ApiDialect, GraphHuntingExamplesInBothSchemaSpellings) {
  for (const char* name : {"graph_run_hunting_query.json", "graph_run_hunting_query_pascal.json"}) {
    std::vector<HuntingRow> rows;
    auto result = parse_hunting(read_data(name), [&](HuntingRow& row) {
      rows.push_back(row);
      return true;
    });
    ASSERT_TRUE(result) << name << ": " << result.error().message;
    ASSERT_EQ(result->schema.size(), 3u) << name;
    EXPECT_EQ(result->schema[0], (HuntingColumn{"Timestamp", "DateTime"}));
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0][2].text, "powershell.exe");
  }
}

TEST(ApiDialect, HuntingCellsOfEveryTypeAndResultsBeforeSchema) {
  const std::string body = R"({"Results":[{"B":true,"I":42,"R":1.5,"D":{"k":[1,"x"]},"A":[1,2],"S":"s","Extra":1},
    {"S":null}],"Schema":[{"Name":"S","Type":"String"},{"Name":"I","Type":"Int64"},{"Name":"R","Type":"Double"},
    {"Name":"B","Type":"Boolean"},{"Name":"D","Type":"Object"},{"Name":"A","Type":"Object"}]})";
  std::vector<HuntingRow> rows;
  auto result = parse_hunting(body, [&](HuntingRow& row) {
    rows.push_back(row);
    return true;
  });
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].text, "s");
  EXPECT_EQ(rows[0][1].kind, HuntingCell::Kind::integer);
  EXPECT_EQ(rows[0][1].integer, 42);
  EXPECT_EQ(rows[0][2].kind, HuntingCell::Kind::real);
  EXPECT_DOUBLE_EQ(rows[0][2].real, 1.5);
  EXPECT_EQ(rows[0][3].kind, HuntingCell::Kind::boolean);
  EXPECT_TRUE(rows[0][3].boolean);
  EXPECT_EQ(rows[0][4].kind, HuntingCell::Kind::dynamic);
  EXPECT_EQ(rows[0][4].text, R"({"k":[1,"x"]})");
  EXPECT_EQ(rows[0][5].text, "[1,2]");
  EXPECT_EQ(rows[1][0].kind, HuntingCell::Kind::null);
  EXPECT_EQ(rows[1][1].kind, HuntingCell::Kind::null);
}

TEST(ApiDialect, HuntingSinkCanStop) {
  size_t seen = 0;
  auto result = parse_hunting(read_data("legacy_advanced_hunting_response.json"), [&](HuntingRow&) {
    ++seen;
    return false;
  });
  ASSERT_TRUE(result);
  EXPECT_EQ(seen, 1u);
  EXPECT_TRUE(result->stopped);
}

void expect_invalid(const Result<IncidentPage>& r, const std::vector<std::string>& needles) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_response);
  for (const auto& n : needles) EXPECT_NE(r.error().message.find(n), std::string::npos) << r.error().message << "\n  missing: " << n;
}

TEST(ApiDialect, MalformedResponsesAreClearErrors) {
  const std::string good = read_data("legacy_list_incidents.json");
  // Truncated anywhere: an error, never a crash.
  for (size_t cut : {size_t(0), size_t(1), size_t(10), good.size() / 3, good.size() / 2, good.size() - 2}) {
    auto r = parse_incident_page(std::string_view(good).substr(0, cut), Dialect::legacy);
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_response);
    EXPECT_NE(r.error().message.find("incidents page (Defender XDR API)"), std::string::npos) << r.error().message;
  }
  expect_invalid(parse_incident_page("<html><body><h1>502 Bad Gateway</h1></body></html>", Dialect::legacy),
                 {"expected a JSON object", "HTML"});
  expect_invalid(parse_incident_page("", Dialect::graph), {"incidents page (Graph security API)", "expected a JSON object"});
  expect_invalid(parse_incident_page(R"({"value":{}})", Dialect::legacy),
                 {"at value", "expected an array of incidents, received an object"});
  expect_invalid(parse_incident_page(R"({"value":[{"incidentId":1,"severity":3}]})", Dialect::legacy),
                 {"at value[0].severity", "expected a string (enum name), received a number"});
  expect_invalid(parse_incident_page(R"({"value":[{"incidentId":1,"alerts":[{"devices":[{"osBuild":"x"}]}]}]})",
                                     Dialect::legacy),
                 {"at value[0].alerts[0].devices[0].osBuild", "expected an integer or null, received a string"});
  expect_invalid(parse_incident_page(R"({"value":[{"incidentId":1,"createdTime":"yesterday"}]})", Dialect::legacy),
                 {"value[0].createdTime", "\"yesterday\""});
  expect_invalid(parse_incident_page(R"({"values":[]})", Dialect::legacy), {"expected a \"value\" array"});
  expect_invalid(parse_incident_page("[1,2]", Dialect::legacy), {"expected a JSON object"});
}

TEST(ApiDialect, A200WithAnErrorBodyIsTheServiceError) {
  auto r = parse_incident_page(
      R"({"error":{"code":"InternalServerError","message":"Something went wrong","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}})",
      Dialect::legacy);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_response);
  EXPECT_EQ(r.error().code, "InternalServerError");
  EXPECT_EQ(r.error().request_id, "43f4cb08-8fac-4b65-9db1-745c2ae65f3a");
  EXPECT_NE(r.error().message.find("Something went wrong"), std::string::npos);

  auto g = parse_incident(R"({"error":{"code":"UnknownError","message":"","innerError":{"date":"2024-01-01T00:00:00",
    "request-id":"r-1","client-request-id":"c-1"}}})", Dialect::graph);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, "UnknownError");
  EXPECT_EQ(g.error().request_id, "r-1");
}

TEST(ApiDialect, ServiceErrorOfA429) {
  auto e = parse_service_error(R"({"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 45 per 00:01:00","target":"t"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "429");
  EXPECT_EQ(e->message, "API calls quota exceeded! maximum allowed 45 per 00:01:00");
  EXPECT_FALSE(parse_service_error("<html>"));
  EXPECT_FALSE(parse_service_error(R"({"value":[]})"));
}

TEST(ApiDialect, HuntingMalformed) {
  auto sink = [](HuntingRow&) { return true; };
  auto r = parse_hunting(R"({"Schema":[{"Name":"A","Type":"String"}],"Results":{"A":1}})", sink);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("at Results: expected an array of result rows, received an object"), std::string::npos)
      << r.error().message;
  auto n = parse_hunting(R"({"Results":[]})", sink);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("\"Schema\""), std::string::npos);
  auto t = parse_hunting(R"({"Schema":[{"Name":"A","Type":"String"}],"Results":[{"A":"x"},{"A":)", sink);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ErrorKind::invalid_response);
}

} // namespace
} // namespace xdr::api

namespace xdr::api {
namespace {

TEST(ApiDialect, InPlaceParsingGivesTheSameIncidents) {
  std::string body = testing::read_api_data("legacy_list_incidents.json");
  body.shrink_to_fit();
  const std::string copy = body;
  auto copied = parse_incident_page(copy, Dialect::legacy);
  auto in_place = parse_incident_page_in_place(body, Dialect::legacy);
  ASSERT_TRUE(copied);
  ASSERT_TRUE(in_place);
  EXPECT_EQ(body, copy);
  EXPECT_EQ(in_place->incidents, copied->incidents);
  std::string truncated = copy.substr(0, copy.size() / 2);
  EXPECT_FALSE(parse_incident_page_in_place(truncated, Dialect::legacy));
}

} // namespace
} // namespace xdr::api

// parse_incident_page_into reuses the objects of the page before: every field a page does not set must be
// reset, whatever the page before held. The "full" documents set every field of every model type (each
// key each dialect maps); parsing a sparse page after them must equal parsing it fresh.
namespace xdr::api {
namespace {

const char* const k_full_legacy_incident = R"({
  "incidentId": 924565, "redirectIncidentId": 924566, "incidentName": "Ransomware activity on multiple endpoints",
  "createdTime": "2020-09-06T14:46:57.0733333Z", "lastUpdateTime": "2020-09-06T14:46:57.29Z",
  "assignedTo": "secop123@contoso.onmicrosoft.com", "classification": "TruePositive", "determination": "Malware",
  "status": "Resolved", "severity": "High", "tags": ["Demo tag with a long enough name", "Second"],
  "comments": [{"comment": "a comment long enough to leave the small buffer", "createdBy": "secop123@contoso.com",
                "createdTime": "2021-01-26T01:00:37.8404534Z"},
               {"comment": "second", "createdBy": "b@contoso.com", "createdTime": "2021-01-27T01:00:37Z"}],
  "detectionSource": "MicrosoftDefenderForEndpoint",
  "alerts": [{
    "alertId": "da637320434838453466_-1849519512", "incidentId": 924565, "serviceSource": "MicrosoftDefenderForEndpoint",
    "creationTime": "2020-09-06T14:46:55.7182276Z", "lastUpdatedTime": "2020-09-06T14:46:57.2433333Z",
    "resolvedTime": "2020-09-07T14:46:57Z", "firstActivity": "2020-09-04T05:22:59Z", "lastActivity": "2020-09-05T05:22:59Z",
    "title": "Ransomware activity detected on the device", "description": "A long description of what happened here",
    "category": "Ransomware", "status": "Resolved", "severity": "High", "investigationId": 42,
    "investigationState": "UnsupportedAlertType", "classification": "TruePositive", "determination": "Malware",
    "detectionSource": "WindowsDefenderAv", "detectorId": "a2b9e9f5-7e6e-4a4a-9f3d-0c0c0c0c0c0c",
    "assignedTo": "automation@contoso.onmicrosoft.com", "actorName": "A threat actor with a long name",
    "threatFamilyName": "Ransom:Win32/SomeFamilyName", "mitreTechniques": ["T1486: Data Encrypted for Impact", "T1490"],
    "devices": [{"mdatpDeviceId": "0123456789abcdef0123456789abcdef01234567",
                 "aadDeviceId": "80fe8ff8-2624-418e-9591-41f0491218f9", "deviceDnsName": "clientmachine.contoso.com",
                 "osPlatform": "WindowsServer2016", "version": "1607", "osProcessor": "x64", "osBuild": 14393,
                 "healthStatus": "Active", "riskScore": "Informational", "rbacGroupName": "A device group name",
                 "rbacGroupId": 7, "firstSeen": "2020-02-06T14:16:01.9330135Z",
                 "tags": ["Test Tag 5 with a longer name", "T2"], "defenderAvStatus": "UpdatedAndEnabledLongValue",
                 "onboardingStatus": "OnboardedWithALongerValue"}],
    "entities": [{"entityType": "Process", "sha1": "5d2f7b0a1c0b3a3c9f9d5e4d3c2b1a0f9e8d7c6b",
                  "sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                  "fileName": "notepad-with-a-long-name.exe", "filePath": "C:\\Windows\\System32\\LongFolderName",
                  "processId": 1234, "processCommandLine": "notepad.exe C:\\some\\document\\with\\a\\long\\path.txt",
                  "processCreationTime": "2020-09-06T14:46:00Z", "parentProcessId": 567,
                  "parentProcessCreationTime": "2020-09-06T14:45:00Z", "ipAddress": "2001:db8:85a3::8a2e:370:7334",
                  "url": "https://a.long.example.com/path", "accountName": "a-long-account-name",
                  "domainName": "CONTOSO-LONG-DOMAIN", "userSid": "S-1-5-21-1111111111-2222222222-3333333333-1001",
                  "aadUserId": "11111111-2222-3333-4444-555555555555", "userPrincipalName": "user.name@contoso.com",
                  "mailboxDisplayName": "A mailbox display name", "mailboxAddress": "mailbox.address@contoso.com",
                  "clusterBy": "A cluster-by value, long", "sender": "sender.address@fabrikam.com",
                  "recipient": "recipient.address@contoso.com", "subject": "A subject line of an e-mail message",
                  "deliveryAction": "DeliveredToJunkFolder", "securityGroupId": "22222222-3333-4444-5555-666666666666",
                  "securityGroupName": "A security group name", "registryHive": "HKEY_LOCAL_MACHINE_LONG",
                  "registryKey": "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", "registryValueType": "ExpandString",
                  "registryValue": "C:\\Program Files\\something.exe", "deviceId": "0123456789abcdef0123456789abcdef01234567",
                  "parentProcessFileName": "explorer-with-a-long-name.exe"}]
  }]
})";

const char* const k_full_graph_incident = R"({
  "@odata.type": "#microsoft.graph.security.incident", "id": "2972395", "redirectIncidentId": "2972396",
  "incidentWebUrl": "https://security.microsoft.com/incidents/2972395?tid=12f988bf-16f1-11af-11ab-1d7cd011db47",
  "tenantId": "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c", "displayName": "Multi-stage incident involving many things",
  "createdDateTime": "2021-08-13T08:43:35.5533333Z", "lastUpdateDateTime": "2021-09-30T09:35:45.1133333Z",
  "assignedTo": "KaiC@contoso.onmicrosoft.com", "classification": "truePositive", "determination": "multiStagedAttack",
  "status": "awaitingAction", "severity": "medium", "customTags": ["Demo custom tag, long"], "systemTags": ["Defender Experts"],
  "description": "A description of the incident, long enough",
  "comments": [{"comment": "Demo comment, long enough to allocate", "createdByDisplayName": "Kai Carter, long name",
                "createdDateTime": "2021-09-30T12:07:37.2756993Z"}],
  "alerts": [{
    "id": "da637551227677560813_-961444813", "incidentId": "2972395", "serviceSource": "microsoftDefenderForEndpoint",
    "createdDateTime": "2021-04-27T12:19:27.7211305Z", "lastUpdateDateTime": "2021-05-02T14:19:01.3266667Z",
    "resolvedDateTime": "2021-05-03T14:19:01Z", "firstActivityDateTime": "2021-04-26T07:45:50.116Z",
    "lastActivityDateTime": "2021-05-02T07:56:58.222Z", "title": "Suspicious execution of hidden file",
    "description": "A hidden file has been launched, long description", "category": "DefenseEvasion",
    "status": "inProgress", "severity": "low", "investigationId": 9, "investigationState": "PartiallyRemediated",
    "classification": "falsePositive", "determination": "clean", "detectionSource": "antivirus",
    "detectorId": "e0da400f-affd-43ef-b1d5-afc2eb6f2756", "assignedTo": "KaiC@contoso.onmicrosoft.com",
    "actorDisplayName": "An actor display name", "threatFamilyName": "A threat family name",
    "mitreTechniques": ["T1564.001", "T1059: Command and Scripting"],
    "evidence": [
      {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
       "azureAdDeviceId": "80fe8ff8-2624-418e-9591-41f0491218f9", "deviceDnsName": "tempDns.contoso.com",
       "osPlatform": "Windows10", "osBuild": 22424, "version": "Other", "healthStatus": "active", "riskScore": "medium",
       "rbacGroupId": 75, "rbacGroupName": "UnassignedGroup with a long name", "onboardingStatus": "onboardedLonger",
       "defenderAvStatus": "notSupportedLonger", "firstSeenDateTime": "2020-09-12T07:28:32.4321753Z",
       "tags": ["Test Machine with a long tag"]},
      {"@odata.type": "#microsoft.graph.security.processEvidence", "mdeDeviceId": "73e7e2de709dff64ef64b1d0c30e67fab63279db",
       "processId": 4780, "parentProcessId": 668, "processCommandLine": "\"MsSense.exe\" with long arguments here",
       "processCreationDateTime": "2021-08-12T12:43:19.0772577Z",
       "parentProcessCreationDateTime": "2021-08-12T11:39:47.2312577Z",
       "imageFile": {"sha1": "5d2f7b0a1c0b3a3c9f9d5e4d3c2b1a0f9e8d7c6b",
                     "sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                     "fileName": "MsSense-long-name.exe", "filePath": "C:\\Program Files\\Windows Defender Advanced"},
       "parentProcessImageFile": {"fileName": "services-long-name.exe"},
       "userAccount": {"accountName": "SYSTEM-long-account", "domainName": "NT AUTHORITY LONG",
                       "userSid": "S-1-5-18-000000000000000000000000000", "azureAdUserId": "11111111-2222-3333-4444-555555555555",
                       "userPrincipalName": "system.account@contoso.com"},
       "ipAddress": "2001:db8:85a3::8a2e:370:7334", "url": "https://a.long.example.com/path",
       "registryKey": "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", "registryHive": "HKEY_LOCAL_MACHINE_LONG",
       "registryValueType": "ExpandString", "registryValue": "C:\\Program Files\\something.exe",
       "recipientEmailAddress": "recipient.address@contoso.com", "subject": "A subject line of an e-mail message",
       "p1Sender": {"displayName": "Sender", "emailAddress": "sender.address@fabrikam.com"},
       "primaryAddress": "mailbox.address@contoso.com", "displayName": "A mailbox display name",
       "securityGroupId": "22222222-3333-4444-5555-666666666666"}
    ]
  }]
})";

std::string page_of(const std::vector<std::string>& incidents) {
  std::string out = R"({"@odata.context": "x", "value": [)";
  for (size_t i = 0; i < incidents.size(); ++i) out += (i ? "," : "") + incidents[i];
  return out + "]}";
}

// Parses `body` into `page` and checks it equals a fresh parse.
void expect_into_equals_fresh(const std::string& body, Dialect dialect, IncidentPage& page) {
  auto fresh = parse_incident_page(body, dialect);
  ASSERT_TRUE(fresh) << fresh.error().message;
  std::string copy = body;
  auto into = parse_incident_page_into(copy, dialect, page);
  ASSERT_TRUE(into) << into.error().message;
  EXPECT_EQ(page.incidents, fresh->incidents);
  EXPECT_EQ(page.next_link, fresh->next_link);
  EXPECT_EQ(page.count, fresh->count);
}

TEST(ApiDialect, ParseIntoAReusedPageResetsWhatTheNewPageLacks) {
  const std::string full = page_of({k_full_legacy_incident, k_full_legacy_incident, k_full_legacy_incident});
  IncidentPage page;
  expect_into_equals_fresh(full, Dialect::legacy, page);
  ASSERT_EQ(page.incidents.size(), 3u);
  const Entity& full_entity = page.incidents[0].alerts[0].entities[0];
  EXPECT_TRUE(full_entity.sha1 && full_entity.parent_process_file_name && full_entity.device_id);
  EXPECT_EQ(page.incidents[0].alerts[0].devices.size(), 1u);
  EXPECT_EQ(page.incidents[0].redirect_incident_id, "924566");

  // Fewer incidents, each with a few keys only (others absent or null): nothing of the page before remains.
  const std::string sparse = page_of({R"({"incidentId": 1, "status": null, "classification": null, "assignedTo": null,
      "alerts": [{"alertId": "a1", "entities": [{"entityType": "User", "sha1": null}]}]})"});
  expect_into_equals_fresh(sparse, Dialect::legacy, page);
  ASSERT_EQ(page.incidents.size(), 1u);
  const Incident& inc = page.incidents[0];
  EXPECT_EQ(inc.incident_id, "1");
  EXPECT_FALSE(inc.redirect_incident_id);
  EXPECT_FALSE(inc.assigned_to);
  EXPECT_EQ(inc.status, IncidentStatus::active);
  EXPECT_EQ(inc.severity, Severity::unspecified);
  EXPECT_EQ(inc.classification, Classification::unknown);
  EXPECT_TRUE(inc.incident_name.empty());
  EXPECT_TRUE(inc.tags.empty());
  EXPECT_TRUE(inc.comments.empty());
  ASSERT_EQ(inc.alerts.size(), 1u);
  EXPECT_TRUE(inc.alerts[0].devices.empty());
  EXPECT_TRUE(inc.alerts[0].mitre_techniques.empty());
  EXPECT_FALSE(inc.alerts[0].classification);
  ASSERT_EQ(inc.alerts[0].entities.size(), 1u);
  EXPECT_EQ(inc.alerts[0].entities[0], (Entity{.entity_type = "User"}));

  // And back: more incidents than the reused page holds, full again.
  expect_into_equals_fresh(full, Dialect::legacy, page);
  // A page with an empty "value" and a next link; then one with neither.
  expect_into_equals_fresh(R"({"value": [], "@odata.nextLink": "https://api.security.microsoft.com/api/incidents?$skip=3"})",
                           Dialect::legacy, page);
  EXPECT_TRUE(page.incidents.empty());
  EXPECT_TRUE(page.next_link);
  expect_into_equals_fresh(R"({"value": []})", Dialect::legacy, page);
  EXPECT_FALSE(page.next_link);
}

TEST(ApiDialect, ParseIntoAReusedGraphPageSwapsDeviceAndEntityEvidence) {
  const std::string full = page_of({k_full_graph_incident, k_full_graph_incident});
  IncidentPage page;
  expect_into_equals_fresh(full, Dialect::graph, page);
  ASSERT_EQ(page.incidents.size(), 2u);
  ASSERT_EQ(page.incidents[0].alerts[0].devices.size(), 1u);
  ASSERT_EQ(page.incidents[0].alerts[0].entities.size(), 1u);
  const Entity& process = page.incidents[0].alerts[0].entities[0];
  EXPECT_TRUE(process.sha256 && process.user_principal_name && process.sender && process.parent_process_file_name);

  // Evidence in another order and kind: the device slot of the page before now holds nothing, entities more.
  const std::string other = page_of({R"({"id": "7", "alerts": [{"id": "b", "evidence": [
      {"@odata.type": "#microsoft.graph.security.userEvidence", "userAccount": {"accountName": "u"}},
      {"@odata.type": "#microsoft.graph.security.fileEvidence", "fileDetails": {"fileName": "f.exe"}},
      {"@odata.type": "#microsoft.graph.security.someNewEvidence"}]}]})"});
  expect_into_equals_fresh(other, Dialect::graph, page);
  ASSERT_EQ(page.incidents.size(), 1u);
  const Alert& alert = page.incidents[0].alerts[0];
  EXPECT_TRUE(alert.devices.empty());
  ASSERT_EQ(alert.entities.size(), 3u);
  EXPECT_EQ(alert.entities[0], (Entity{.entity_type = "User", .account_name = "u"}));
  EXPECT_EQ(alert.entities[1], (Entity{.entity_type = "File", .file_name = "f.exe"}));
  EXPECT_EQ(alert.entities[2], (Entity{.entity_type = "SomeNew"}));
  EXPECT_TRUE(page.incidents[0].description.empty());
  EXPECT_TRUE(page.incidents[0].tenant_id.empty());

  // A device where an entity was, and the legacy dialect after Graph into the same page.
  const std::string device_only = page_of({R"({"id": "8", "alerts": [{"id": "c", "evidence": [
      {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "d1"}]}]})"});
  expect_into_equals_fresh(device_only, Dialect::graph, page);
  ASSERT_EQ(page.incidents[0].alerts[0].devices.size(), 1u);
  EXPECT_EQ(page.incidents[0].alerts[0].devices[0], (Device{.mdatp_device_id = "d1"}));
  EXPECT_TRUE(page.incidents[0].alerts[0].entities.empty());
  expect_into_equals_fresh(full, Dialect::graph, page);
  expect_into_equals_fresh(page_of({k_full_legacy_incident}), Dialect::legacy, page);
  expect_into_equals_fresh(full, Dialect::graph, page);
}

TEST(ApiDialect, ParseIntoAfterAFailureStillParsesTheNextPage) {
  IncidentPage page;
  std::string broken = page_of({k_full_legacy_incident}).substr(0, 2000);
  EXPECT_FALSE(parse_incident_page_into(broken, Dialect::legacy, page));
  expect_into_equals_fresh(page_of({R"({"incidentId": 5})"}), Dialect::legacy, page);
}

} // namespace
} // namespace xdr::api
