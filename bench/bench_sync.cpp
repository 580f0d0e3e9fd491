// Fleet sync (issue 5): T tenants x N incidents served by a real xdr-emulator process, synced into SQLite through
// the real stack (AuthClient tokens, the HTTP pipeline over libcurl, IncidentsClient pages, ApiIncidentFeed,
// sync_all's fan-out, SqliteStore upserts with the watermark), then the raw SQLite upsert rate of the very rows
// stored, measured in the same run (bench/raw_sqlite_upsert.hpp, shared with bench_store_upsert).
// Prints incidents/s of both, their ratio (target >= 50%), and the sync's peak resident memory (VmHWM, read
// before the raw step; target <= 300 MB and not growing with N).
//
// The emulator's lazy data generation and each tenant's first token are paid in an untimed warm-up request.
// Not part of ctest. Usage:
//   bench_sync [--tenants 1000] [--incidents 1000] [--concurrency N] [--page-size 100] [--emulator PATH]

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include <xdr/auth/auth_client.hpp>
#include <xdr/auth/credential.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/http/pipeline.hpp>
#include <xdr/store/sqlite_store.hpp>
#include <xdr/sync/api_feed.hpp>
#include <xdr/sync/sync_engine.hpp>
#include <xdr/util/base64.hpp>

#include "emulator_process.hpp"
#include "raw_sqlite_upsert.hpp"

namespace {

using namespace xdr;
namespace fs = std::filesystem;

struct Options {
  int tenants = 1000;
  int incidents = 1000;
  size_t concurrency = 0;
  int page_size = 100;
  std::string emulator;
};

Options parse_options(int argc, char** argv) {
  Options o;
  o.emulator = xdr::bench::default_emulator_path();
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--tenants") o.tenants = std::stoi(value());
    else if (a == "--incidents") o.incidents = std::stoi(value());
    else if (a == "--concurrency") o.concurrency = static_cast<size_t>(std::stoul(value()));
    else if (a == "--page-size") o.page_size = std::stoi(value());
    else if (a == "--emulator") o.emulator = value();
    else throw std::runtime_error("unknown option " + a + "; use --tenants, --incidents, --concurrency, --page-size, --emulator");
  }
  if (o.tenants < 1 || o.incidents < 1 || o.incidents > 100000) throw std::runtime_error("--tenants >= 1, --incidents 1..100000");
  return o;
}

// VmHWM (peak resident set) of this process in MB.
double peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

int run(const Options& opt) {
  if (access(opt.emulator.c_str(), X_OK) != 0)
    throw std::runtime_error("no xdr-emulator at " + opt.emulator + "; build it or pass --emulator PATH");
  char tmpl[] = "/tmp/xdr-bench-sync-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
  const fs::path dir = tmpl;

  // The scenario: T consented tenants with N incidents each; quotas raised so the emulator never throttles
  // (the client still keeps each tenant within its documented 50 calls per minute).
  const std::string client_id = crypto::random_guid();
  const std::string secret = util::base64url_encode(crypto::random_bytes(30));
  std::vector<std::string> tenant_ids;
  const std::string scenario_path = bench::write_scenario(dir, opt.tenants, client_id, tenant_ids);
  Json scenario = Json::parse(std::ifstream(scenario_path));
  for (auto& t : scenario["tenants"]) t["data"] = {{"incidents", opt.incidents}};
  scenario["quotas"] = {{"incidents_per_minute", 1000000}, {"incidents_per_hour", 10000000}};
  std::ofstream(scenario_path) << scenario.dump();
  std::cout << "starting " << opt.emulator << " with " << opt.tenants << " tenants x " << opt.incidents
            << " incidents ..." << std::flush;
  bench::EmulatorProcess emu(opt.emulator, dir, scenario_path, secret);
  std::cout << " " << emu.url() << "\n";

  http::PipelineOptions po;
  po.transport.ca_file = emu.ca_file();
  auto transport = http::make_pipeline(po);
  auth::AuthClientOptions ao;
  ao.authority_host = emu.url();
  auto auth = auth::AuthClient::create(std::make_shared<auth::ClientSecretCredential>(client_id, auth::Secret(secret)),
                                       transport, ao);
  if (!auth) throw std::runtime_error("AuthClient: " + auth.error().message);

  const std::string store_path = (dir / "sync.db").string();
  auto db = store::SqliteStore::open(store_path);
  if (!db) throw std::runtime_error(db.error().message);
  std::vector<store::Tenant> registry;
  for (size_t i = 0; i < tenant_ids.size(); ++i) registry.push_back({tenant_ids[i], "Bench Customer " + std::to_string(i)});
  if (auto added = (*db)->add_tenants(registry, store::OnExisting::fail); !added) throw std::runtime_error(added.error().message);

  sync::ApiFeedOptions fo;
  fo.dialect = api::Dialect::legacy;
  fo.endpoints = api::resolve_endpoints(auth::Cloud::global, api::Region::none, {emu.url(), emu.url()}).value();
  fo.transport = transport;
  fo.page_size = opt.page_size;
  auth::AuthClient& client = **auth;
  fo.tokens = [&client](const std::string& tenant, const std::string& resource) -> Result<std::string> {
    auto token = client.get_token(tenant, resource);
    if (!token) return fail(token.error());
    return std::string(token->value().reveal());
  };
  sync::ApiIncidentFeed feed(fo);
  sync::SyncAllOptions so;
  so.fan_out.concurrency = opt.concurrency;
  fleet::CancelToken cancel;

  // Warm-up, untimed: the emulator generates a tenant's incidents on its first read, and the first call of a
  // tenant gets its token; one $top=1 request per tenant pays for both, so the timed run measures the sync.
  std::vector<fleet::TenantRef> refs;
  for (const auto& t : registry) refs.push_back({t.tenant_id, t.name});
  fleet::FanOutOptions warm_options;
  warm_options.concurrency = opt.concurrency;
  auto warm = fleet::fan_out(
      refs,
      [&](const fleet::TenantRef& t, fleet::TenantScope&) -> Result<fleet::Outcome> {
        api::ClientOptions co;
        co.tenant = t.tenant_id;
        co.endpoints = fo.endpoints;
        co.budget = feed.budget();
        api::IncidentsClient warm_client(transport, [&](const std::string& r) { return fo.tokens(t.tenant_id, r); }, co);
        api::ListOptions lo;
        lo.limit = 1;
        XDR_TRY(warm_client.list(lo, [](std::vector<api::Incident>&) { return true; }));
        return fleet::Outcome{};
      },
      warm_options, cancel, {});
  if (warm.count(fleet::EnvelopeStatus::ok) != warm.total) throw std::runtime_error("the warm-up failed for some tenants");

  const auto start = std::chrono::steady_clock::now();
  auto summary = sync::sync_all(**db, feed, so, cancel, {});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!summary) throw std::runtime_error(summary.error().message);
  const double sync_peak = peak_rss_mb();
  db->reset();
  if (summary->count(fleet::EnvelopeStatus::ok) != summary->total)
    throw std::runtime_error(std::to_string(summary->failed()) + " tenant(s) failed to sync");

  auto raw = bench::raw_sqlite_upsert(store_path, (dir / "raw.db").string(), static_cast<size_t>(opt.page_size));
  if (!raw) throw std::runtime_error("cannot open the store for the raw step");
  const double sync_rate = static_cast<double>(summary->rows) / seconds;
  std::printf("sync of %d tenants x %d incidents (%zu incidents, %zu alerts stored; concurrency %zu, pages of %d)\n",
              opt.tenants, opt.incidents, raw->incidents, raw->alerts,
              opt.concurrency ? opt.concurrency : fleet::default_concurrency(), opt.page_size);
  std::printf("%-44s %12s %10s\n", "", "incidents/s", "seconds");
  std::printf("%-44s %12.0f %10.2f\n", "xdrpartner sync (emulator -> SQLite)", sync_rate, seconds);
  std::printf("%-44s %12.0f %10.2f\n", "raw SQLite upsert, same rows", raw->rate(), raw->seconds);
  std::printf("ratio %.2f (target >= 0.50); sync peak RSS (VmHWM) %.0f MB (target <= 300 MB)\n", sync_rate / raw->rate(),
              sync_peak);
  fs::remove_all(dir);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sync: %s\n", e.what());
    return 1;
  }
}
