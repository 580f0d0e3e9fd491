#include <emulator/kql/errors.hpp>

namespace xdr::emulator::kql {

std::string describe_pos(const Pos& pos) {
  return "line [" + std::to_string(pos.line) + "," + std::to_string(pos.column) + "]";
}

Error syntax_error(std::string_view near, const Pos& pos, std::string_view detail) {
  std::string msg = "Query could not be parsed at '" + std::string(near) + "' on " + describe_pos(pos);
  if (!detail.empty()) msg += " (" + std::string(detail) + ")";
  return Error(ErrorKind::invalid_request, std::move(msg)).with_code(std::string(k_code_syntax));
}

Error semantic_error(std::string_view what, const Pos& pos) {
  return Error(ErrorKind::invalid_request,
               "Fix semantic errors in your query: " + std::string(what) + " on " + describe_pos(pos))
      .with_code(std::string(k_code_semantic));
}

Error not_supported(std::string_view what, const Pos& pos) {
  return Error(ErrorKind::invalid_request, "not supported: " + std::string(what) + " on " + describe_pos(pos) +
                                               " (the emulator implements a subset of KQL; rewrite the query "
                                               "without it)")
      .with_code(std::string(k_code_not_supported));
}

Error limit_error(std::string_view code, std::string message) {
  return Error(ErrorKind::invalid_request, std::move(message)).with_code(std::string(code));
}

} // namespace xdr::emulator::kql
