#pragma once
// The xdrpartner command line: consent-url, token get|decode|validate, doctor, incidents list|get|update, hunt,
// tenants, report.
// Exit codes: 0 success, 1 a service or validation failure, 2 a usage or configuration error; runs over many
// tenants: 3 some tenants failed (each tenant's line says why), 130 stopped by Ctrl-C.

#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <xdr/auth/cloud.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/fleet/cancel.hpp>
#include <xdr/util/clock.hpp>

namespace xdr::cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1; // a service refused, a check failed, a token is invalid
inline constexpr int k_exit_usage = 2;   // bad arguments or configuration
inline constexpr int k_exit_partial = 3; // some tenants failed (fleet::k_exit_partial)

// Where a run reads and writes, and what it sees of the process. Tests pass string streams, a
// map-backed environment, a FakeTransport and a FakeClock.
struct CliIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  auth::Environment env;                          // null: no environment variables at all
  std::shared_ptr<http::Transport> transport;     // innermost transport; null: libcurl
  std::shared_ptr<const util::Clock> clock = util::system_clock();
  std::function<bool(int fd)> is_terminal;        // null: isatty (decides whether progress bars are drawn)
  fleet::CancelToken* cancel = nullptr;           // set by Ctrl-C (SIGINT); null: runs are not cancellable
};

// Runs the CLI with the process's streams and environment.
int run(int argc, char** argv);
// Runs the CLI on `args` (without the program name) with `io`; returns the exit code. Never throws.
int run(const std::vector<std::string>& args, CliIo io);

} // namespace xdr::cli
