// Cold token acquisition for many tenants (issue 3): AuthClient (the real pipeline over libcurl)
// asks a real xdr-emulator process for one token per tenant, next to the emulator's own issuing
// ceiling measured in the same run by a minimal raw client (cpp-httplib SSLClient, keep-alive, the
// same number of threads). Prints tokens/s both ways, their ratio (target: AuthClient >= 80% of the
// raw ceiling) and the client's CPU time per token (getrusage of this process / tokens).
//
// Not part of ctest. Usage:
//   bench_tokens_cold [--emulator PATH] [--tenants 1000] [--threads 16] [--rounds 3] [--json FILE]
//   bench_tokens_cold --attach READY_JSON --client-id ID --tenants-file FILE [...]
// --attach measures against an emulator that is already running (scripts/bench-msal-compare starts
// one for every client it compares); its secret comes from XDR_BENCH_CLIENT_SECRET.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>

#include <httplib.h>

#include "emulator_process.hpp"

#include <xdr/auth/auth_client.hpp>
#include <xdr/http/pipeline.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

namespace {

using namespace xdr;
using bench::Clock;
namespace fs = std::filesystem;

constexpr double k_target_ratio = 0.80;
constexpr const char* k_scope = "https://api.security.microsoft.com/.default";

struct Options {
  std::string emulator;
  std::string attach; // ready file of a running emulator
  std::string client_id;
  std::string tenants_file;
  int tenants = 1000;
  int threads = 16;
  int rounds = 3;
  std::string json_out;
};

struct Target {
  std::string url, ca_file, host;
  int port = 0;
  std::string client_id, secret;
  std::vector<std::string> tenants;
};

struct Phase {
  uint64_t ok = 0;
  uint64_t failed = 0;
  double seconds = 0;
  double client_cpu = 0;   // seconds of this process (user + system)
  double emulator_cpu = 0; // seconds of the emulator process, when known
  std::string first_error;
  double rate() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double cpu_us_per_token() const { return ok ? client_cpu / static_cast<double>(ok) * 1e6 : 0; }
};

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) * 1e-6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Runs `work(thread, tenant)` for every tenant on `threads` threads (an atomic work queue), timing
// the whole batch. `work` returns an error message, empty on success.
template <class MakeWorker>
Phase run_batch(const Target& t, int threads, const bench::EmulatorProcess* emu, MakeWorker make_worker) {
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> ok{0}, failed{0};
  std::mutex error_mutex;
  std::string first_error;
  double emu0 = emu ? emu->cpu_seconds() : 0;
  double cpu0 = process_cpu_seconds();
  auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i)
    pool.emplace_back([&] {
      auto work = make_worker();
      for (size_t n = next++; n < t.tenants.size(); n = next++) {
        std::string err = work(t.tenants[n]);
        if (err.empty()) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(error_mutex);
          if (first_error.empty()) first_error = err;
        }
      }
    });
  for (auto& th : pool) th.join();
  Phase p;
  p.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  p.client_cpu = process_cpu_seconds() - cpu0;
  p.emulator_cpu = emu ? emu->cpu_seconds() - emu0 : 0;
  p.ok = ok;
  p.failed = failed;
  p.first_error = first_error;
  return p;
}

// The ceiling: one keep-alive TLS connection per thread, a fixed form body, no parsing.
Phase raw_phase(const Target& t, int threads, const bench::EmulatorProcess* emu) {
  const std::string body = "grant_type=client_credentials&client_id=" + t.client_id +
                           "&client_secret=" + util::form_encode(t.secret) + "&scope=" + util::form_encode(k_scope);
  return run_batch(t, threads, emu, [&] {
    auto cli = std::make_shared<httplib::SSLClient>(t.host, t.port);
    cli->set_ca_cert_path(t.ca_file.c_str());
    cli->enable_server_certificate_verification(true);
    cli->set_keep_alive(true);
    cli->set_tcp_nodelay(true);
    cli->set_read_timeout(20, 0);
    return [cli, &body](const std::string& tenant) -> std::string {
      auto res = cli->Post(("/" + tenant + "/oauth2/v2.0/token").c_str(), body, "application/x-www-form-urlencoded");
      if (!res) return "raw client: " + httplib::to_string(res.error());
      if (res->status != 200 || res->body.find("\"access_token\"") == std::string::npos)
        return "raw client: HTTP " + std::to_string(res->status);
      return {};
    };
  });
}

// libxdr: a fresh AuthClient (empty cache) over the standard pipeline (request id, retry, logging
// off, libcurl), shared by all threads as an application would share it.
Phase auth_phase(const Target& t, int threads, const bench::EmulatorProcess* emu) {
  http::PipelineOptions po;
  po.transport.ca_file = t.ca_file;
  auto credential = std::make_shared<auth::ClientSecretCredential>(t.client_id, auth::Secret(t.secret));
  auth::AuthClientOptions ao;
  ao.authority_host = t.url;
  auto client = auth::AuthClient::create(credential, http::make_pipeline(po), ao);
  if (!client) throw std::runtime_error("AuthClient: " + client.error().message);
  auth::AuthClient& c = **client;
  return run_batch(t, threads, emu, [&c] {
    return [&c](const std::string& tenant) -> std::string {
      auto r = c.get_token(tenant, "xdr");
      if (!r) return "AuthClient: " + r.error().message;
      if (r->from_cache) return "AuthClient: a cold token came from the cache";
      return {};
    };
  });
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
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
    else if (a == "--attach") o.attach = value();
    else if (a == "--client-id") o.client_id = value();
    else if (a == "--tenants-file") o.tenants_file = value();
    else if (a == "--tenants") o.tenants = std::stoi(value());
    else if (a == "--threads") o.threads = std::stoi(value());
    else if (a == "--rounds") o.rounds = std::stoi(value());
    else if (a == "--json") o.json_out = value();
    else
      throw std::runtime_error("unknown option " + a +
                               "; use --emulator, --tenants, --threads, --rounds, --json, or --attach READY "
                               "--client-id ID --tenants-file FILE");
  }
  if (o.tenants < 1 || o.threads < 1 || o.rounds < 1) throw std::runtime_error("bad --tenants, --threads or --rounds");
  if (!o.attach.empty() && (o.client_id.empty() || o.tenants_file.empty()))
    throw std::runtime_error("--attach needs --client-id and --tenants-file");
  return o;
}

void fill_endpoint(Target& t, const std::string& url, const std::string& ca_file) {
  t.url = url;
  t.ca_file = ca_file;
  size_t scheme = url.find("://") + 3;
  size_t colon = url.rfind(':');
  t.host = url.substr(scheme, colon - scheme);
  t.port = std::stoi(url.substr(colon + 1));
}

int run(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  Target target;
  std::unique_ptr<bench::EmulatorProcess> emu;
  fs::path dir;
  if (!opt.attach.empty()) {
    std::ifstream in(opt.attach);
    Json ready = Json::parse(in, nullptr, false);
    if (!ready.is_object()) throw std::runtime_error("cannot read the ready file " + opt.attach);
    fill_endpoint(target, ready.at("url").get<std::string>(), ready.at("ca_file").get<std::string>());
    target.client_id = opt.client_id;
    const char* secret = std::getenv(bench::k_bench_secret_env);
    if (!secret || !*secret) throw std::runtime_error(std::string(bench::k_bench_secret_env) + " is not set");
    target.secret = secret;
    std::ifstream tf(opt.tenants_file);
    for (std::string line; std::getline(tf, line);)
      if (!line.empty()) target.tenants.push_back(line);
    if (target.tenants.empty()) throw std::runtime_error("no tenants in " + opt.tenants_file);
  } else {
    if (access(opt.emulator.c_str(), X_OK) != 0)
      throw std::runtime_error("no xdr-emulator at " + opt.emulator + "; build it or pass --emulator PATH");
    char tmpl[] = "/tmp/xdr-bench-cold-XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
    dir = tmpl;
    target.client_id = crypto::random_guid();
    target.secret = util::base64url_encode(crypto::random_bytes(30));
    std::string scenario = bench::write_scenario(dir, opt.tenants, target.client_id, target.tenants);
    std::cout << "starting " << opt.emulator << " with " << opt.tenants << " tenants ..." << std::flush;
    emu = std::make_unique<bench::EmulatorProcess>(opt.emulator, dir, scenario, target.secret);
    fill_endpoint(target, emu->url(), emu->ca_file());
    std::cout << " " << target.url << "\n";
  }

  // Warm-up (not measured): the emulator's first requests pay for lazy set-up on its side.
  {
    Target warm = target;
    warm.tenants.resize(std::min<size_t>(warm.tenants.size(), 64));
    raw_phase(warm, opt.threads, nullptr);
  }
  // Interleaved rounds so that load from other users of the machine hits both sides alike.
  std::vector<Phase> raw, lib;
  for (int r = 0; r < opt.rounds; ++r) {
    raw.push_back(raw_phase(target, opt.threads, emu.get()));
    lib.push_back(auth_phase(target, opt.threads, emu.get()));
    std::printf("round %d: raw %.0f tokens/s, AuthClient %.0f tokens/s\n", r + 1, raw.back().rate(), lib.back().rate());
  }
  emu.reset();
  if (!dir.empty()) fs::remove_all(dir);

  auto summary = [](const std::vector<Phase>& ps) {
    std::vector<double> rates, cpu, emu_cpu;
    uint64_t failed = 0;
    for (const auto& p : ps) {
      rates.push_back(p.rate());
      cpu.push_back(p.cpu_us_per_token());
      emu_cpu.push_back(p.ok ? p.emulator_cpu / static_cast<double>(p.ok) * 1e6 : 0);
      failed += p.failed;
    }
    return std::tuple{median(rates), *std::max_element(rates.begin(), rates.end()), median(cpu), median(emu_cpu), failed};
  };
  auto [raw_rate, raw_best, raw_cpu, raw_emu, raw_failed] = summary(raw);
  auto [lib_rate, lib_best, lib_cpu, lib_emu, lib_failed] = summary(lib);
  double ratio = raw_rate > 0 ? lib_rate / raw_rate : 0;

  std::printf("\ncold tokens: %zu tenants x %d rounds, %d threads, v2 client-secret tokens over HTTPS (%s)\n",
              target.tenants.size(), opt.rounds, opt.threads, opt.attach.empty() ? "own emulator" : "attached emulator");
  std::printf("%-34s %12s %12s %10s %14s %14s\n", "client", "tokens/s", "best", "errors", "client us/tok",
              "emulator us/tok");
  std::printf("%-34s %12.0f %12.0f %10llu %14.1f %14.1f\n", "raw httplib (emulator ceiling)", raw_rate, raw_best,
              static_cast<unsigned long long>(raw_failed), raw_cpu, raw_emu);
  std::printf("%-34s %12.0f %12.0f %10llu %14.1f %14.1f\n", "xdr AuthClient (pipeline + curl)", lib_rate, lib_best,
              static_cast<unsigned long long>(lib_failed), lib_cpu, lib_emu);
  std::printf("\nAuthClient / raw ceiling: %.0f%% (median of rounds; target >= %.0f%%): %s\n", ratio * 100,
              k_target_ratio * 100, ratio >= k_target_ratio && lib_failed == 0 ? "met" : "MISSED");
  for (const auto* ps : {&raw, &lib})
    for (const auto& p : *ps)
      if (!p.first_error.empty()) {
        std::printf("first error: %s\n", p.first_error.c_str());
        break;
      }

  if (!opt.json_out.empty()) {
    Json j = {{"tenants", target.tenants.size()}, {"threads", opt.threads}, {"rounds", opt.rounds},
              {"raw_tokens_per_s", raw_rate}, {"auth_client_tokens_per_s", lib_rate},
              {"auth_client_cpu_us_per_token", lib_cpu}, {"raw_cpu_us_per_token", raw_cpu},
              {"errors", raw_failed + lib_failed}};
    std::ofstream(opt.json_out) << j.dump() << "\n";
  }
  return raw_failed + lib_failed == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_tokens_cold: " << e.what() << "\n";
    return 1;
  }
}
