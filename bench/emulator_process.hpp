#pragma once
// Shared by the benchmarks that talk to a real xdr-emulator process: start it with a generated
// scenario (one app whose secret comes from the environment, N consented tenants), stop it by PID,
// read its CPU time and memory.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <xdr/crypto/crypto.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

extern char** environ;

namespace xdr::bench {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline constexpr const char* k_bench_secret_env = "XDR_BENCH_CLIENT_SECRET";

// The emulator process: started with a scenario, stopped by its PID.
class EmulatorProcess {
public:
  EmulatorProcess(const std::string& binary, const fs::path& dir, const std::string& scenario_path,
                  const std::string& secret) {
    fs::path state = dir / "state";
    fs::create_directories(state);
    fs::path ready = state / "ready.json";
    std::string env_entry = std::string(k_bench_secret_env) + "=" + secret;
    std::vector<char*> env;
    for (char** e = environ; *e; ++e) env.push_back(*e);
    env.push_back(env_entry.data());
    env.push_back(nullptr);
    std::vector<std::string> args = {binary,        "--listen",      "127.0.0.1:0",  "--state-dir",
                                     state.string(), "--ready-file", ready.string(), "--config",
                                     scenario_path};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (dir / "emulator.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&m_pid, binary.c_str(), &actions, nullptr, argv.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
    auto deadline = Clock::now() + std::chrono::seconds(120);
    while (!fs::exists(ready)) {
      int status = 0;
      if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        throw std::runtime_error("xdr-emulator exited before it was ready; see " + (dir / "emulator.log").string());
      }
      if (Clock::now() > deadline) throw std::runtime_error("xdr-emulator was not ready within 120 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50)); // the ready file is written whole, then renamed
    std::ifstream in(ready);
    Json j = Json::parse(in);
    m_url = j.at("url").get<std::string>();
    m_ca_file = j.at("ca_file").get<std::string>();
  }

  ~EmulatorProcess() {
    if (m_pid <= 0) return;
    kill(m_pid, SIGTERM);
    int status = 0;
    waitpid(m_pid, &status, 0);
  }

  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  pid_t pid() const { return m_pid; }
  const std::string& url() const { return m_url; }
  const std::string& ca_file() const { return m_ca_file; }
  std::string host() const { return m_url.substr(m_url.find("://") + 3, m_url.rfind(':') - m_url.find("://") - 3); }
  int port() const { return std::stoi(m_url.substr(m_url.rfind(':') + 1)); }

  // Resident memory in MB, from /proc/PID/status.
  double rss_mb() const {
    std::ifstream in("/proc/" + std::to_string(m_pid) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return -1;
  }

  // User + system CPU seconds so far, from /proc/PID/stat.
  double cpu_seconds() const {
    std::ifstream in("/proc/" + std::to_string(m_pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stod(field);
      if (i == 15) stime = std::stod(field);
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

private:
  pid_t m_pid = -1;
  std::string m_url;
  std::string m_ca_file;
};

// Output of a shell command (stdout only).
inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  return out;
}

// A scenario file in `dir`: one app (secret from k_bench_secret_env), `tenants` tenants consented to
// the Defender XDR API. Their IDs are appended to `tenant_ids`.
inline std::string write_scenario(const fs::path& dir, int tenants, const std::string& client_id,
                                  std::vector<std::string>& tenant_ids) {
  Json consent = {{"client_id", client_id},
                  {"resource", "https://api.security.microsoft.com"},
                  {"roles", {"Incident.Read.All", "AdvancedHunting.Read.All"}}};
  Json list = Json::array();
  for (int i = 0; i < tenants; ++i) {
    std::string tid = crypto::random_guid();
    tenant_ids.push_back(tid);
    list.push_back({{"tenant_id", tid},
                    {"domain", "bench" + std::to_string(i) + ".onmicrosoft.com"},
                    {"display_name", "Bench Customer " + std::to_string(i)},
                    {"consents", {consent}}});
  }
  Json scenario = {{"seed", 11},
                   {"apps",
                    {{{"client_id", client_id},
                      {"display_name", "Bench MSSP"},
                      {"secrets", {{{"value_env", k_bench_secret_env}, {"expires", "2099-01-01T00:00:00Z"}}}},
                      {"required_roles", {{"xdr", {"Incident.Read.All", "AdvancedHunting.Read.All"}}}}}}},
                   {"tenants", list}};
  fs::path path = dir / "scenario.json";
  std::ofstream(path) << scenario.dump();
  return path.string();
}

// "8,32,128" -> {8, 32, 128}: the comma-separated lists of benchmark options.
inline std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  for (auto part : util::split(text, ','))
    if (!part.empty()) out.push_back(std::stoi(std::string(part)));
  return out;
}

// The xdr-emulator built beside this benchmark (<build>/src/emulator/xdr-emulator); empty if unknown.
inline std::string default_emulator_path() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : (self.parent_path().parent_path() / "src" / "emulator" / "xdr-emulator").string();
}

} // namespace xdr::bench
