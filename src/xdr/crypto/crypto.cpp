#include <xdr/crypto/crypto.hpp>

#include <cstring>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <xdr/util/random.hpp>

namespace xdr::crypto {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr mem_bio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bio_string(BIO* bio) {
  char* ptr = nullptr;
  long len = BIO_get_mem_data(bio, &ptr);
  return std::string(ptr, static_cast<size_t>(len));
}

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) { return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free); }
std::shared_ptr<X509> own(X509* c) { return std::shared_ptr<X509>(c, X509_free); }

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string bn_bytes(const BIGNUM* bn) {
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string get_bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &bn)) return {};
  std::string out = bn_bytes(bn);
  BN_free(bn);
  return out;
}

struct BnCtx {
  BN_CTX* ctx = BN_CTX_new();
  ~BnCtx() { BN_CTX_free(ctx); }
};

struct Bn {
  BIGNUM* p = BN_new();
  Bn() = default;
  Bn(const Bn&) = delete;
  Bn& operator=(const Bn&) = delete;
  ~Bn() { BN_clear_free(p); }
};

// A probable prime of `bits` bits from the deterministic stream, with gcd(p-1, e) = 1.
void deterministic_prime(util::DeterministicRng& rng, int bits, const BIGNUM* e, BIGNUM* out, BN_CTX* ctx) {
  std::string raw = rng.bytes(static_cast<size_t>(bits / 8));
  raw[0] = static_cast<char>(static_cast<unsigned char>(raw[0]) | 0xC0); // top two bits: n has full length
  raw.back() = static_cast<char>(static_cast<unsigned char>(raw.back()) | 0x01);
  BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()), out);
  Bn pm1, g;
  while (true) {
    if (BN_check_prime(out, ctx, nullptr) == 1) {
      BN_sub(pm1.p, out, BN_value_one());
      BN_gcd(g.p, pm1.p, e, ctx);
      if (BN_is_one(g.p)) return;
    }
    BN_add_word(out, 2);
  }
}

} // namespace

std::string sha1(std::string_view data) { return digest(EVP_sha1(), data); }
std::string sha256(std::string_view data) { return digest(EVP_sha256(), data); }

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw Fatal("the system random generator failed: " + openssl_error());
  return out;
}

std::string random_guid() { return guid_v4_from_bytes(random_bytes(16)); }

std::string guid_v4_from_bytes(std::string_view random16) {
  std::string b(random16.substr(0, 16));
  b.resize(16, '\0');
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0F) | 0x40);
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3F) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[static_cast<unsigned char>(b[i]) >> 4];
    out += hex[static_cast<unsigned char>(b[i]) & 15];
  }
  return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// ---- RsaPublicKey ----

Result<RsaPublicKey> RsaPublicKey::from_components(std::string_view n, std::string_view e) {
  if (n.empty() || e.empty()) return fail(ErrorKind::invalid_token, "RSA key has an empty modulus or exponent");
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (!ok) return fail(ErrorKind::invalid_token, "RSA key components are not a valid key: " + openssl_error());
  return RsaPublicKey(own(key));
}

Result<RsaPublicKey> RsaPublicKey::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!key) return fail(ErrorKind::config, "not a PEM public key: " + openssl_error());
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return fail(ErrorKind::config, "the public key is not an RSA key");
  }
  return RsaPublicKey(own(key));
}

int RsaPublicKey::bits() const { return m_key ? EVP_PKEY_get_bits(m_key.get()) : 0; }
std::string RsaPublicKey::modulus() const { return get_bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_N); }
std::string RsaPublicKey::exponent() const { return get_bn_param(m_key.get(), OSSL_PKEY_PARAM_RSA_E); }

std::string RsaPublicKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), m_key.get());
  return bio_string(bio.get());
}

bool RsaPublicKey::verify(SignatureAlg alg, std::string_view data, std::string_view signature) const {
  if (!m_key) return false;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), nullptr, m_key.get()) == 1;
  if (ok && alg == SignatureAlg::ps256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
  }
  ok = ok && EVP_DigestVerify(md, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  return ok;
}

// ---- RsaPrivateKey ----

RsaPrivateKey RsaPrivateKey::generate(int bits) {
  EVP_PKEY* key = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (!key) throw Fatal("RSA key generation failed: " + openssl_error());
  return RsaPrivateKey(own(key));
}

RsaPrivateKey RsaPrivateKey::generate_deterministic(std::string_view seed, int bits) {
  std::string h = sha256(seed);
  uint64_t s = 0;
  std::memcpy(&s, h.data(), sizeof s);
  util::DeterministicRng rng(s, h);
  BnCtx ctx;
  Bn e, p, q, n, d, dmp1, dmq1, iqmp, pm1, qm1, phi;
  BN_set_word(e.p, 65537);
  do {
    deterministic_prime(rng, bits / 2, e.p, p.p, ctx.ctx);
    deterministic_prime(rng, bits / 2, e.p, q.p, ctx.ctx);
  } while (BN_cmp(p.p, q.p) == 0);
  if (BN_cmp(p.p, q.p) < 0) BN_swap(p.p, q.p);
  BN_mul(n.p, p.p, q.p, ctx.ctx);
  BN_sub(pm1.p, p.p, BN_value_one());
  BN_sub(qm1.p, q.p, BN_value_one());
  BN_mul(phi.p, pm1.p, qm1.p, ctx.ctx);
  BN_mod_inverse(d.p, e.p, phi.p, ctx.ctx);
  BN_mod(dmp1.p, d.p, pm1.p, ctx.ctx);
  BN_mod(dmq1.p, d.p, qm1.p, ctx.ctx);
  BN_mod_inverse(iqmp.p, q.p, p.p, ctx.ctx);

  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1.p);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp.p);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  bool ok = pctx && EVP_PKEY_fromdata_init(pctx) == 1 && EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) == 1;
  EVP_PKEY_CTX_free(pctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  if (!ok) throw Fatal("deterministic RSA key assembly failed: " + openssl_error());
  return RsaPrivateKey(own(key));
}

Result<RsaPrivateKey> RsaPrivateKey::from_pem(std::string_view pem, std::string_view password) {
  auto bio = mem_bio(pem);
  std::string pw(password);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, pw.empty() ? nullptr : pw.data());
  OPENSSL_cleanse(pw.data(), pw.size());
  if (!key) {
    ERR_clear_error();
    return fail(ErrorKind::config, "no readable RSA private key in the PEM data (wrong password, or no key)");
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    EVP_PKEY_free(key);
    return fail(ErrorKind::config, "the private key is not an RSA key; Entra ID certificate credentials need RSA");
  }
  return RsaPrivateKey(own(key));
}

std::string RsaPrivateKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), m_key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_string(bio.get());
}

RsaPrivateKey RsaPrivateKey::clone() const {
  EVP_PKEY* copy = EVP_PKEY_dup(m_key.get());
  if (!copy) throw Fatal("copying an RSA key failed: " + openssl_error());
  return RsaPrivateKey(own(copy));
}

RsaPublicKey RsaPrivateKey::public_key() const {
  // Round-trip through DER so the public object holds no private material.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(m_key.get(), &der);
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(der);
  return RsaPublicKey(own(pub));
}

Result<std::string> RsaPrivateKey::sign(SignatureAlg alg, std::string_view data) const {
  if (!m_key) return fail(ErrorKind::config, "no private key to sign with");
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestSignInit(md, &pctx, EVP_sha256(), nullptr, m_key.get()) == 1;
  if (ok && alg == SignatureAlg::ps256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  size_t len = 0;
  ok = ok && EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  std::string sig(len, '\0');
  ok = ok && EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                            reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return fail(ErrorKind::config, "signing failed: " + openssl_error());
  sig.resize(len);
  return sig;
}

// ---- Certificate ----

Result<Certificate> Certificate::from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!cert) {
    ERR_clear_error();
    return fail(ErrorKind::config, "no PEM certificate found");
  }
  return Certificate(own(cert));
}

Result<std::vector<Certificate>> Certificate::all_from_pem(std::string_view pem) {
  auto bio = mem_bio(pem);
  std::vector<Certificate> out;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(own(cert));
  ERR_clear_error();
  if (out.empty()) return fail(ErrorKind::config, "no PEM certificate found");
  return out;
}

Result<Certificate> Certificate::from_der(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!cert) {
    ERR_clear_error();
    return fail(ErrorKind::invalid_token, "not a DER certificate");
  }
  return Certificate(own(cert));
}

std::string Certificate::der() const {
  unsigned char* buf = nullptr;
  int len = i2d_X509(m_cert.get(), &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  return out;
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), m_cert.get());
  return bio_string(bio.get());
}

std::string Certificate::thumbprint_sha1() const { return sha1(der()); }
std::string Certificate::thumbprint_sha256() const { return sha256(der()); }

RsaPublicKey Certificate::public_key() const {
  EVP_PKEY* key = X509_get_pubkey(m_cert.get());
  return RsaPublicKey(own(key));
}

std::string Certificate::subject() const {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(m_cert.get()), buf, sizeof buf);
  return buf;
}

namespace {
util::TimePoint asn1_time(const ASN1_TIME* t) {
  struct tm tmv {};
  ASN1_TIME_to_tm(t, &tmv);
  return util::from_unix(static_cast<int64_t>(timegm(&tmv)));
}
} // namespace

util::TimePoint Certificate::not_before() const { return asn1_time(X509_get0_notBefore(m_cert.get())); }
util::TimePoint Certificate::not_after() const { return asn1_time(X509_get0_notAfter(m_cert.get())); }

Result<Certificate> make_certificate(const RsaPrivateKey& subject_key, const CertificateOptions& options,
                                     const RsaPrivateKey* issuer_key, const Certificate* issuer) {
  X509* cert = X509_new();
  auto owned = own(cert);
  X509_set_version(cert, 2);
  std::string serial = options.serial.empty() ? random_bytes(16) : options.serial;
  serial[0] = static_cast<char>(static_cast<unsigned char>(serial[0]) & 0x7F);
  BIGNUM* sn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(cert));
  BN_free(sn);
  if (options.not_before) {
    time_t nb = static_cast<time_t>(util::to_unix(*options.not_before));
    ASN1_TIME_set(X509_getm_notBefore(cert), nb);
    ASN1_TIME_set(X509_getm_notAfter(cert), nb + static_cast<time_t>(options.valid_days) * 86400);
  } else {
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(options.valid_days) * 86400);
  }
  X509_set_pubkey(cert, subject_key.raw());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer->raw()) : name);

  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer->raw() : cert, cert, nullptr, nullptr, 0);
  auto add_ext = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) return false;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return true;
  };
  add_ext(NID_basic_constraints, options.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(NID_key_usage, options.is_ca ? "critical,keyCertSign,cRLSign,digitalSignature"
                                       : "critical,digitalSignature,keyEncipherment");
  add_ext(NID_subject_key_identifier, "hash");
  if (issuer) add_ext(NID_authority_key_identifier, "keyid:always");
  if (!options.is_ca && (!options.dns_names.empty() || !options.ip_addresses.empty())) {
    std::string san;
    for (const auto& d : options.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (const auto& ip : options.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
    if (!add_ext(NID_subject_alt_name, san)) return fail(ErrorKind::config, "bad subjectAltName: " + san);
    add_ext(NID_ext_key_usage, "serverAuth,clientAuth");
  }
  const RsaPrivateKey& signer = issuer_key ? *issuer_key : subject_key;
  if (X509_sign(cert, signer.raw(), EVP_sha256()) == 0)
    return fail(ErrorKind::config, "certificate signing failed: " + openssl_error());
  return Certificate(owned);
}

Result<Pkcs12Bundle> load_pkcs12(std::string_view der, std::string_view password) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  PKCS12* p12 = d2i_PKCS12(nullptr, &p, static_cast<long>(der.size()));
  if (!p12) {
    ERR_clear_error();
    return fail(ErrorKind::config, "the file is not a PKCS#12 (.pfx/.p12) archive");
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  std::string pw(password);
  int ok = PKCS12_parse(p12, pw.c_str(), &key, &cert, &ca);
  OPENSSL_cleanse(pw.data(), pw.size());
  PKCS12_free(p12);
  if (!ok) {
    ERR_clear_error();
    return fail(ErrorKind::config,
                "could not open the PKCS#12 archive: wrong password (set AZURE_CLIENT_CERTIFICATE_PASSWORD or "
                "use a password file)");
  }
  Pkcs12Bundle bundle;
  if (key) bundle.key = RsaPrivateKey(own(key));
  if (cert) bundle.certificate = Certificate(own(cert));
  if (ca) {
    for (int i = 0; i < sk_X509_num(ca); ++i) bundle.chain.emplace_back(own(sk_X509_value(ca, i)));
    sk_X509_free(ca);
  }
  if (!bundle.key.valid() || !bundle.certificate.valid())
    return fail(ErrorKind::config, "the PKCS#12 archive has no private key and certificate pair");
  if (EVP_PKEY_get_base_id(bundle.key.raw()) != EVP_PKEY_RSA)
    return fail(ErrorKind::config, "the PKCS#12 key is not an RSA key; Entra ID certificate credentials need RSA");
  return bundle;
}

Result<std::string> make_pkcs12(const RsaPrivateKey& key, const Certificate& cert, std::string_view password) {
  std::string pw(password);
  PKCS12* p12 = PKCS12_create(pw.c_str(), "xdrpartner", key.raw(), cert.raw(), nullptr, 0, 0, 0, 0, 0);
  if (!p12) return fail(ErrorKind::config, "PKCS#12 creation failed: " + openssl_error());
  unsigned char* buf = nullptr;
  int len = i2d_PKCS12(p12, &buf);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  OPENSSL_free(buf);
  PKCS12_free(p12);
  return out;
}

} // namespace xdr::crypto
