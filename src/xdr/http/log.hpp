#pragma once
// A minimal logger for the HTTP pipeline: a sink function and a level. The CLI's -v routes it to
// stderr; tests capture lines in a vector. Nothing here decides what is safe to log: callers
// (LoggingTransport) redact before they write.

#include <functional>
#include <string_view>

namespace xdr::http {

enum class LogLevel { off, error, warning, info, verbose };

struct Logger {
  // Receives one line (no trailing newline). Must be safe to call from several threads at once
  // when the pipeline is shared between threads.
  std::function<void(std::string_view)> sink;
  LogLevel level = LogLevel::info;

  // True when a line at `at` would reach the sink.
  bool enabled(LogLevel at) const { return sink && at != LogLevel::off && at <= level; }
  // Writes `line` when `at` is enabled.
  void write(LogLevel at, std::string_view line) const {
    if (enabled(at)) sink(line);
  }
};

// A logger writing whole lines to stderr under a process-wide mutex.
Logger stderr_logger(LogLevel level = LogLevel::info);

} // namespace xdr::http
