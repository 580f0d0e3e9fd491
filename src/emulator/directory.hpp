#pragma once
// The emulator's identity world: the resources it knows, the apps registered, the customer
// tenants with their consents (service principals and granted roles), and the signing keys.
// Loaded from a scenario (JSON) and changed at run time through the control API.

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include <xdr/crypto/crypto.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator {

// A first-party resource (API) that tokens can be requested for.
struct Resource {
  std::string key;          // "xdr", "mde", "graph"
  std::string app_id;       // the resource's application id
  std::string display_name; // "Microsoft Threat Protection"
  std::vector<std::string> identifier_uris; // first is canonical
  std::vector<std::string> app_roles;       // application permissions it defines
};

const std::vector<Resource>& known_resources();
// By alias, app id or identifier URI (trailing '/' ignored, case-insensitive host).
const Resource* find_resource(std::string_view id);

struct AppSecret {
  std::string id;    // the secret's ID (what users paste by mistake)
  std::string value; // the secret's value
  util::TimePoint expires;
};

struct AppCertificate {
  crypto::Certificate certificate;
  std::string sha1;   // raw thumbprint
  std::string sha256; // raw thumbprint
};

struct App {
  std::string client_id;
  std::string display_name;
  std::vector<AppSecret> secrets;
  std::vector<AppCertificate> certificates;
  bool disabled = false;
  std::vector<std::string> redirect_uris;
  // Application permissions the app asks for, by resource key ("xdr" -> roles).
  std::map<std::string, std::vector<std::string>> required_roles;
};

// An app's service principal in a tenant: exists once consented; holds the granted roles.
struct ServicePrincipal {
  std::string object_id;
  std::map<std::string, std::set<std::string>> roles; // resource key -> roles
};

struct Tenant {
  std::string tenant_id;
  std::string display_name;
  std::vector<std::string> domains; // verified domains, first is the primary
  std::string admin_upn;
  std::set<std::string> provisioned; // resource keys present in the tenant
  std::map<std::string, ServicePrincipal> service_principals; // by client id
  Json data;                         // per-tenant data settings (incidents size, ...)
};

struct SigningKey {
  std::string kid; // == x5t, base64url SHA-1 of the certificate
  crypto::RsaPrivateKey key;
  crypto::Certificate certificate;
  std::string x5c; // base64 DER
};

struct TokenSettings {
  int64_t lifetime_seconds = 3900; // exp - iat, iat backdated 300 s: expires_in 3599
  std::optional<int64_t> refresh_in; // emitted when set
};

// Everything mutable lives here, behind one reader-writer lock.
class Directory {
public:
  // Loads a scenario; `base_dir` resolves relative certificate paths. Throws xdr::Fatal on a bad scenario.
  static std::unique_ptr<Directory> from_scenario(const Json& scenario, const std::string& base_dir);
  static Json default_scenario();

  mutable std::shared_mutex mutex;

  uint64_t seed = 7;
  std::map<std::string, App> apps; // by client id
  std::map<std::string, Tenant> tenants; // by tenant id
  std::map<std::string, std::string> domain_index; // lower-case domain -> tenant id
  std::vector<std::shared_ptr<const SigningKey>> keys; // published; keys.back() signs
  int key_generation = 0;
  std::atomic<int64_t> clock_offset_seconds{0}; // read without the lock (Impl::now)
  TokenSettings token;
  bool strict_jti = false; // refuse any re-use of an assertion's jti (Entra accepts an identical re-send)
  Json scenario; // as loaded, for data generation

  // Resolves a tenant path segment (GUID or verified domain); null when unknown.
  const Tenant* find_tenant(std::string_view segment) const;
  Tenant* find_tenant(std::string_view segment);

  // Adds or replaces; validates (GUIDs, domain syntax). Caller holds the write lock.
  Status add_tenant(const Json& spec);
  Status add_app(const Json& spec, const std::string& base_dir);
  Status grant(const std::string& tenant_id, const std::string& client_id, const std::string& resource,
               const std::vector<std::string>& roles);

  // Is (client, resource, roles) a grant that can be made? (GUID, known resource, its roles)
  Status check_grant(const std::string& client_id, const std::string& resource,
                     const std::vector<std::string>& roles) const;

  // A new signing key (deterministic from the seed and generation); old keys stay unless `drop_old`.
  std::string rotate_keys(bool drop_old);

  std::shared_ptr<const SigningKey> signing_key() const { return keys.back(); }
  std::string object_id_for(const std::string& tenant_id, const std::string& client_id) const;

private:
  void add_signing_key();
};

} // namespace xdr::emulator
