#pragma once
// JWS compact serialization: split and decode a token, or sign one. No validation policy here:
// that is xdr::auth::TokenValidator's job (client side) and the emulator's own (server side).

#include <string>
#include <string_view>

#include <xdr/crypto/crypto.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>

namespace xdr::jwt {

// Tokens larger than this are refused before any decoding (Entra tokens are a few KB).
inline constexpr size_t k_max_token_size = 64 * 1024;

struct DecodedToken {
  Json header;
  Json payload;
  std::string signing_input; // "base64url(header).base64url(payload)"
  std::string signature;     // raw bytes
};

enum class DecodeError { too_large, not_three_parts, bad_base64, not_json, not_an_object };
std::string_view to_string(DecodeError e);

struct DecodeFailure {
  DecodeError reason;
  std::string message;
};

tl::expected<DecodedToken, DecodeFailure> decode(std::string_view token);

// "RS256" / "PS256"; anything else is nullopt.
std::optional<crypto::SignatureAlg> parse_alg(std::string_view alg);
std::string_view alg_name(crypto::SignatureAlg alg);

// Signs header.payload with `key`; the header's "alg" is set from `alg`.
Result<std::string> sign(Json header, const Json& payload, const crypto::RsaPrivateKey& key,
                         crypto::SignatureAlg alg = crypto::SignatureAlg::rs256);
// Signs JSON texts as they are (for callers that write JSON directly); the header text must carry
// the "alg" of `alg`.
Result<std::string> sign_json_text(std::string_view header_json, std::string_view payload_json,
                                   const crypto::RsaPrivateKey& key, crypto::SignatureAlg alg = crypto::SignatureAlg::rs256);

} // namespace xdr::jwt
