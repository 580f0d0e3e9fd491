// Fan-out hunting over many tenants (issue 5, performance): `xdrpartner hunt --all-tenants` (run in-process
// through xdr::cli::run, so the real fan-out, per-tenant budgets, retry pipelines and token fetches) against
// the real xdr-emulator with T consented tenants of small data, every Defender API call delayed by the
// emulator (a `delay_ms` fault rule on route `api`). For each concurrency C:
//   token time = the same run without the delay (tokens, TLS, the query itself; the faster of two);
//   ideal      = ceil(T / C) x latency + token time;
//   ratio      = wall time / ideal: target <= 1.25.
// Every run must return one row per tenant and exit 0. Not part of ctest.
//
// Usage: bench_fanout_hunt [--emulator PATH] [--tenants N] [--concurrency 16,64,128] [--latency-ms 100]
// The emulator defaults to ../src/emulator/xdr-emulator next to this program's build folder.

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <cli/cli.hpp>
#include <xdr/store/sqlite_store.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

#include "emulator_process.hpp"

namespace {

using xdr::bench::Clock;
using xdr::bench::EmulatorProcess;
namespace fs = std::filesystem;

struct Options {
  std::string emulator;
  int tenants = 1000;
  std::vector<int> concurrency{16, 64, 128};
  int latency_ms = 100;
};

Options parse_options(int argc, char** argv) {
  Options o;
  o.emulator = xdr::bench::default_emulator_path();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--emulator") o.emulator = value();
    else if (a == "--tenants") o.tenants = std::stoi(value());
    else if (a == "--concurrency") o.concurrency = xdr::bench::parse_list(value());
    else if (a == "--latency-ms") o.latency_ms = std::stoi(value());
    else throw std::runtime_error("unknown option " + a + "; use --emulator, --tenants, --concurrency, --latency-ms");
  }
  if (o.tenants < 1 || o.concurrency.empty() || o.latency_ms < 0)
    throw std::runtime_error("bad --tenants, --concurrency or --latency-ms");
  for (int c : o.concurrency)
    if (c < 1 || c > 1024) throw std::runtime_error("--concurrency values must be within 1..1024");
  return o;
}

// Small data per tenant: the scenario's tenants get 2 incidents each (AlertInfo then has a few rows).
void shrink_data(const std::string& scenario_path) {
  std::ifstream in(scenario_path);
  xdr::Json scenario = xdr::Json::parse(in);
  for (auto& t : scenario["tenants"]) t["data"] = {{"incidents", 2}};
  std::ofstream(scenario_path) << scenario.dump();
}

struct RunResult {
  double seconds = 0;
  size_t rows = 0;
  int code = -1;
  std::string err;
};

// One `xdrpartner hunt --all-tenants` in-process; ndjson rows counted from standard output.
RunResult run_hunt(const EmulatorProcess& emu, const std::string& db, const std::string& client_id,
                   const std::string& secret, int concurrency) {
  std::istringstream in;
  std::ostringstream out, err;
  const std::string url = emu.url();
  xdr::cli::CliIo io{in, out, err, [secret, url](std::string_view name) -> std::optional<std::string> {
                       if (name == "AZURE_CLIENT_SECRET") return secret;
                       if (name == "XDR_API_BASE") return url;
                       return std::nullopt;
                     }};
  io.is_terminal = [](int) { return false; };
  const std::vector<std::string> args = {"--db", db, "--no-cache-file", "--authority-host", url, "--ca-file", emu.ca_file(),
                                         "--client-id", client_id, "--output", "ndjson", "hunt", "--all-tenants",
                                         "--concurrency", std::to_string(concurrency), "AlertInfo | take 1"};
  RunResult r;
  const auto t0 = Clock::now();
  r.code = xdr::cli::run(args, io);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string text = out.str();
  for (char c : text) r.rows += c == '\n';
  r.err = err.str();
  return r;
}

void control(const EmulatorProcess& emu, const std::string& method, const std::string& path, const std::string& body) {
  const std::string cmd = "curl -sS --fail --cacert '" + emu.ca_file() + "' -X " + method +
                          " -H 'content-type: application/json' " + (body.empty() ? "" : "-d '" + body + "' ") + "'" +
                          emu.url() + path + "' >/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("the emulator's control API refused " + method + " " + path);
}

int run(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  if (access(opt.emulator.c_str(), X_OK) != 0)
    throw std::runtime_error("no xdr-emulator at " + opt.emulator + "; build it or pass --emulator PATH");
  std::cout << "bench_fanout_hunt: " << opt.tenants << " tenants, " << opt.latency_ms << " ms per API call, "
            << opt.emulator << "\n";

  char tmpl[] = "/tmp/xdr-bench-fanout-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
  fs::path dir = tmpl;
  const std::string client_id = xdr::crypto::random_guid();
  const std::string secret = xdr::util::base64url_encode(xdr::crypto::random_bytes(30));
  std::vector<std::string> tenant_ids;
  const std::string scenario = xdr::bench::write_scenario(dir, opt.tenants, client_id, tenant_ids);
  shrink_data(scenario);

  // The registry: every tenant enabled.
  const std::string db = (dir / "partner.db").string();
  {
    auto store = xdr::store::SqliteStore::open(db);
    if (!store) throw std::runtime_error(store.error().message);
    std::vector<xdr::store::Tenant> tenants;
    for (size_t i = 0; i < tenant_ids.size(); ++i) {
      xdr::store::Tenant t;
      t.tenant_id = tenant_ids[i];
      t.name = "Bench Customer " + std::to_string(i);
      tenants.push_back(std::move(t));
    }
    if (auto added = (*store)->add_tenants(tenants, xdr::store::OnExisting::fail); !added)
      throw std::runtime_error(added.error().message);
  }

  struct Row {
    int concurrency;
    double token_s, ideal_s, wall_s;
  };
  std::vector<Row> rows;
  {
    EmulatorProcess emu(opt.emulator, dir, scenario, secret);
    // The tenants' data is generated on first use: one warm-up run makes it, so it is not timed.
    std::cout << "warm-up ..." << std::flush;
    RunResult warm = run_hunt(emu, db, client_id, secret, opt.concurrency.back());
    if (warm.code != 0) throw std::runtime_error("the warm-up run failed (exit " + std::to_string(warm.code) + "): " + warm.err);
    std::cout << " done\n";
    for (int c : opt.concurrency) {
      control(emu, "DELETE", "/_emulator/faults", "");
      std::cout << "C=" << c << ": without delay ..." << std::flush;
      // The faster of two runs, so a stall (a connection the emulator was slow to accept) does not widen the ideal.
      RunResult base = run_hunt(emu, db, client_id, secret, c);
      RunResult again = run_hunt(emu, db, client_id, secret, c);
      if (again.code == 0 && again.seconds < base.seconds) base = std::move(again);
      control(emu, "POST", "/_emulator/faults",
                "{\"route\":\"api\",\"count\":-1,\"delay_ms\":" + std::to_string(opt.latency_ms) + "}");
      std::cout << " with " << opt.latency_ms << " ms ..." << std::flush;
      RunResult slow = run_hunt(emu, db, client_id, secret, c);
      if (getenv("XDR_BENCH_DEBUG")) std::cerr << slow.err;
      std::cout << " done\n";
      for (const RunResult* r : {&base, &slow})
        if (r->code != 0 || r->rows != tenant_ids.size())
          throw std::runtime_error("a run over " + std::to_string(tenant_ids.size()) + " tenants gave " +
                                   std::to_string(r->rows) + " rows, exit " + std::to_string(r->code) + ": " +
                                   r->err.substr(0, 2000));
      const double waves = std::ceil(static_cast<double>(opt.tenants) / c);
      rows.push_back({c, base.seconds, waves * opt.latency_ms / 1000.0 + base.seconds, slow.seconds});
    }
  }
  fs::remove_all(dir);

  std::printf("\n%8s %8s %10s %10s %10s %8s\n", "tenants", "C", "token s", "ideal s", "wall s", "ratio");
  for (const auto& r : rows)
    std::printf("%8d %8d %10.2f %10.2f %10.2f %7.2fx\n", opt.tenants, r.concurrency, r.token_s, r.ideal_s, r.wall_s,
                r.wall_s / r.ideal_s);
  std::printf("\nideal = ceil(T/C) x %d ms + token time (the same run without the delay); target ratio <= 1.25x.\n",
              opt.latency_ms);
  bool ok = true;
  for (const auto& r : rows) ok = ok && r.wall_s / r.ideal_s <= 1.25;
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_fanout_hunt: " << e.what() << "\n";
    return 2;
  }
}
