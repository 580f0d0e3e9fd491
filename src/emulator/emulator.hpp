#pragma once
// xdr-emulator as an embeddable object: tests start it in-process on port 0; main() wraps it.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator {

struct EmulatorOptions {
  std::string config_file;          // scenario JSON; empty: the built-in default
  std::optional<Json> scenario;     // in-memory scenario (tests); wins over config_file
  std::string listen = "127.0.0.1:0";
  std::string state_dir;            // CA, server certificate, generated secrets; empty: a temp dir
  bool http = false;                // plain HTTP instead of HTTPS
  std::vector<std::string> hostnames; // extra names for the server certificate
  int threads = 256;                // connections served at once (a thread each; more wait for one)
  int read_timeout_seconds = 5;     // slow clients are cut off after this
  size_t max_body_bytes = 1024 * 1024;
  size_t render_cache_mb = 512;     // rendered incident texts kept across all tenants; past it, rendered per request
};

class Emulator {
public:
  explicit Emulator(EmulatorOptions options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Loads the scenario, prepares TLS, binds and starts serving in background threads.
  Status start();
  // Stops accepting, finishes in-flight requests, joins.
  void stop();

  std::string url() const;     // "https://127.0.0.1:PORT"
  std::string ca_file() const; // empty with --http
  int port() const;
  // {"url":..., "ca_file":..., "pid":...}
  Json ready_info() const;
  // Where generated secrets were written (state dir), by client id.
  std::string secret_file(const std::string& client_id) const;

  struct Impl;

private:
  std::unique_ptr<Impl> m_impl;
};

} // namespace xdr::emulator
