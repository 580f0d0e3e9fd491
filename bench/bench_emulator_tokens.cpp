// Emulator token throughput and memory (issue 2, section 4). Not part of ctest: `make bench`.
//
// Starts the real xdr-emulator binary with a generated scenario of 10,000 tenants, then:
//   1. measures RSA-2048 signing on this machine with `openssl speed` (1 core and -multi 2);
//   2. issues v2 client-credential tokens (secret auth) over HTTPS from concurrent keep-alive
//      clients and prints tokens/s, p50/p99 latency, the emulator's CPU use, and the ratio of
//      tokens/s to (per-core signing rate x cores the emulator used): target >= 70%;
//   3. reads the emulator's VmRSS after start and after the token phases: target <= 200 MB.
//
// Usage: bench_emulator_tokens [--emulator PATH] [--tenants N] [--seconds S] [--clients 8,32]
// The emulator defaults to ../src/emulator/xdr-emulator next to this program's build folder.

#include <signal.h>
#include <spawn.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "emulator_process.hpp"

#include <xdr/crypto/crypto.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using xdr::bench::EmulatorProcess;
using xdr::bench::run_command;
using xdr::bench::write_scenario;
constexpr const char* k_scope = "https://api.security.microsoft.com/.default";
constexpr double k_target_ratio = 0.70;
constexpr double k_target_rss_mb = 200.0;

struct Options {
  std::string emulator;
  int tenants = 10000;
  double seconds = 3.0;
  std::vector<int> clients = {8, 32};
};

struct SignRates {
  double one_core = 0;  // sign/s, `openssl speed rsa2048`: the mean of the runs before and after
  double one_core_before = 0;
  double one_core_after = 0;
  double all_cores = 0; // sign/s, `openssl speed -multi N rsa2048`
  int multi = 2;
};

struct PhaseResult {
  int clients = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double emulator_cores = 0; // CPU seconds of the emulator per wall second
};


// The sign/s column of the last "rsa 2048 bits" line of `openssl speed` output; nullopt if absent.
std::optional<double> parse_sign_rate(const std::string& output) {
  std::optional<double> rate;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t at = line.find("rsa 2048 bits");
    if (at == std::string::npos) at = line.find("rsa  2048 bits");
    if (at == std::string::npos) continue;
    std::istringstream fields(line.substr(line.find("bits", at) + 4));
    std::string sign_time, verify_time;
    double sign_per_s = 0;
    if (fields >> sign_time >> verify_time >> sign_per_s) rate = sign_per_s;
  }
  return rate;
}

std::optional<double> measure_one_core() {
  return parse_sign_rate(run_command("openssl speed -seconds 3 rsa2048 2>/dev/null"));
}

SignRates measure_signing() {
  SignRates r;
  r.multi = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::cout << "openssl speed -seconds 3 rsa2048 ..." << std::flush;
  auto one = measure_one_core();
  std::cout << " -multi " << r.multi << " ..." << std::flush;
  auto all = parse_sign_rate(
      run_command("openssl speed -seconds 3 -multi " + std::to_string(r.multi) + " rsa2048 2>/dev/null"));
  std::cout << " done\n";
  if (!one || !all) throw std::runtime_error("could not parse `openssl speed rsa2048` output (is openssl on PATH?)");
  r.one_core = r.one_core_before = r.one_core_after = *one;
  r.all_cores = *all;
  return r;
}


// `clients` threads, each with one keep-alive TLS connection, ask for tokens for `seconds`.
PhaseResult run_phase(const EmulatorProcess& emu, int clients, double seconds, const std::string& client_id,
                      const std::string& secret, const std::vector<std::string>& tenant_ids) {
  std::atomic<bool> measuring{false};
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::vector<uint64_t> failures(static_cast<size_t>(clients), 0);
  std::string common = "grant_type=client_credentials&client_id=" + client_id + "&client_secret=" +
                       xdr::util::form_encode(secret) + "&scope=" + xdr::util::form_encode(k_scope);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::SSLClient cli(emu.host(), emu.port());
      cli.set_ca_cert_path(emu.ca_file().c_str());
      cli.enable_server_certificate_verification(true);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_read_timeout(10, 0);
      auto& lat = latencies[static_cast<size_t>(c)];
      lat.reserve(100000);
      size_t next = static_cast<size_t>(c) * 7919;
      while (!stop.load(std::memory_order_relaxed)) {
        const std::string& tid = tenant_ids[next++ % tenant_ids.size()];
        auto t0 = Clock::now();
        auto res = cli.Post(("/" + tid + "/oauth2/v2.0/token").c_str(), common, "application/x-www-form-urlencoded");
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        bool ok = res && res->status == 200 && res->body.find("\"access_token\"") != std::string::npos;
        if (!measuring.load(std::memory_order_relaxed)) continue;
        if (ok) lat.push_back(ms);
        else ++failures[static_cast<size_t>(c)];
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700)); // connect and warm up
  double cpu0 = emu.cpu_seconds();
  auto t0 = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu1 = emu.cpu_seconds();
  stop = true;
  for (auto& t : threads) t.join();

  PhaseResult r;
  r.clients = clients;
  r.seconds = wall;
  r.emulator_cores = (cpu1 - cpu0) / wall;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  for (auto f : failures) r.failed += f;
  r.ok = all.size();
  if (!all.empty()) {
    std::sort(all.begin(), all.end());
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

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
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--clients") o.clients = xdr::bench::parse_list(value());
    else throw std::runtime_error("unknown option " + a + "; use --emulator, --tenants, --seconds, --clients");
  }
  if (o.tenants < 1 || o.seconds <= 0 || o.clients.empty()) throw std::runtime_error("bad --tenants, --seconds or --clients");
  return o;
}

int run(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  if (access(opt.emulator.c_str(), X_OK) != 0)
    throw std::runtime_error("no xdr-emulator at " + opt.emulator + "; build it or pass --emulator PATH");
  std::cout << "bench_emulator_tokens: " << opt.emulator << "\n";
  SignRates sign = measure_signing();

  char tmpl[] = "/tmp/xdr-bench-tokens-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
  fs::path dir = tmpl;
  std::string client_id = xdr::crypto::random_guid();
  std::string secret = xdr::util::base64url_encode(xdr::crypto::random_bytes(30));
  std::vector<std::string> tenant_ids;
  std::string scenario = write_scenario(dir, opt.tenants, client_id, tenant_ids);

  std::vector<PhaseResult> phases;
  double rss_start = 0, rss_end = 0, startup_s = 0;
  {
    auto t0 = Clock::now();
    EmulatorProcess emu(opt.emulator, dir, scenario, secret);
    startup_s = std::chrono::duration<double>(Clock::now() - t0).count();
    rss_start = emu.rss_mb();
    for (int clients : opt.clients) {
      std::cout << "tokens: " << clients << " keep-alive clients for " << opt.seconds << " s ..." << std::flush;
      phases.push_back(run_phase(emu, clients, opt.seconds, client_id, secret, tenant_ids));
      std::cout << " done\n";
    }
    rss_end = emu.rss_mb();
  }
  fs::remove_all(dir);
  // This VM's single-core signing rate drifts by 10-20% from one minute to the next: measure it again
  // after the token phases and compare with the mean of both runs.
  std::cout << "openssl speed -seconds 3 rsa2048 (again) ..." << std::flush;
  if (auto again = measure_one_core()) {
    sign.one_core_after = *again;
    sign.one_core = (sign.one_core_before + sign.one_core_after) / 2;
  }
  std::cout << " done\n";

  uint64_t total = 0;
  for (const auto& p : phases) total += p.ok;
  std::printf("\nRSA-2048 sign (openssl speed): 1 core %.0f/s (before %.0f, after %.0f), -multi %d %.0f/s\n",
              sign.one_core, sign.one_core_before, sign.one_core_after, sign.multi, sign.all_cores);
  if (sign.all_cores < sign.one_core * 1.2 && sign.multi > 1) {
    std::string load = run_command("cut -d' ' -f1-3 /proc/loadavg");
    while (!load.empty() && load.back() == '\n') load.pop_back();
    std::printf("warning: -multi %d signs little faster than 1 core: the machine is busy (load average %s), "
                "so the ratios are noisy\n",
                sign.multi, load.c_str());
  }
  std::printf("\n%-8s %10s %8s %9s %9s %10s %12s %12s\n", "clients", "tokens/s", "errors", "p50 ms", "p99 ms",
              "emu cores", "vs 1core*c", "vs -multi");
  bool throughput_ok = true;
  for (const auto& p : phases) {
    double rate = static_cast<double>(p.ok) / p.seconds;
    double cores = std::max(p.emulator_cores, 0.01);
    double ratio = rate / (sign.one_core * cores);
    throughput_ok = throughput_ok && ratio >= k_target_ratio && p.failed == 0;
    std::printf("%-8d %10.0f %8llu %9.2f %9.2f %10.2f %11.0f%% %11.0f%%\n", p.clients, rate,
                static_cast<unsigned long long>(p.failed), p.p50_ms, p.p99_ms, p.emulator_cores, ratio * 100,
                rate / sign.all_cores * 100);
  }
  std::printf("\n'vs 1core*c' = tokens/s / (1-core sign/s, mean of before and after, x cores the emulator used);"
              " target >= %.0f%%.\n",
              k_target_ratio * 100);
  std::printf("'vs -multi' = tokens/s / whole-machine sign/s (clients share the same cores).\n");
  std::printf("\nmemory (%d tenants): VmRSS %.1f MB after start (%.1f s), %.1f MB after %llu tokens; target <= %.0f MB\n",
              opt.tenants, rss_start, startup_s, rss_end, static_cast<unsigned long long>(total), k_target_rss_mb);
  bool memory_ok = rss_start <= k_target_rss_mb && rss_end <= k_target_rss_mb;
  std::printf("\nthroughput target: %s; memory target: %s\n", throughput_ok ? "met" : "MISSED",
              memory_ok ? "met" : "MISSED");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_emulator_tokens: " << e.what() << "\n";
    return 1;
  }
}
