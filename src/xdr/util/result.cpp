#include <xdr/util/result.hpp>

namespace xdr {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
  case ErrorKind::transport: return "transport";
  case ErrorKind::timeout: return "timeout";
  case ErrorKind::rate_limited: return "rate_limited";
  case ErrorKind::unauthorized: return "unauthorized";
  case ErrorKind::forbidden: return "forbidden";
  case ErrorKind::not_found: return "not_found";
  case ErrorKind::server: return "server";
  case ErrorKind::invalid_response: return "invalid_response";
  case ErrorKind::invalid_token: return "invalid_token";
  case ErrorKind::invalid_request: return "invalid_request";
  case ErrorKind::config: return "config";
  case ErrorKind::storage: return "storage";
  case ErrorKind::cancelled: return "cancelled";
  }
  return "unknown";
}

} // namespace xdr
