#pragma once
// How the partner app proves who it is to Entra ID: a client secret or a certificate (a signed
// client assertion). One credential serves every customer tenant; the tenant is chosen per request.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/auth/cloud.hpp>
#include <xdr/auth/secret.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::auth {

enum class ClientAuthKind { secret, assertion };

// The client authentication for one token request: a client secret, or a client assertion (JWT).
struct ClientAuth {
  ClientAuthKind kind = ClientAuthKind::secret;
  Secret value;
};

class ClientCredential {
public:
  virtual ~ClientCredential() = default;
  // The app's (client) ID.
  virtual const std::string& client_id() const = 0;
  // The secret, or a fresh assertion whose audience is `token_endpoint`; errors if signing fails.
  virtual Result<ClientAuth> client_auth(std::string_view token_endpoint) const = 0;
  // "client secret" or "certificate <SHA-1 thumbprint>", for messages.
  virtual std::string description() const = 0;
};

class ClientSecretCredential final : public ClientCredential {
public:
  // Throws xdr::Fatal when client_id or secret is empty (a caller bug: check inputs first).
  ClientSecretCredential(std::string client_id, Secret secret);
  const std::string& client_id() const override { return m_client_id; }
  Result<ClientAuth> client_auth(std::string_view token_endpoint) const override;
  std::string description() const override { return "client secret"; }

private:
  std::string m_client_id;
  Secret m_secret;
};

// Which header the assertion carries: SHA-1 thumbprint `x5t` with RS256 (older Entra docs, MSAL
// with a PEM key), or SHA-256 thumbprint `x5t#S256` with PS256 (current Entra docs).
enum class AssertionAlgorithm { rs256_x5t, ps256_x5t_s256 };

struct CertificateCredentialOptions {
  AssertionAlgorithm algorithm = AssertionAlgorithm::ps256_x5t_s256;
  // Adds `x5c` (leaf first, then the chain) for subject-name/issuer authentication.
  bool send_certificate_chain = false;
  std::chrono::seconds assertion_lifetime{600};
  std::shared_ptr<const util::Clock> clock = util::system_clock();
};

// Where a certificate credential comes from. PEM: certificate and key in `certificate_path`, or
// the key in `key_path`. PKCS#12 (.pfx/.p12, or any DER file): `certificate_path` alone.
struct CertificateFiles {
  std::string certificate_path;
  std::string key_path;      // optional separate PEM key file
  Secret password;           // PKCS#12 or encrypted-PEM password
  std::string password_file; // read (owner-only file) when `password` is empty
};

class ClientCertificateCredential final : public ClientCredential {
public:
  // Errors when the key does not match the certificate.
  static Result<std::shared_ptr<ClientCertificateCredential>> create(std::string client_id, crypto::RsaPrivateKey key,
                                                                     crypto::Certificate certificate,
                                                                     std::vector<crypto::Certificate> chain,
                                                                     CertificateCredentialOptions options = {});
  // Loads PEM or PKCS#12 files; errors name the file and say what to fix (never print a password).
  static Result<std::shared_ptr<ClientCertificateCredential>> from_files(std::string client_id,
                                                                         const CertificateFiles& files,
                                                                         CertificateCredentialOptions options = {});

  const std::string& client_id() const override { return m_client_id; }
  Result<ClientAuth> client_auth(std::string_view token_endpoint) const override;
  std::string description() const override;

  // A signed client assertion for `audience` (the token endpoint URL): claims aud, iss = sub =
  // client ID, jti (random GUID), nbf = iat = now, exp = now + assertion_lifetime.
  Result<Secret> make_assertion(std::string_view audience) const;
  const crypto::Certificate& certificate() const { return m_certificate; }

  ClientCertificateCredential(std::string client_id, crypto::RsaPrivateKey key, crypto::Certificate certificate,
                              std::vector<crypto::Certificate> chain, CertificateCredentialOptions options);

private:
  std::string m_client_id;
  crypto::RsaPrivateKey m_key;
  crypto::Certificate m_certificate;
  std::vector<crypto::Certificate> m_chain;
  CertificateCredentialOptions m_options;
};

// What AZURE_* variables configure.
struct EnvironmentSettings {
  std::string tenant_id;      // AZURE_TENANT_ID (may be empty: the tenant is chosen per request)
  std::string authority_host; // AZURE_AUTHORITY_HOST as given (may be empty)
  std::shared_ptr<ClientCredential> credential;
};

// Reads AZURE_CLIENT_ID (required), then AZURE_CLIENT_SECRET, or AZURE_CLIENT_CERTIFICATE_PATH
// with AZURE_CLIENT_CERTIFICATE_PASSWORD (and AZURE_CLIENT_SEND_CERTIFICATE_CHAIN=1|true), plus
// AZURE_TENANT_ID and AZURE_AUTHORITY_HOST. Errors say which variable is missing or wrong.
Result<EnvironmentSettings> from_environment(const Environment& env, CertificateCredentialOptions options = {});

} // namespace xdr::auth
