#pragma once
// Base64 (RFC 4648 section 4) and base64url without padding (section 5), as JWTs use them.

#include <optional>
#include <string>
#include <string_view>

namespace xdr::util {

std::string base64_encode(std::string_view bytes);
// Returns nullopt on a character outside the alphabet or a bad length. Accepts missing padding.
std::optional<std::string> base64_decode(std::string_view text);

std::string base64url_encode(std::string_view bytes);
// Strict: rejects '=', '+', '/', whitespace and impossible lengths.
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_encode(std::string_view bytes, bool upper = false);
std::optional<std::string> hex_decode(std::string_view text);

} // namespace xdr::util
