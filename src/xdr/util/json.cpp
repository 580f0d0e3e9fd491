#include <xdr/util/json.hpp>

#include <xdr/util/strings.hpp>

namespace xdr::util {

std::string describe_body(std::string_view text) {
  std::string_view t = trim(text);
  if (t.empty()) return "an empty body";
  if (istarts_with(t, "<!doctype html") || istarts_with(t, "<html")) return "an HTML page";
  if (t.front() == '<') return "XML or HTML";
  return std::to_string(text.size()) + " bytes of non-JSON text";
}

Result<Json> parse_json(std::string_view text, std::string_view what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(ErrorKind::invalid_response,
                std::string(what) + " is not valid JSON (received " + describe_body(text) + ")");
  }
  return j;
}

} // namespace xdr::util
