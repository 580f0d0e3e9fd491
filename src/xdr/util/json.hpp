#pragma once
// JSON through nlohmann, with a parse that returns a Result instead of throwing.

#include <string_view>

#include <nlohmann/json.hpp>

#include <xdr/util/result.hpp>

namespace xdr {
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
} // namespace xdr

namespace xdr::util {

// Parses `text`; on failure the error says what was received ("an HTML page", "empty body", ...).
Result<Json> parse_json(std::string_view text, std::string_view what = "response");

// A short, safe description of a body that was not the JSON we expected.
std::string describe_body(std::string_view text);

} // namespace xdr::util
