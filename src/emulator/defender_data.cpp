#include <emulator/defender_data.hpp>

#include <algorithm>
#include <cctype>

#include <emulator/json_dump.hpp>
#include <emulator/kql/value.hpp>
#include <emulator/odata_filter.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/random.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

constexpr int64_t k_second = kql::k_ticks_per_second;
constexpr int64_t k_minute = 60 * k_second;
constexpr int64_t k_hour = 60 * k_minute;
constexpr int64_t k_day = kql::k_ticks_per_day;

template <class T, size_t N>
const T& pick(util::DeterministicRng& rng, const T (&items)[N]) {
  return items[rng.below(N)];
}

std::string digits(util::DeterministicRng& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>('0' + (i == 0 ? 1 + rng.below(9) : rng.below(10)));
  return s;
}

std::string hex(util::DeterministicRng& rng, size_t bytes) { return util::hex_encode(rng.bytes(bytes)); }

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

enum class Source { mde, mcas, office };

struct AlertKind {
  const char* title;
  const char* category;
  const char* mitre; // comma-separated
  const char* threat_family;
};

constexpr AlertKind k_mde_kinds[] = {
    {"Suspicious PowerShell command line", "Execution", "T1059.001", nullptr},
    {"Mimikatz credential theft tool", "CredentialAccess", "T1003", "Mimikatz"},
    {"Ransomware behavior detected in the file system", "Impact", "T1486", "Ryuk"},
    {"Suspicious process injection observed", "DefenseEvasion", "T1055", nullptr},
    {"An active 'Emotet' malware was detected", "Malware", "T1064,T1204", "Emotet"},
};
constexpr AlertKind k_mcas_kinds[] = {
    {"Impossible travel activity", "InitialAccess", "T1078", nullptr},
    {"Mass download by a single user", "Exfiltration", "T1530", nullptr},
    {"Suspicious inbox manipulation rule", "Persistence", "T1114.003", nullptr},
};
constexpr AlertKind k_office_kinds[] = {
    {"Email messages containing malicious URL removed after delivery", "InitialAccess", "T1566.002", nullptr},
    {"Email messages containing malware removed after delivery", "Malware", "T1566.001", "Qakbot"},
    {"User reported a phishing email", "SuspiciousActivity", "", nullptr},
};

const char* service_source(Source s) {
  return s == Source::mde ? "MicrosoftDefenderForEndpoint" : s == Source::mcas ? "MicrosoftCloudAppSecurity" : "OfficeATP";
}

constexpr const char* k_severities[] = {"Informational", "Low", "Medium", "High"};
constexpr const char* k_os[][3] = {{"Windows10", "1909", "18363"}, {"Windows11", "22H2", "22621"},
                                   {"WindowsServer2016", "1607", "14393"}, {"WindowsServer2019", "1809", "17763"}};

struct Device {
  std::string id, aad_id, name, os, version, build, risk, ip;
  int64_t first_seen = 0;
};

struct User {
  std::string name, upn, sid, aad_id, display;
};

std::vector<Device> make_devices(uint64_t seed, const TenantProfile& p, int64_t now) {
  util::DeterministicRng rng(seed, "defender/" + p.tenant_id + "/devices");
  std::string domain = p.domain.substr(0, p.domain.find('.'));
  std::vector<Device> out;
  for (int i = 0; i < 16; ++i) {
    Device d;
    d.id = hex(rng, 20);
    d.aad_id = rng.below(4) == 0 ? std::string() : rng.guid();
    const auto& os = k_os[rng.below(4)];
    d.name = (std::string(os[0]).find("Server") != std::string::npos ? "srv-" : "ws-") + std::to_string(100 + i) +
             "." + domain + ".local";
    d.os = os[0];
    d.version = os[1];
    d.build = os[2];
    d.risk = pick(rng, k_severities);
    d.ip = "10.0." + std::to_string(rng.below(8)) + "." + std::to_string(10 + rng.below(240));
    d.first_seen = now - 200 * k_day + static_cast<int64_t>(rng.below(150)) * k_day;
    out.push_back(d);
  }
  return out;
}

std::vector<User> make_users(uint64_t seed, const TenantProfile& p) {
  static constexpr const char* names[] = {"adele.vance", "alex.wilber", "diego.siciliani", "grady.archie",
                                          "isaiah.langer", "johanna.lorenz", "lee.gu", "lidia.holloway",
                                          "megan.bowen", "nestor.wilke", "patti.fernandez", "pradeep.gupta"};
  util::DeterministicRng rng(seed, "defender/" + p.tenant_id + "/users");
  std::vector<User> out;
  for (const char* n : names) {
    User u;
    u.name = n;
    u.upn = std::string(n) + "@" + p.domain;
    u.sid = "S-1-5-21-" + digits(rng, 10) + "-" + digits(rng, 10) + "-" + digits(rng, 10) + "-" + digits(rng, 4);
    u.aad_id = rng.guid();
    std::string disp = n;
    disp[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(disp[0])));
    auto dot = disp.find('.');
    disp[dot] = ' ';
    disp[dot + 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(disp[dot + 1])));
    u.display = disp;
    out.push_back(u);
  }
  return out;
}

OrderedJson blank_entity(const char* type) {
  static const OrderedJson blank = [] {
    OrderedJson e = OrderedJson::object();
    for (const auto& k : entity_keys()) e[k] = nullptr;
    return e;
  }();
  OrderedJson e = blank;
  e["entityType"] = type;
  return e;
}

OrderedJson device_json(const Device& d, util::DeterministicRng& rng) {
  OrderedJson j;
  j["mdatpDeviceId"] = d.id;
  j["aadDeviceId"] = d.aad_id.empty() ? OrderedJson(nullptr) : OrderedJson(d.aad_id);
  j["deviceDnsName"] = d.name;
  j["osPlatform"] = d.os;
  j["version"] = d.version;
  j["osProcessor"] = "x64";
  j["osBuild"] = std::stoll(d.build);
  j["healthStatus"] = "Active";
  j["riskScore"] = d.risk;
  j["rbacGroupName"] = rng.below(2) ? OrderedJson("Tier 1 servers") : OrderedJson(nullptr);
  j["rbacGroupId"] = 2000 + static_cast<int64_t>(rng.below(50));
  j["firstSeen"] = format_ticks(d.first_seen);
  j["tags"] = OrderedJson::array();
  j["defenderAvStatus"] = "Updated";
  j["onboardingStatus"] = "Onboarded";
  j["vmMetadata"] = nullptr;
  return j;
}

constexpr const char* k_incident_names[] = {
    "Multi-stage incident involving Initial access & Execution on one endpoint",
    "Ransomware activity on multiple endpoints", "Suspicious PowerShell activity on one endpoint",
    "Email messages containing malicious URL removed after delivery", "Impossible travel activity involving one user",
    "Credential theft activity on one endpoint", "Mass download by a single user", "Phishing campaign reported by users"};

} // namespace

int64_t ticks_of(util::TimePoint tp) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count() / 100;
}

std::string format_ticks(int64_t ticks) { return kql::format_datetime(kql::DateTime{ticks}); }

const std::vector<std::string>& entity_keys() {
  static const std::vector<std::string> keys = {
      "entityType",        "sha1",           "sha256",          "fileName",           "filePath",
      "processId",         "processCommandLine", "processCreationTime", "parentProcessId", "parentProcessCreationTime",
      "ipAddress",         "url",            "accountName",     "domainName",         "userSid",
      "aadUserId",         "userPrincipalName", "mailboxDisplayName", "mailboxAddress", "clusterBy",
      "sender",            "recipient",      "subject",         "deliveryAction",     "securityGroupId",
      "securityGroupName", "registryHive",   "registryKey",     "registryValueType",  "registryValue",
      "deviceId"};
  return keys;
}

// ---- generation ----

TenantData::~TenantData() {
  std::lock_guard guard(m_text_mutex);
  for (size_t i = 0; i < m_text.size(); ++i) drop_text(i);
}

TenantData::TenantData(uint64_t seed, TenantProfile profile, util::TimePoint now, std::shared_ptr<RenderBudget> budget)
    : m_seed(seed), m_profile(std::move(profile)), m_now(now), m_budget(std::move(budget)) {
  static constexpr const char* tp_det[] = {"MultiStagedAttack", "MaliciousUserActivity", "CompromisedUser", "Malware",
                                           "Phishing", "UnwantedSoftware", "Other"};
  static constexpr const char* iea_det[] = {"SecurityTesting", "LineOfBusinessApplication", "ConfirmedUserActivity",
                                            "Other"};
  static constexpr const char* fp_det[] = {"Clean", "InsufficientData", "Other"};
  static constexpr const char* analysts[] = {"secop1", "secop2", "soc.lead"};
  util::DeterministicRng rng(seed, "defender/" + m_profile.tenant_id + "/incidents");
  int64_t now_t = ticks_of(now);
  int64_t id = 100'000 + static_cast<int64_t>(rng.below(800'000));
  size_t n = static_cast<size_t>(std::clamp<int64_t>(m_profile.incidents, 0, k_max_incidents));
  incidents.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Incident inc;
    id += 1 + static_cast<int64_t>(rng.below(40));
    inc.id = id;
    inc.created = now_t - static_cast<int64_t>(rng.below(static_cast<uint64_t>(30 * k_day - k_hour))) - k_minute;
    inc.last_update = inc.created + static_cast<int64_t>(rng.below(static_cast<uint64_t>(
                                        std::min<int64_t>(now_t - inc.created, 3 * k_day))));
    inc.generated_update = inc.last_update;
    inc.name = pick(rng, k_incident_names);
    uint64_t st = rng.below(4);
    inc.status = st < 2 ? "Active" : st == 2 ? "InProgress" : "Resolved";
    if (inc.status != "Active" || rng.below(2)) inc.assigned_to = std::string(pick(rng, analysts)) + "@" + m_profile.domain;
    inc.classification = "Unknown";
    inc.determination = "NotAvailable";
    if (inc.status == "Resolved") {
      uint64_t c = rng.below(3);
      inc.classification = c == 0 ? "TruePositive" : c == 1 ? "InformationalExpectedActivity" : "FalsePositive";
      inc.determination = c == 0 ? pick(rng, tp_det) : c == 1 ? pick(rng, iea_det) : pick(rng, fp_det);
    }
    inc.severity = pick(rng, k_severities);
    if (rng.below(3) == 0) inc.tags.push_back(rng.below(2) ? "Ransomware" : "Phishing");
    inc.alert_seed = rng.next();
    inc.alert_count = 1 + static_cast<int>(rng.below(4));
    by_id[inc.id] = incidents.size();
    incidents.push_back(std::move(inc));
  }
  sort_order();
}

void TenantData::sort_order() {
  order.resize(incidents.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [this](size_t a, size_t b) {
    const Incident& x = incidents[a];
    const Incident& y = incidents[b];
    return x.last_update != y.last_update ? x.last_update > y.last_update : x.id > y.id;
  });
}

int64_t TenantData::create_incident(util::DeterministicRng& rng, int64_t at) {
  Incident inc;
  int64_t last_id = incidents.empty() ? 100'000 : incidents.back().id;
  inc.id = last_id + 1 + static_cast<int64_t>(rng.below(40));
  inc.created = at;
  inc.last_update = at;
  inc.generated_update = at;
  inc.name = pick(rng, k_incident_names);
  inc.status = "Active";
  inc.classification = "Unknown";
  inc.determination = "NotAvailable";
  inc.severity = pick(rng, k_severities);
  inc.alert_seed = rng.next();
  inc.alert_count = 1 + static_cast<int>(rng.below(4));
  by_id[inc.id] = incidents.size();
  order.push_back(incidents.size());
  incidents.push_back(std::move(inc));
  return incidents.back().id;
}

void TenantData::bump(size_t index, int64_t at) {
  {
    std::lock_guard guard(m_text_mutex);
    drop_text(index);
  }
  Incident& inc = incidents[index];
  inc.last_update = std::max(at, inc.last_update + 1);
}

ChurnResult TenantData::churn(int64_t create, int64_t update, int64_t now_ticks) {
  std::unique_lock lock(mutex);
  util::DeterministicRng rng(m_seed, "defender/" + m_profile.tenant_id + "/churn/" + std::to_string(m_churn_calls++));
  ChurnResult out;
  size_t existing = incidents.size();
  // Distinct incidents, drawn before the new ones exist so a call never "updates" what it created.
  std::vector<size_t> picks;
  size_t want = static_cast<size_t>(std::clamp<int64_t>(update, 0, static_cast<int64_t>(existing)));
  if (want * 2 > existing) {
    std::vector<size_t> all(existing);
    for (size_t i = 0; i < existing; ++i) all[i] = i;
    for (size_t i = 0; i < want; ++i) std::swap(all[i], all[i + rng.below(existing - i)]);
    picks.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(want));
  } else {
    std::unordered_map<size_t, bool> seen;
    while (picks.size() < want) {
      size_t i = static_cast<size_t>(rng.below(existing));
      if (seen.emplace(i, true).second) picks.push_back(i);
    }
  }
  for (int64_t i = 0; i < create; ++i) out.created.push_back(create_incident(rng, now_ticks));
  for (size_t i : picks) {
    bump(i, now_ticks);
    out.updated.push_back(incidents[i].id);
  }
  sort_order();
  return out;
}

void TenantData::apply_steady_churn(double create_per_minute, double update_per_minute, int64_t now_ticks) {
  int64_t base = ticks_of(m_now);
  if (now_ticks <= base) return;
  double minutes = static_cast<double>(now_ticks - base) / static_cast<double>(k_minute);
  auto due = [&](double rate) { return rate > 0 ? static_cast<int64_t>(minutes * rate) : 0; };
  {
    std::shared_lock lock(mutex);
    if (due(create_per_minute) <= m_steady_created && due(update_per_minute) <= m_steady_updated) return;
  }
  std::unique_lock lock(mutex);
  int64_t want_created = due(create_per_minute), want_updated = due(update_per_minute);
  // A clock jumped far ahead: skip what exceeds one batch rather than stall this request.
  m_steady_created = std::max(m_steady_created, want_created - k_max_steady_batch);
  m_steady_updated = std::max(m_steady_updated, want_updated - k_max_steady_batch);
  auto stamp = [&](int64_t k, double rate) {
    return base + static_cast<int64_t>(static_cast<double>(k) * static_cast<double>(k_minute) / rate);
  };
  util::DeterministicRng rng(m_seed, "defender/" + m_profile.tenant_id + "/steady/" + std::to_string(m_steady_created) +
                                         "/" + std::to_string(m_steady_updated));
  bool changed = false;
  while (m_steady_created < want_created) {
    ++m_steady_created;
    create_incident(rng, std::min(now_ticks, stamp(m_steady_created, create_per_minute)));
    changed = true;
  }
  while (m_steady_updated < want_updated && !incidents.empty()) {
    ++m_steady_updated;
    bump(static_cast<size_t>(rng.below(incidents.size())), std::min(now_ticks, stamp(m_steady_updated, update_per_minute)));
    changed = true;
  }
  if (changed) sort_order();
}

std::shared_ptr<const std::string> TenantData::rendered_text(size_t index) const {
  {
    std::lock_guard guard(m_text_mutex);
    if (index < m_text.size() && m_text[index]) return m_text[index];
  }
  auto text = std::make_shared<const std::string>(dump_compact(render(incidents[index])));
  std::lock_guard guard(m_text_mutex);
  if (m_text.size() < incidents.size()) m_text.resize(incidents.size());
  if (m_text[index]) return m_text[index]; // another thread rendered it meanwhile
  if (!m_budget || m_budget->take(text->size())) m_text[index] = text;
  return text;
}

void TenantData::drop_text(size_t index) const {
  if (index >= m_text.size() || !m_text[index]) return;
  if (m_budget) m_budget->give_back(m_text[index]->size());
  m_text[index].reset();
}

void TenantData::touch(size_t index) {
  {
    std::lock_guard guard(m_text_mutex);
    drop_text(index);
  }
  std::erase(order, index);
  const Incident& x = incidents[index];
  auto pos = std::find_if(order.begin(), order.end(), [&](size_t b) {
    const Incident& y = incidents[b];
    return x.last_update != y.last_update ? x.last_update > y.last_update : x.id > y.id;
  });
  order.insert(pos, index);
}

namespace {

// The fields of an alert that AlertInfo needs, and the stream the rest of the alert is drawn from.
struct AlertCore {
  util::DeterministicRng rng;
  Source src = Source::mde;
  const AlertKind* kind = nullptr;
  int64_t created = 0, updated = 0, first = 0, last = 0;
  size_t user = 0, device = 0;
  std::string id;
  const char* severity = "";
  const char* detection = "";
};

AlertCore alert_core(const Incident& inc, int a) {
  // One stream per alert, so the AlertInfo fields are drawn without rendering the rest.
  AlertCore c{util::DeterministicRng(inc.alert_seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(a + 1)))};
  util::DeterministicRng& rng = c.rng;
  int64_t span = std::max<int64_t>(inc.generated_update - inc.created, 1);
  c.src = static_cast<Source>(rng.below(3));
  c.kind = c.src == Source::mde    ? &pick(rng, k_mde_kinds)
           : c.src == Source::mcas ? &pick(rng, k_mcas_kinds)
                                   : &pick(rng, k_office_kinds);
  c.created = a == 0 ? inc.created : inc.created + static_cast<int64_t>(rng.below(static_cast<uint64_t>(span)));
  c.updated = c.created + static_cast<int64_t>(rng.below(static_cast<uint64_t>(inc.generated_update - c.created + 1)));
  c.first = c.created - static_cast<int64_t>(rng.below(static_cast<uint64_t>(k_hour)));
  c.last = c.first + static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.created - c.first + 1)));
  c.user = static_cast<size_t>(rng.next());
  c.device = static_cast<size_t>(rng.next());
  if (c.src == Source::mde) {
    std::string head = digits(rng, 18);
    c.id = "da" + head + "_" + digits(rng, 9 + static_cast<int>(rng.below(2)));
  } else {
    c.id = c.src == Source::mcas ? "ca" + upper(rng.guid()) : "fa" + rng.guid().substr(2);
  }
  c.severity = pick(rng, k_severities);
  static constexpr const char* mde_sources[] = {"WindowsDefenderAv", "WindowsDefenderAtp", "AutomatedInvestigation"};
  c.detection = c.src == Source::mde ? pick(rng, mde_sources) : c.src == Source::mcas ? "MCAS" : "OfficeATP";
  return c;
}

} // namespace

std::vector<AlertFacts> TenantData::alert_facts(const Incident& inc) const {
  std::vector<AlertFacts> out;
  for (int a = 0; a < inc.alert_count; ++a) {
    AlertCore c = alert_core(inc, a);
    out.push_back({c.id, c.created, c.updated, c.severity, service_source(c.src)});
  }
  return out;
}

OrderedJson TenantData::render_alerts(const Incident& inc) const {
  // The device and user pools are small and cheap to rebuild, and depend only on (seed, tenant).
  static thread_local std::string cached_key;
  static thread_local std::vector<Device> devices;
  static thread_local std::vector<User> users;
  std::string key = std::to_string(m_seed) + "/" + m_profile.tenant_id + "/" + m_profile.domain + "/" +
                    std::to_string(ticks_of(m_now));
  if (cached_key != key) {
    devices = make_devices(m_seed, m_profile, ticks_of(m_now));
    users = make_users(m_seed, m_profile);
    cached_key = key;
  }
  OrderedJson alerts = OrderedJson::array();
  for (int a = 0; a < inc.alert_count; ++a) {
    AlertCore core = alert_core(inc, a);
    util::DeterministicRng& rng = core.rng;
    Source src = core.src;
    const AlertKind& kind = *core.kind;
    int64_t updated = core.updated;
    const User& user = users[core.user % users.size()];
    const Device& dev = devices[core.device % devices.size()];
    OrderedJson j;
    j["alertId"] = core.id;
    j["incidentId"] = inc.id;
    j["serviceSource"] = service_source(src);
    j["creationTime"] = format_ticks(core.created);
    j["lastUpdatedTime"] = format_ticks(updated);
    j["resolvedTime"] = inc.status == "Resolved" ? OrderedJson(format_ticks(updated)) : OrderedJson(nullptr);
    j["firstActivity"] = format_ticks(core.first);
    j["lastActivity"] = format_ticks(core.last);
    j["title"] = kind.title;
    j["description"] = std::string(kind.title) + " was observed. Review the evidence and the affected assets.";
    j["category"] = kind.category;
    j["status"] = inc.status == "Resolved" ? "Resolved" : inc.status == "InProgress" ? "InProgress" : "New";
    j["severity"] = core.severity;
    bool investigated = src == Source::mde && rng.below(2);
    j["investigationId"] = investigated ? OrderedJson(static_cast<int64_t>(1 + rng.below(99'999))) : OrderedJson(nullptr);
    static constexpr const char* states[] = {"Running", "Benign", "SuccessfullyRemediated", "PendingApproval"};
    j["investigationState"] = investigated ? pick(rng, states) : "UnsupportedAlertType";
    j["classification"] = inc.status == "Resolved" ? OrderedJson(inc.classification) : OrderedJson(nullptr);
    j["determination"] = inc.status == "Resolved" ? OrderedJson(inc.determination) : OrderedJson(nullptr);
    j["detectionSource"] = core.detection;
    j["detectorId"] = rng.guid();
    j["assignedTo"] = inc.assigned_to ? OrderedJson(*inc.assigned_to) : OrderedJson(nullptr);
    j["actorName"] = nullptr;
    j["threatFamilyName"] = kind.threat_family ? OrderedJson(kind.threat_family) : OrderedJson(nullptr);
    OrderedJson mitre = OrderedJson::array();
    for (auto t : util::split(kind.mitre, ','))
      if (!t.empty()) mitre.push_back(std::string(t));
    j["mitreTechniques"] = std::move(mitre);
    j["devices"] = OrderedJson::array();
    OrderedJson entities = OrderedJson::array();
    OrderedJson u = blank_entity("User");
    u["accountName"] = user.name;
    u["domainName"] = upper(m_profile.domain.substr(0, m_profile.domain.find('.')));
    u["userSid"] = user.sid;
    u["aadUserId"] = user.aad_id;
    u["userPrincipalName"] = user.upn;
    if (src == Source::mde) {
      j["devices"].push_back(device_json(dev, rng));
      OrderedJson f = blank_entity("File");
      f["sha1"] = hex(rng, 20);
      f["sha256"] = hex(rng, 32);
      f["fileName"] = kind.threat_family ? util::to_lower(kind.threat_family) + ".exe" : "powershell.exe";
      f["filePath"] = kind.threat_family ? "C:\\Users\\" + user.name + "\\Downloads" : "C:\\Windows\\System32\\WindowsPowerShell\\v1.0";
      f["deviceId"] = dev.id;
      OrderedJson p = blank_entity("Process");
      p["processId"] = static_cast<int64_t>(1000 + rng.below(30000));
      p["processCommandLine"] = f["fileName"].get<std::string>() + " -nop -w hidden -enc SQBFAFgA";
      p["processCreationTime"] = format_ticks(core.first);
      p["parentProcessId"] = static_cast<int64_t>(500 + rng.below(500));
      p["parentProcessCreationTime"] = format_ticks(core.first - k_minute);
      p["fileName"] = f["fileName"];
      p["filePath"] = f["filePath"];
      p["sha1"] = f["sha1"];
      p["sha256"] = f["sha256"];
      p["deviceId"] = dev.id;
      entities.push_back(std::move(u));
      entities.push_back(std::move(p));
      entities.push_back(std::move(f));
    } else if (src == Source::mcas) {
      OrderedJson ip = blank_entity("Ip");
      ip["ipAddress"] = std::to_string(20 + rng.below(180)) + "." + std::to_string(rng.below(256)) + "." +
                        std::to_string(rng.below(256)) + "." + std::to_string(1 + rng.below(254));
      entities.push_back(std::move(u));
      entities.push_back(std::move(ip));
    } else {
      OrderedJson mb = blank_entity("MailBox");
      mb["mailboxDisplayName"] = user.display;
      mb["mailboxAddress"] = user.upn;
      mb["userPrincipalName"] = user.upn;
      OrderedJson msg = blank_entity("MailMessage");
      msg["sender"] = "billing@" + std::string(rng.below(2) ? "invoices-online.example" : "secure-docs.example");
      msg["recipient"] = user.upn;
      msg["subject"] = rng.below(2) ? "Invoice overdue" : "Your document is ready";
      msg["deliveryAction"] = rng.below(2) ? "Delivered" : "Blocked";
      OrderedJson url = blank_entity("Url");
      url["url"] = "https://" + hex(rng, 4) + ".secure-docs.example/login";
      entities.push_back(std::move(mb));
      entities.push_back(std::move(msg));
      entities.push_back(std::move(url));
    }
    j["entities"] = std::move(entities);
    alerts.push_back(std::move(j));
  }
  return alerts;
}

OrderedJson TenantData::render(const Incident& inc) const {
  OrderedJson j;
  j["incidentId"] = inc.id;
  j["redirectIncidentId"] = nullptr;
  j["incidentName"] = inc.name;
  j["createdTime"] = format_ticks(inc.created);
  j["lastUpdateTime"] = format_ticks(inc.last_update);
  j["assignedTo"] = inc.assigned_to ? OrderedJson(*inc.assigned_to) : OrderedJson(nullptr);
  j["classification"] = inc.classification;
  j["determination"] = inc.determination;
  j["status"] = inc.status;
  j["severity"] = inc.severity;
  j["tags"] = inc.tags;
  j["comments"] = inc.comments;
  j["alerts"] = render_alerts(inc);
  return j;
}

// ---- hunting tables ----

namespace {

kql::TableBuilder alert_info_builder() {
  using kql::Type;
  return kql::TableBuilder({{"Timestamp", Type::datetime}, {"AlertId", Type::string}, {"Title", Type::string},
                            {"Category", Type::string}, {"Severity", Type::string}, {"ServiceSource", Type::string},
                            {"DetectionSource", Type::string}, {"AttackTechniques", Type::string}});
}

void add_alert_info_rows(kql::TableBuilder& info, const Incident& inc) {
  for (int n = 0; n < inc.alert_count; ++n) {
    AlertCore c = alert_core(inc, n);
    OrderedJson mitre = OrderedJson::array();
    for (auto t : util::split(c.kind->mitre, ','))
      if (!t.empty()) mitre.push_back(std::string(t));
    info.add_row({kql::Value(kql::DateTime{c.created}), c.id, c.kind->title, c.kind->category, c.severity,
                  service_source(c.src), c.detection, mitre.dump()});
  }
}

} // namespace

std::shared_ptr<const kql::Catalog> TenantData::catalog() const {
  std::lock_guard guard(m_catalog_mutex);
  size_t count = 0;
  {
    std::shared_lock lock(mutex);
    count = incidents.size();
  }
  if (!m_catalog) {
    m_catalog = build_catalog(); // sets m_catalog_incidents
    return m_catalog;
  }
  if (count <= m_catalog_incidents) return m_catalog;
  // Incidents created by churn since: AlertInfo = the old rows (shared values copied) + theirs.
  auto old = m_catalog->find("AlertInfo");
  kql::TableBuilder info = alert_info_builder();
  info.reserve(old->row_count + (count - m_catalog_incidents) * 4);
  for (size_t r = 0; r < old->row_count; ++r) {
    std::vector<kql::Value> row;
    for (size_t c = 0; c < old->schema.size(); ++c) row.push_back(old->at(r, c));
    info.add_row(std::move(row));
  }
  {
    std::shared_lock lock(mutex);
    for (size_t i = m_catalog_incidents; i < incidents.size(); ++i) add_alert_info_rows(info, incidents[i]);
    m_catalog_incidents = incidents.size();
  }
  auto next = std::make_shared<kql::Catalog>();
  for (const auto& name : m_catalog->names())
    if (name != "AlertInfo") next->add(name, m_catalog->find(name));
  next->add("AlertInfo", info.build());
  m_catalog = next;
  return m_catalog;
}

std::shared_ptr<const kql::Catalog> TenantData::build_catalog() const {
  using kql::Type;
  using kql::Value;
  auto cat = std::make_shared<kql::Catalog>();
  auto dt = [](int64_t t) { return Value(kql::DateTime{t}); };
  auto opt = [](const OrderedJson& j) { return j.is_string() ? Value(j.get<std::string>()) : Value(); };
  auto cols = [](std::initializer_list<std::pair<const char*, Type>> l) {
    std::vector<kql::ColumnDef> out;
    for (const auto& [n, t] : l) out.push_back({n, t});
    return out;
  };
  const auto S = Type::string;
  const auto D = Type::datetime;
  const auto L = Type::int64;
  const auto I = Type::int32;
  const auto B = Type::boolean;
  const auto O = Type::dynamic;

  kql::TableBuilder info = alert_info_builder();
  kql::TableBuilder evidence(cols({{"Timestamp", D}, {"AlertId", S}, {"Title", S}, {"Categories", S},
                                   {"AttackTechniques", S}, {"ServiceSource", S}, {"DetectionSource", S},
                                   {"EntityType", S}, {"EvidenceRole", S}, {"EvidenceDirection", S}, {"FileName", S},
                                   {"FolderPath", S}, {"SHA1", S}, {"SHA256", S}, {"FileSize", L}, {"ThreatFamily", S},
                                   {"RemoteIP", S}, {"RemoteUrl", S}, {"AccountName", S}, {"AccountDomain", S},
                                   {"AccountSid", S}, {"AccountObjectId", S}, {"AccountUpn", S}, {"DeviceId", S},
                                   {"DeviceName", S}, {"LocalIP", S}, {"NetworkMessageId", S}, {"EmailSubject", S},
                                   {"Application", S}, {"ApplicationId", I}, {"OAuthApplicationId", S},
                                   {"ProcessCommandLine", S}, {"RegistryKey", S}, {"RegistryValueName", S},
                                   {"RegistryValueData", S}, {"AdditionalFields", O}, {"Severity", S}}));
  size_t evidence_alerts = 0;
  {
    std::shared_lock lock(mutex);
    m_catalog_incidents = incidents.size();
    for (const Incident& inc : incidents) {
      add_alert_info_rows(info, inc);
      // Evidence for the first 5,000 alerts keeps the table modest at 100,000 incidents.
      if (evidence_alerts >= 5000) continue;
      OrderedJson alerts = render_alerts(inc);
      for (const auto& a : alerts) {
        std::string techniques = a["mitreTechniques"].dump();
        std::string service = a["serviceSource"].get<std::string>();
        std::string detection = a["detectionSource"].get<std::string>();
        ++evidence_alerts;
        auto row = [&](const OrderedJson& e, const char* type, const char* role) {
          std::string device_id = a["devices"].empty() ? std::string() : a["devices"][0]["mdatpDeviceId"].get<std::string>();
          std::string device_name = a["devices"].empty() ? std::string() : a["devices"][0]["deviceDnsName"].get<std::string>();
          evidence.add_row({kql::DateTime{kql::parse_datetime(a["creationTime"].get<std::string>())->ticks},
                            a["alertId"].get<std::string>(), a["title"].get<std::string>(),
                            "[\"" + a["category"].get<std::string>() + "\"]", techniques, service, detection, type, role,
                            Value(), opt(e.value("fileName", OrderedJson())), opt(e.value("filePath", OrderedJson())),
                            opt(e.value("sha1", OrderedJson())), opt(e.value("sha256", OrderedJson())), Value(),
                            opt(a["threatFamilyName"]), opt(e.value("ipAddress", OrderedJson())),
                            opt(e.value("url", OrderedJson())), opt(e.value("accountName", OrderedJson())),
                            opt(e.value("domainName", OrderedJson())), opt(e.value("userSid", OrderedJson())),
                            opt(e.value("aadUserId", OrderedJson())), opt(e.value("userPrincipalName", OrderedJson())),
                            device_id.empty() ? Value() : Value(device_id),
                            device_name.empty() ? Value() : Value(device_name), Value(), Value(),
                            opt(e.value("subject", OrderedJson())), Value(), Value(), Value(),
                            opt(e.value("processCommandLine", OrderedJson())), Value(), Value(), Value(),
                            Value::dynamic(nlohmann::json::object()), a["severity"].get<std::string>()});
        };
        for (const auto& d : a["devices"]) {
          OrderedJson e = OrderedJson::object();
          (void)d;
          row(e, "Machine", "Impacted");
        }
        for (const auto& e : a["entities"]) {
          std::string type = e["entityType"].get<std::string>();
          const char* role = type == "User" || type == "MailBox" ? "Impacted" : "Related";
          row(e, type == "Process" ? "Process" : type == "File" ? "File" : type == "Ip" ? "Ip"
                 : type == "Url" ? "Url" : type == "MailBox" ? "Mailbox" : type == "MailMessage" ? "MailMessage" : "User",
              role);
        }
      }
    }
  }
  cat->add("AlertInfo", info.build());
  cat->add("AlertEvidence", evidence.build());

  // Event tables: a few hundred rows each over the device and user pools, within the last 30 days.
  int64_t now_t = ticks_of(m_now);
  std::vector<Device> devices = make_devices(m_seed, m_profile, now_t);
  std::vector<User> users = make_users(m_seed, m_profile);
  std::string domain = upper(m_profile.domain.substr(0, m_profile.domain.find('.')));
  util::DeterministicRng rng(m_seed, "defender/" + m_profile.tenant_id + "/events");
  auto when = [&] { return now_t - k_minute - static_cast<int64_t>(rng.below(static_cast<uint64_t>(30 * k_day - k_hour))); };
  auto report_id = [&] { return static_cast<int64_t>(rng.below(1'000'000)); };
  constexpr size_t k_rows = 400;
  static constexpr const char* procs[][2] = {{"powershell.exe", "powershell.exe -ExecutionPolicy Bypass -File c:\\temp\\inv.ps1"},
                                             {"cmd.exe", "cmd.exe /c whoami /all"}, {"rundll32.exe", "rundll32.exe shell32.dll,Control_RunDLL"},
                                             {"svchost.exe", "svchost.exe -k netsvcs -p"}, {"excel.exe", "\"EXCEL.EXE\" /dde"}};

  kql::TableBuilder proc(cols({{"Timestamp", D}, {"DeviceId", S}, {"DeviceName", S}, {"ActionType", S}, {"FileName", S},
                               {"FolderPath", S}, {"SHA1", S}, {"SHA256", S}, {"MD5", S}, {"FileSize", L},
                               {"ProcessId", L}, {"ProcessCommandLine", S}, {"ProcessIntegrityLevel", S},
                               {"ProcessTokenElevation", S}, {"ProcessCreationTime", D}, {"AccountDomain", S},
                               {"AccountName", S}, {"AccountSid", S}, {"AccountUpn", S}, {"AccountObjectId", S},
                               {"LogonId", L}, {"InitiatingProcessAccountName", S}, {"InitiatingProcessFileName", S},
                               {"InitiatingProcessCommandLine", S}, {"InitiatingProcessId", L},
                               {"InitiatingProcessParentFileName", S}, {"ReportId", L}, {"AdditionalFields", O}}));
  for (size_t i = 0; i < k_rows; ++i) {
    const Device& d = devices[rng.below(devices.size())];
    const User& u = users[rng.below(users.size())];
    const auto& p = procs[rng.below(5)];
    int64_t t = when();
    proc.add_row({dt(t), d.id, d.name, "ProcessCreated", p[0], std::string("C:\\Windows\\System32\\") + p[0],
                  hex(rng, 20), hex(rng, 32), hex(rng, 16), static_cast<int64_t>(10'000 + rng.below(5'000'000)),
                  static_cast<int64_t>(1000 + rng.below(30000)), p[1], "Medium", "Default", dt(t), domain, u.name,
                  u.sid, u.upn, u.aad_id, static_cast<int64_t>(rng.below(1'000'000)), u.name, "explorer.exe",
                  "explorer.exe", static_cast<int64_t>(500 + rng.below(500)), "userinit.exe", report_id(),
                  Value::dynamic(nlohmann::json::object())});
  }
  cat->add("DeviceProcessEvents", proc.build());

  kql::TableBuilder net(cols({{"Timestamp", D}, {"DeviceId", S}, {"DeviceName", S}, {"ActionType", S}, {"RemoteIP", S},
                              {"RemotePort", I}, {"RemoteUrl", S}, {"LocalIP", S}, {"LocalPort", I}, {"Protocol", S},
                              {"LocalIPType", S}, {"RemoteIPType", S}, {"InitiatingProcessFileName", S},
                              {"InitiatingProcessCommandLine", S}, {"InitiatingProcessAccountName", S}, {"ReportId", L},
                              {"InitiatingProcessSessionId", L}, {"IsInitiatingProcessRemoteSession", B},
                              {"AdditionalFields", O}}));
  static constexpr const char* urls[] = {"login.microsoftonline.com", "update.contoso-cdn.example", "pastebin.com",
                                         "secure-docs.example", "www.bing.com"};
  static constexpr const char* actions[] = {"ConnectionSuccess", "ConnectionFailed", "InboundConnectionAccepted"};
  for (size_t i = 0; i < k_rows; ++i) {
    const Device& d = devices[rng.below(devices.size())];
    const User& u = users[rng.below(users.size())];
    const auto& p = procs[rng.below(5)];
    std::string remote = std::to_string(20 + rng.below(180)) + "." + std::to_string(rng.below(256)) + "." +
                         std::to_string(rng.below(256)) + "." + std::to_string(1 + rng.below(254));
    net.add_row({dt(when()), d.id, d.name, pick(rng, actions), remote, static_cast<int32_t>(rng.below(2) ? 443 : 80),
                 pick(rng, urls), d.ip, static_cast<int32_t>(49152 + rng.below(16000)), "Tcp", "Private", "Public",
                 p[0], p[1], u.name, report_id(), static_cast<int64_t>(rng.below(4)), false,
                 Value::dynamic(nlohmann::json::object())});
  }
  cat->add("DeviceNetworkEvents", net.build());

  kql::TableBuilder logon(cols({{"Timestamp", D}, {"DeviceId", S}, {"DeviceName", S}, {"ActionType", S}, {"LogonType", S},
                                {"AccountDomain", S}, {"AccountName", S}, {"AccountSid", S}, {"Protocol", S},
                                {"FailureReason", S}, {"IsLocalAdmin", B}, {"LogonId", L}, {"RemoteDeviceName", S},
                                {"RemoteIP", S}, {"RemoteIPType", S}, {"RemotePort", I}, {"InitiatingProcessFileName", S},
                                {"ReportId", L}, {"AdditionalFields", O}}));
  static constexpr const char* logon_types[] = {"Interactive", "RemoteInteractive", "Network", "Batch", "Service"};
  for (size_t i = 0; i < k_rows; ++i) {
    const Device& d = devices[rng.below(devices.size())];
    const Device& r = devices[rng.below(devices.size())];
    const User& u = users[rng.below(users.size())];
    bool ok = rng.below(5) != 0;
    logon.add_row({dt(when()), d.id, d.name, ok ? "LogonSuccess" : "LogonFailed", pick(rng, logon_types), domain,
                   u.name, u.sid, rng.below(2) ? "Kerberos" : "NTLM", ok ? Value() : Value("InvalidUserNameOrPassword"),
                   rng.below(6) == 0, static_cast<int64_t>(rng.below(1'000'000)), r.name, r.ip, "Private",
                   static_cast<int32_t>(49152 + rng.below(16000)), "lsass.exe", report_id(),
                   Value::dynamic(nlohmann::json::object())});
  }
  cat->add("DeviceLogonEvents", logon.build());

  kql::TableBuilder file(cols({{"Timestamp", D}, {"DeviceId", S}, {"DeviceName", S}, {"ActionType", S}, {"FileName", S},
                               {"FolderPath", S}, {"SHA1", S}, {"SHA256", S}, {"MD5", S}, {"FileSize", L},
                               {"InitiatingProcessAccountName", S}, {"InitiatingProcessFileName", S},
                               {"InitiatingProcessCommandLine", S}, {"InitiatingProcessFolderPath", S}, {"ReportId", L},
                               {"AdditionalFields", O}}));
  static constexpr const char* file_actions[] = {"FileCreated", "FileModified", "FileDeleted", "FileRenamed"};
  static constexpr const char* files[] = {"invoice.docm", "report.xlsx", "update.exe", "notes.txt", "payload.dll"};
  for (size_t i = 0; i < k_rows; ++i) {
    const Device& d = devices[rng.below(devices.size())];
    const User& u = users[rng.below(users.size())];
    const auto& p = procs[rng.below(5)];
    file.add_row({dt(when()), d.id, d.name, pick(rng, file_actions), pick(rng, files),
                  "C:\\Users\\" + u.name + "\\Downloads", hex(rng, 20), hex(rng, 32), hex(rng, 16),
                  static_cast<int64_t>(1'000 + rng.below(9'000'000)), u.name, p[0], p[1], "C:\\Windows\\System32",
                  report_id(), Value::dynamic(nlohmann::json::object())});
  }
  cat->add("DeviceFileEvents", file.build());

  kql::TableBuilder email(cols({{"Timestamp", D}, {"NetworkMessageId", S}, {"InternetMessageId", S},
                                {"SenderMailFromAddress", S}, {"SenderFromAddress", S}, {"SenderDisplayName", S},
                                {"SenderObjectId", S}, {"SenderMailFromDomain", S}, {"SenderFromDomain", S},
                                {"SenderIPv4", S}, {"SenderIPv6", S}, {"RecipientEmailAddress", S},
                                {"RecipientObjectId", S}, {"Subject", S}, {"EmailClusterId", L}, {"EmailDirection", S},
                                {"DeliveryAction", S}, {"DeliveryLocation", S}, {"ThreatTypes", S}, {"ThreatNames", S},
                                {"DetectionMethods", S}, {"ConfidenceLevel", S}, {"BulkComplaintLevel", I},
                                {"EmailAction", S}, {"EmailActionPolicy", S}, {"EmailActionPolicyGuid", S},
                                {"AuthenticationDetails", S}, {"AttachmentCount", I}, {"UrlCount", I},
                                {"EmailLanguage", S}, {"Connectors", S}, {"OrgLevelAction", S}, {"OrgLevelPolicy", S},
                                {"UserLevelAction", S}, {"UserLevelPolicy", S}, {"ReportId", S},
                                {"AdditionalFields", O}, {"LatestDeliveryLocation", S}, {"LatestDeliveryAction", S}}));
  static constexpr const char* senders[] = {"billing@invoices-online.example", "news@contoso-news.example",
                                            "hr@partner.example", "noreply@secure-docs.example"};
  static constexpr const char* subjects[] = {"Invoice overdue", "Weekly newsletter", "Benefits update",
                                             "Your document is ready"};
  for (size_t i = 0; i < k_rows; ++i) {
    const User& u = users[rng.below(users.size())];
    std::string sender = pick(rng, senders);
    std::string sdomain = sender.substr(sender.find('@') + 1);
    uint64_t threat = rng.below(4);
    std::string action = threat == 0 ? "Blocked" : threat == 1 ? "Junked" : "Delivered";
    std::string nmid = rng.guid();
    email.add_row({dt(when()), nmid, "<" + hex(rng, 8) + "@" + sdomain + ">", sender, sender, sdomain, Value(),
                   sdomain, sdomain, std::to_string(40 + rng.below(150)) + "." + std::to_string(rng.below(256)) + ".1." +
                       std::to_string(rng.below(256)),
                   Value(), u.upn, u.aad_id, pick(rng, subjects), static_cast<int64_t>(rng.below(1'000'000'000)),
                   "Inbound", action, threat == 0 ? "Quarantine" : threat == 1 ? "Junk folder" : "Inbox/folder",
                   threat == 0 ? Value("Phish") : threat == 1 ? Value("Spam") : Value(), Value(),
                   threat <= 1 ? Value("[\"URL detonation\"]") : Value(), threat <= 1 ? Value("High") : Value(),
                   static_cast<int32_t>(rng.below(10)), Value(), Value(), Value(),
                   "{\"SPF\":\"pass\",\"DKIM\":\"pass\",\"DMARC\":\"pass\"}", static_cast<int32_t>(rng.below(3)),
                   static_cast<int32_t>(rng.below(5)), "en", Value(), Value(), Value(), Value(), Value(),
                   nmid + "-" + digits(rng, 12), Value::dynamic(nlohmann::json::object()),
                   threat == 0 ? "Quarantine" : threat == 1 ? "Junk folder" : "Inbox/folder", action});
  }
  cat->add("EmailEvents", email.build());

  kql::TableBuilder ident(cols({{"Timestamp", D}, {"ActionType", S}, {"Application", S}, {"LogonType", S},
                                {"Protocol", S}, {"FailureReason", S}, {"AccountName", S}, {"AccountDomain", S},
                                {"AccountUpn", S}, {"AccountSid", S}, {"AccountObjectId", S}, {"AccountDisplayName", S},
                                {"DeviceName", S}, {"DeviceType", S}, {"OSPlatform", S}, {"IPAddress", S}, {"Port", I},
                                {"DestinationDeviceName", S}, {"DestinationIPAddress", S}, {"DestinationPort", I},
                                {"TargetDeviceName", S}, {"TargetAccountDisplayName", S}, {"Location", S}, {"Isp", S},
                                {"ReportId", S}, {"AdditionalFields", O}}));
  static constexpr const char* apps[] = {"Active Directory", "Microsoft 365", "Microsoft Teams", "Office 365"};
  static constexpr const char* locations[] = {"US", "DE", "GB", "NL", "BR"};
  for (size_t i = 0; i < k_rows; ++i) {
    const User& u = users[rng.below(users.size())];
    const Device& d = devices[rng.below(devices.size())];
    const Device& dc = devices[rng.below(devices.size())];
    bool ok = rng.below(5) != 0;
    std::string app = pick(rng, apps);
    bool ad = app == "Active Directory";
    ident.add_row({dt(when()), ok ? "LogonSuccess" : "LogonFailed", app, ad ? "Resource access" : "Login:login",
                   ad ? Value("Kerberos") : Value(), ok ? Value() : Value("WrongPassword"), u.name, domain, u.upn,
                   u.sid, u.aad_id, u.display, d.name, "Desktop", d.os, d.ip,
                   static_cast<int32_t>(49152 + rng.below(16000)), ad ? Value(dc.name) : Value(),
                   ad ? Value(dc.ip) : Value(), ad ? Value(static_cast<int32_t>(88)) : Value(), Value(), Value(),
                   pick(rng, locations), "Contoso Telecom", rng.guid(), Value::dynamic(nlohmann::json::object())});
  }
  cat->add("IdentityLogonEvents", ident.build());
  return cat;
}

// ---- the store ----

std::shared_ptr<TenantData> DefenderDataStore::get(uint64_t seed, const TenantProfile& profile, util::TimePoint now) {
  std::lock_guard lock(m_mutex);
  auto& slot = m_tenants[profile.tenant_id];
  if (!slot) slot = std::make_shared<TenantData>(seed, profile, now, m_budget);
  return slot;
}

// ---- $filter ----

Result<IncidentPredicate> parse_incident_filter(std::string_view text) {
  static const std::vector<ODataField> fields = {
      {"lastUpdateTime", ODataKind::datetime, {}},
      {"createdTime", ODataKind::datetime, {}},
      {"status", ODataKind::enumeration, {"Active", "InProgress", "Resolved", "Redirected"}},
      {"assignedTo", ODataKind::string, {}},
  };
  XDR_TRY_ASSIGN(auto filter, parse_odata_filter(text, fields, ODataSyntax::defender()));
  return IncidentPredicate([filter = std::move(filter)](const Incident& i) {
    return filter.matches([&i](size_t field) -> ODataOperand {
      switch (field) {
        case 0: return {std::nullopt, i.last_update};
        case 1: return {std::nullopt, i.created};
        case 2: {
          const auto& members = fields[2].members;
          return {std::nullopt, std::find(members.begin(), members.end(), i.status) - members.begin()};
        }
        default: return {i.assigned_to, 0};
      }
    });
  });
}

} // namespace xdr::emulator
