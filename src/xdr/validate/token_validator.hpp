#pragma once
// Validation of Entra ID access tokens (app-only, v1 and v2) for a multi-tenant service: RS256 only,
// keys from the KeyStore, Entra's issuer rules ({tenantid} templates, tid cross-checks, signing-key
// issuer), audience, lifetime with leeway, tenant/app allow-lists and required application roles.
// Every rejection carries a Reason code and a sentence saying what to do.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/util/clock.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>
#include <xdr/validate/jwks.hpp>

namespace xdr::validate {

// Why a token was rejected, in the order the checks run (one exception: with allowed_tenants, a
// tid outside the list is untrusted_tenant before any key is fetched, so it cannot cause fetches).
enum class Reason {
  too_large,           // longer than ValidationOptions::max_token_size
  malformed,           // not three dot-separated parts, duplicate claims, a "crit" header
  bad_base64,          // a part is not base64url
  not_json,            // header or payload is not a JSON object
  unsupported_alg,     // alg is not RS256 ("none", HS256, PS256 ... are all refused before key lookup)
  missing_kid,         // no "kid" header
  unsupported_version, // "ver" is not "1.0" or "2.0"
  unknown_kid,         // the kid is not published by the tenant's JWKS (after the allowed re-fetch)
  key_fetch_failed,    // metadata or JWKS could not be fetched or parsed
  bad_signature,       // RS256 signature does not verify
  missing_claim,       // no "exp"
  expired,             // exp + leeway is past
  not_yet_valid,       // nbf - leeway is in the future
  wrong_audience,      // aud (string or array) names no accepted audience
  bad_tenant_id,       // tid missing or not a GUID
  wrong_issuer,        // iss is not the metadata's issuer template for the token's tid
  tenant_mismatch,     // iss names a different tenant than tid
  key_issuer_mismatch, // the signing key's JWKS "issuer" (template) is not the token's issuer
  untrusted_tenant,    // tid is not the expected tenant / not in allowed_tenants
  untrusted_app,       // appid/azp not in allowed_app_ids
  missing_roles,       // required application roles absent (or no roles/scopes at all)
};
// The snake_case name ("unsupported_alg").
std::string_view to_string(Reason reason);

struct ValidationOptions {
  // Authority host of the cloud or emulator whose OpenID configuration supplies keys and issuers.
  std::string authority = "https://login.microsoftonline.com";
  // When set (a tenant GUID), only this tenant's tokens are accepted and its metadata supplies keys.
  std::optional<std::string> expected_tenant;
  // When set (tenant GUIDs), tokens from other tenants are untrusted_tenant, and each tenant's own
  // metadata supplies keys. Ignored when expected_tenant is set.
  std::optional<std::set<std::string, std::less<>>> allowed_tenants;
  // Whose metadata supplies keys when no tenant is pinned: "common" publishes the issuer templates
  // ("https://sts.windows.net/{tenantid}/", ".../{tenantid}/v2.0") and the keys shared by all tenants.
  std::string metadata_tenant = "common";
  // Required, non-empty: the App ID URI(s) or client ID(s) this service answers to.
  std::set<std::string, std::less<>> accepted_audiences;
  // Application roles (the "roles" claim) a token must carry, all of them.
  std::vector<std::string> required_roles;
  // Refuse tokens with neither "roles" nor "scp" even when required_roles is empty (what
  // Microsoft.Identity.Web does: such a token comes from a tenant that never consented).
  bool require_roles_or_scopes = true;
  // Clock skew tolerated on exp and nbf (Microsoft.IdentityModel's default).
  std::chrono::seconds leeway{300};
  // Entra app-only tokens are 1-3 KB; HTTP servers commonly cap a header line at 8-16 KB.
  size_t max_token_size = 16 * 1024;
  // When set, the client application (appid for v1, azp for v2) must be one of these.
  std::optional<std::set<std::string, std::less<>>> allowed_app_ids;
};

struct TokenHeader {
  std::string alg;
  std::string kid;
  std::string x5t; // v1 tokens carry it; empty otherwise
  std::string typ;
};

// An accepted token. The claims are kept as the exact JSON that was signed; claims() parses them on
// demand, so the validation hot path builds no JSON DOM.
struct ValidatedToken {
  TokenHeader header;
  std::string claims_json;
  std::string tenant_id;
  std::string app_id;     // appid (v1) or azp (v2)
  std::string object_id;  // oid: the client's service principal in tenant_id
  std::string issuer;
  std::string audience;   // the accepted audience the token named
  std::vector<std::string> roles;
  std::vector<std::string> scopes; // "scp" split on spaces (delegated tokens)
  TokenVersion version = TokenVersion::v1;
  util::TimePoint expires;
  util::TimePoint not_before; // epoch when the token has no nbf

  // The payload claims as a JSON object.
  Json claims() const;
};

struct ValidationError {
  Reason reason = Reason::malformed;
  std::string message; // never contains the token
  // Filled for missing_roles (and whenever the claims were read), so a CLI can show a roles diff.
  std::string tenant_id;
  std::string app_id;
  std::vector<std::string> present_roles;
  std::vector<std::string> missing_roles;
  // For key_fetch_failed: the KeyStore's error (its kind tells a network failure from a bad document).
  std::optional<Error> key_error;

  // As an xdr::Error: kind forbidden for missing_roles / untrusted_*, the fetch error's kind for
  // key_fetch_failed, invalid_token otherwise; code = to_string(reason).
  Error to_error() const;
};

using ValidationResult = tl::expected<ValidatedToken, ValidationError>;

// Validates access tokens; thread-safe (const), many threads may share one validator and KeyStore.
class TokenValidator {
public:
  // Throws xdr::Fatal on unusable options: empty accepted_audiences, a non-GUID expected_tenant or
  // allowed tenant, a null key store or clock.
  TokenValidator(std::shared_ptr<KeyStore> keys, ValidationOptions options,
                 std::shared_ptr<const util::Clock> clock = util::system_clock());

  // Runs every check in Reason's order and returns the first failure, or the accepted token.
  ValidationResult validate(std::string_view token) const;

  const ValidationOptions& options() const { return m_options; }

private:
  std::shared_ptr<KeyStore> m_keys;
  ValidationOptions m_options;
  std::shared_ptr<const util::Clock> m_clock;
};

} // namespace xdr::validate
