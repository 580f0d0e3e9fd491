#include <xdr/jwt/token.hpp>

#include <xdr/util/base64.hpp>

namespace xdr::jwt {

std::string_view to_string(DecodeError e) {
  switch (e) {
  case DecodeError::too_large: return "too_large";
  case DecodeError::not_three_parts: return "malformed";
  case DecodeError::bad_base64: return "bad_base64";
  case DecodeError::not_json: return "not_json";
  case DecodeError::not_an_object: return "not_json";
  }
  return "malformed";
}

tl::expected<DecodedToken, DecodeFailure> decode(std::string_view token) {
  auto failure = [](DecodeError r, std::string m) { return tl::unexpected(DecodeFailure{r, std::move(m)}); };
  if (token.size() > k_max_token_size)
    return failure(DecodeError::too_large, "the token is " + std::to_string(token.size()) +
                                               " bytes, more than the " + std::to_string(k_max_token_size) +
                                               " bytes accepted");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d1 == std::string_view::npos || d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return failure(DecodeError::not_three_parts, "the token is not three base64url parts separated by dots");
  auto h = util::base64url_decode(token.substr(0, d1));
  auto p = util::base64url_decode(token.substr(d1 + 1, d2 - d1 - 1));
  auto s = util::base64url_decode(token.substr(d2 + 1));
  if (!h || !p || !s) return failure(DecodeError::bad_base64, "a part of the token is not valid base64url");
  DecodedToken out;
  out.header = Json::parse(*h, nullptr, false);
  out.payload = Json::parse(*p, nullptr, false);
  if (out.header.is_discarded() || out.payload.is_discarded())
    return failure(DecodeError::not_json, "the token's header or payload is not JSON");
  if (!out.header.is_object() || !out.payload.is_object())
    return failure(DecodeError::not_an_object, "the token's header or payload is not a JSON object");
  out.signing_input = std::string(token.substr(0, d2));
  out.signature = std::move(*s);
  return out;
}

std::optional<crypto::SignatureAlg> parse_alg(std::string_view alg) {
  if (alg == "RS256") return crypto::SignatureAlg::rs256;
  if (alg == "PS256") return crypto::SignatureAlg::ps256;
  return std::nullopt;
}

std::string_view alg_name(crypto::SignatureAlg alg) { return alg == crypto::SignatureAlg::ps256 ? "PS256" : "RS256"; }

Result<std::string> sign(Json header, const Json& payload, const crypto::RsaPrivateKey& key, crypto::SignatureAlg alg) {
  header["alg"] = alg_name(alg);
  return sign_json_text(header.dump(), payload.dump(), key, alg);
}

Result<std::string> sign_json_text(std::string_view header_json, std::string_view payload_json,
                                   const crypto::RsaPrivateKey& key, crypto::SignatureAlg alg) {
  std::string input = util::base64url_encode(header_json);
  input += '.';
  input += util::base64url_encode(payload_json);
  XDR_TRY_ASSIGN(std::string sig, key.sign(alg, input));
  input += '.';
  input += util::base64url_encode(sig);
  return input;
}

} // namespace xdr::jwt
