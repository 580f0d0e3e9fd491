#pragma once
// OpenSSL 3 behind small value types: hashes, randomness, RSA keys, X.509 certificates, PKCS#12.
// Shared by the client and the emulator (generic crypto, no protocol knowledge).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace xdr::crypto {

std::string sha1(std::string_view data);
std::string sha256(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);
// Cryptographically secure random bytes (OpenSSL DRBG).
std::string random_bytes(size_t n);
// A random version-4 GUID.
std::string random_guid();
// The version-4 GUID made of 16 random bytes (for callers that draw their randomness in bulk).
std::string guid_v4_from_bytes(std::string_view random16);
// Constant-time comparison.
bool equal_ct(std::string_view a, std::string_view b);

enum class SignatureAlg { rs256, ps256 };

class RsaPublicKey {
public:
  RsaPublicKey() = default;
  // From the JWK members n and e (big-endian bytes, already base64url-decoded).
  static Result<RsaPublicKey> from_components(std::string_view n, std::string_view e);
  static Result<RsaPublicKey> from_pem(std::string_view pem);

  bool valid() const { return m_key != nullptr; }
  int bits() const;
  std::string modulus() const;  // big-endian bytes
  std::string exponent() const; // big-endian bytes
  std::string to_pem() const;
  bool verify(SignatureAlg alg, std::string_view data, std::string_view signature) const;
  EVP_PKEY* raw() const { return m_key.get(); }

  explicit RsaPublicKey(std::shared_ptr<EVP_PKEY> key) : m_key(std::move(key)) {}

private:
  std::shared_ptr<EVP_PKEY> m_key;
};

class RsaPrivateKey {
public:
  RsaPrivateKey() = default;
  static RsaPrivateKey generate(int bits = 2048);
  // The same `seed` gives the same key: primes are searched from a deterministic stream.
  static RsaPrivateKey generate_deterministic(std::string_view seed, int bits = 2048);
  // PEM "PRIVATE KEY", "RSA PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" (with `password`).
  static Result<RsaPrivateKey> from_pem(std::string_view pem, std::string_view password = {});

  bool valid() const { return m_key != nullptr; }
  std::string to_pem() const; // unencrypted PKCS#8
  RsaPublicKey public_key() const;
  // An independent copy of the key. Signing threads that each hold their own copy avoid OpenSSL's
  // shared RSA blinding lock, which serializes concurrent signers of one key.
  RsaPrivateKey clone() const;
  Result<std::string> sign(SignatureAlg alg, std::string_view data) const;
  EVP_PKEY* raw() const { return m_key.get(); }

  explicit RsaPrivateKey(std::shared_ptr<EVP_PKEY> key) : m_key(std::move(key)) {}

private:
  std::shared_ptr<EVP_PKEY> m_key;
};

class Certificate {
public:
  Certificate() = default;
  static Result<Certificate> from_pem(std::string_view pem);
  // Every certificate in a PEM bundle, in order.
  static Result<std::vector<Certificate>> all_from_pem(std::string_view pem);
  static Result<Certificate> from_der(std::string_view der);

  bool valid() const { return m_cert != nullptr; }
  std::string der() const;
  std::string pem() const;
  std::string thumbprint_sha1() const;   // raw bytes
  std::string thumbprint_sha256() const; // raw bytes
  RsaPublicKey public_key() const;
  std::string subject() const;
  util::TimePoint not_before() const;
  util::TimePoint not_after() const;
  X509* raw() const { return m_cert.get(); }

  explicit Certificate(std::shared_ptr<X509> cert) : m_cert(std::move(cert)) {}

private:
  std::shared_ptr<X509> m_cert;
};

struct CertificateOptions {
  std::string common_name;
  int valid_days = 365;
  bool is_ca = false;
  std::vector<std::string> dns_names; // subjectAltName DNS entries
  std::vector<std::string> ip_addresses; // subjectAltName IP entries
  std::string serial;                      // big-endian bytes; random when empty
  std::optional<util::TimePoint> not_before; // now - 1 h when unset
};

// Self-signed when `issuer` is null.
Result<Certificate> make_certificate(const RsaPrivateKey& subject_key, const CertificateOptions& options,
                                     const RsaPrivateKey* issuer_key = nullptr,
                                     const Certificate* issuer = nullptr);

struct Pkcs12Bundle {
  RsaPrivateKey key;
  Certificate certificate;
  std::vector<Certificate> chain;
};
Result<Pkcs12Bundle> load_pkcs12(std::string_view der, std::string_view password);
Result<std::string> make_pkcs12(const RsaPrivateKey& key, const Certificate& cert, std::string_view password);

} // namespace xdr::crypto
