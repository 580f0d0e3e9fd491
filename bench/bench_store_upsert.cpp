// The store's incident upsert rate (issue 5) next to the raw SQLite rate of the same rows.
//
// 1. SqliteStore::upsert_incidents: T tenants x N incidents (2 alerts each, with 1 device and 2 entities),
//    in pages of 100, each page one transaction that also advances the watermark, as sync does.
// 2. Raw SQLite: the very rows step 1 wrote (read back, untimed), inserted into a fresh file with the same
//    schema by cached "INSERT OR REPLACE ... VALUES (?, ...)" statements, one transaction per page's rows:
//    no model conversion, no child replacement, no tenant checks.
// Target: the store at >= 50% of the raw rate. Peak resident memory is printed too.
//
// Not part of ctest. Usage: bench_store_upsert [tenants, default 20] [incidents per tenant, default 1000]

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <xdr/store/sqlite_store.hpp>

#include "raw_sqlite_upsert.hpp"

namespace {

using namespace xdr;
using Clock = std::chrono::steady_clock;
constexpr size_t k_page = 100;
constexpr int64_t k_t0 = 1'767'225'600;

api::Incident make_incident(const std::string& tenant, int64_t id) {
  api::Incident i;
  i.incident_id = std::to_string(id);
  i.tenant_id = tenant;
  i.incident_name = "Multi-stage incident involving Execution & Defense evasion on one endpoint";
  i.incident_web_url = "https://security.microsoft.com/incidents/" + i.incident_id;
  i.created_time = util::from_unix(k_t0 + id);
  i.last_update_time = util::from_unix(k_t0 + id + 60);
  i.assigned_to = "secops@contoso.com";
  i.severity = id % 2 ? api::Severity::high : api::Severity::medium;
  i.determination = api::Determination::malware;
  i.detection_source = "MicrosoftDefenderForEndpoint";
  i.tags = {"ransomware"};
  i.comments = {{"triaged", "analyst@contoso.com", util::from_unix(k_t0 + id + 30)}};
  for (int k = 0; k < 2; ++k) {
    api::Alert a;
    a.alert_id = "da" + i.incident_id + "_" + std::to_string(k);
    a.incident_id = i.incident_id;
    a.service_source = "MicrosoftDefenderForEndpoint";
    a.detection_source = "EDR";
    a.detector_id = "7f1c3609-a3ff-40e2-995b-c01770161d68";
    a.title = "Suspicious PowerShell command line";
    a.description = "A suspicious PowerShell activity was observed on the machine.";
    a.category = "Execution";
    a.severity = api::Severity::medium;
    a.investigation_id = id;
    a.investigation_state = "Running";
    a.mitre_techniques = {"T1059.001"};
    a.creation_time = i.created_time;
    a.last_updated_time = i.last_update_time;
    api::Device d;
    d.mdatp_device_id = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12";
    d.device_dns_name = "pc" + std::to_string(id % 500) + ".contoso.local";
    d.os_platform = "Windows10";
    d.version = "22H2";
    d.os_processor = "x64";
    d.os_build = 19045;
    d.health_status = "Active";
    d.risk_score = "High";
    a.devices.push_back(d);
    api::Entity user;
    user.entity_type = "User";
    user.account_name = "jdoe";
    user.domain_name = "CONTOSO";
    a.entities.push_back(user);
    api::Entity process;
    process.entity_type = "Process";
    process.file_name = "powershell.exe";
    process.process_id = 4242;
    process.process_command_line = "powershell -enc SQBFAFgA";
    a.entities.push_back(process);
    i.alerts.push_back(std::move(a));
  }
  return i;
}

std::string tenant_id(size_t t) {
  char id[64];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", t);
  return id;
}

long peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

} // namespace

int main(int argc, char** argv) {
  const size_t tenants = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20;
  const size_t per_tenant = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1000;
  const auto dir = std::filesystem::temp_directory_path() / ("bench-store-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string store_path = (dir / "store.db").string();
  const std::string raw_path = (dir / "raw.db").string();

  // 1. The store.
  auto opened = store::SqliteStore::open(store_path);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().message.c_str());
    return 1;
  }
  auto& db = **opened;
  std::vector<store::Tenant> registry;
  for (size_t t = 0; t < tenants; ++t) registry.push_back({tenant_id(t), "tenant " + std::to_string(t)});
  if (!db.add_tenants(registry, store::OnExisting::fail)) return 1;
  double store_seconds = 0;
  for (size_t t = 0; t < tenants; ++t) {
    for (size_t first = 0; first < per_tenant; first += k_page) {
      std::vector<api::Incident> page;
      for (size_t k = first; k < std::min(per_tenant, first + k_page); ++k)
        page.push_back(make_incident(tenant_id(t), static_cast<int64_t>(k + 1)));
      const auto watermark = page.back().last_update_time;
      const auto start = Clock::now();
      auto r = db.upsert_incidents(tenant_id(t), "legacy", page, watermark);
      store_seconds += std::chrono::duration<double>(Clock::now() - start).count();
      if (!r) {
        std::fprintf(stderr, "%s\n", r.error().message.c_str());
        return 1;
      }
    }
  }
  opened->reset();

  // 2. Raw SQLite: the same rows, read back untimed, into a fresh file with the same schema.
  auto raw = bench::raw_sqlite_upsert(store_path, raw_path, k_page);
  if (!raw) {
    std::fprintf(stderr, "cannot open %s or %s\n", store_path.c_str(), raw_path.c_str());
    return 1;
  }
  const size_t incidents = raw->incidents;
  const double store_rate = static_cast<double>(incidents) / store_seconds;
  const double raw_rate = raw->rate();
  std::printf("store upsert of %zu tenants x %zu incidents (%zu alerts, pages of %zu)\n", tenants, per_tenant,
              raw->alerts, k_page);
  std::printf("%-34s %12s\n", "", "incidents/s");
  std::printf("%-34s %12.0f\n", "SqliteStore::upsert_incidents", store_rate);
  std::printf("%-34s %12.0f\n", "raw SQLite, same rows", raw_rate);
  std::printf("ratio %.2f (target >= 0.50), peak RSS %ld MB\n", store_rate / raw_rate, peak_rss_mb());
  std::filesystem::remove_all(dir);
  return 0;
}
