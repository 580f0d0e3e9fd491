#include <xdr/http/log.hpp>

#include <cstdio>
#include <mutex>
#include <string>

namespace xdr::http {

Logger stderr_logger(LogLevel level) {
  Logger logger;
  logger.level = level;
  logger.sink = [](std::string_view line) {
    static std::mutex mutex;
    std::string text(line);
    text += '\n';
    std::lock_guard lock(mutex);
    std::fwrite(text.data(), 1, text.size(), stderr);
  };
  return logger;
}

} // namespace xdr::http
