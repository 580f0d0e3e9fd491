#include <xdr/auth/credential.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::auth {

namespace {

Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorKind::config, "cannot open " + std::string(what) + " " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return fail(ErrorKind::config, "cannot read " + std::string(what) + " " + path);
  return out.str();
}

bool looks_like_pem(std::string_view data) { return data.find("-----BEGIN ") != std::string_view::npos; }

bool has_pem_private_key(std::string_view data) { return data.find("PRIVATE KEY-----") != std::string_view::npos; }

bool key_matches(const crypto::RsaPrivateKey& key, const crypto::Certificate& cert) {
  return cert.valid() && key.valid() && cert.public_key().modulus() == key.public_key().modulus();
}

Error with_prefix(Error e, const std::string& prefix) {
  e.message = prefix + e.message;
  return e;
}

} // namespace

ClientSecretCredential::ClientSecretCredential(std::string client_id, Secret secret)
    : m_client_id(std::move(client_id)), m_secret(std::move(secret)) {
  if (m_client_id.empty()) throw Fatal("ClientSecretCredential needs a client ID");
  if (m_secret.empty()) throw Fatal("ClientSecretCredential needs a non-empty secret");
}

Result<ClientAuth> ClientSecretCredential::client_auth(std::string_view) const {
  return ClientAuth{ClientAuthKind::secret, m_secret};
}

ClientCertificateCredential::ClientCertificateCredential(std::string client_id, crypto::RsaPrivateKey key,
                                                         crypto::Certificate certificate,
                                                         std::vector<crypto::Certificate> chain,
                                                         CertificateCredentialOptions options)
    : m_client_id(std::move(client_id)), m_key(std::move(key)), m_certificate(std::move(certificate)),
      m_chain(std::move(chain)), m_options(std::move(options)) {
  if (!m_options.clock) m_options.clock = util::system_clock();
}

Result<std::shared_ptr<ClientCertificateCredential>>
ClientCertificateCredential::create(std::string client_id, crypto::RsaPrivateKey key, crypto::Certificate certificate,
                                    std::vector<crypto::Certificate> chain, CertificateCredentialOptions options) {
  if (client_id.empty()) return fail(ErrorKind::config, "no client ID: set AZURE_CLIENT_ID or pass the app's client ID");
  if (!key.valid()) return fail(ErrorKind::config, "the certificate credential has no private key");
  if (!certificate.valid()) return fail(ErrorKind::config, "the certificate credential has no certificate");
  if (!key_matches(key, certificate))
    return fail(ErrorKind::config, "the private key does not belong to the certificate '" + certificate.subject() +
                                       "': use the key the certificate was issued for");
  return std::make_shared<ClientCertificateCredential>(std::move(client_id), std::move(key), std::move(certificate),
                                                       std::move(chain), std::move(options));
}

Result<std::shared_ptr<ClientCertificateCredential>>
ClientCertificateCredential::from_files(std::string client_id, const CertificateFiles& files,
                                        CertificateCredentialOptions options) {
  const std::string& path = files.certificate_path;
  if (path.empty()) return fail(ErrorKind::config, "no certificate file given (AZURE_CLIENT_CERTIFICATE_PATH)");
  Secret password = files.password;
  if (password.empty() && !files.password_file.empty()) {
    XDR_TRY_ASSIGN(password, read_secret_file(files.password_file, "certificate password file"));
  }
  XDR_TRY_ASSIGN(std::string data, read_file(path, "certificate file"));
  const std::string where = "certificate file " + path + ": ";

  if (!looks_like_pem(data)) {
    // PKCS#12 (.pfx / .p12): DER, password-protected.
    auto bundle = crypto::load_pkcs12(data, password.reveal());
    wipe_string(data);
    if (!bundle) return tl::unexpected(with_prefix(bundle.error(), where));
    if (!bundle->key.valid() || !bundle->certificate.valid())
      return fail(ErrorKind::config, where + "the PKCS#12 archive must hold a private key and its certificate");
    return create(std::move(client_id), bundle->key, bundle->certificate, bundle->chain, std::move(options));
  }

  auto certs = crypto::Certificate::all_from_pem(data);
  if (!certs) {
    wipe_string(data);
    return tl::unexpected(with_prefix(certs.error(), where));
  }
  std::string key_pem;
  std::string key_where = where;
  if (!files.key_path.empty()) {
    XDR_TRY(check_private_file(files.key_path, "private key file"));
    XDR_TRY_ASSIGN(key_pem, read_file(files.key_path, "private key file"));
    key_where = "private key file " + files.key_path + ": ";
  } else {
    if (!has_pem_private_key(data)) {
      wipe_string(data);
      return fail(ErrorKind::config, where + "no private key in the file: put the certificate and its key in one PEM "
                                             "file, or give the key file separately");
    }
    if (auto ok = check_private_file(path, "certificate file (it holds a private key)"); !ok) {
      wipe_string(data);
      return tl::unexpected(ok.error());
    }
    key_pem = data;
  }
  wipe_string(data);
  auto key = crypto::RsaPrivateKey::from_pem(key_pem, password.reveal());
  wipe_string(key_pem);
  if (!key) return tl::unexpected(with_prefix(key.error(), key_where));

  crypto::Certificate leaf;
  std::vector<crypto::Certificate> chain;
  for (auto& c : *certs) {
    if (!leaf.valid() && key_matches(*key, c))
      leaf = c;
    else
      chain.push_back(c);
  }
  if (!leaf.valid())
    return fail(ErrorKind::config, where + "no certificate in the file matches the private key");
  return create(std::move(client_id), std::move(*key), std::move(leaf), std::move(chain), std::move(options));
}

Result<Secret> ClientCertificateCredential::make_assertion(std::string_view audience) const {
  const bool sha256 = m_options.algorithm == AssertionAlgorithm::ps256_x5t_s256;
  Json header = Json::object();
  header["typ"] = "JWT";
  if (sha256)
    header["x5t#S256"] = util::base64url_encode(m_certificate.thumbprint_sha256());
  else
    header["x5t"] = util::base64url_encode(m_certificate.thumbprint_sha1());
  if (m_options.send_certificate_chain) {
    Json x5c = Json::array();
    x5c.push_back(util::base64_encode(m_certificate.der()));
    for (const auto& c : m_chain) x5c.push_back(util::base64_encode(c.der()));
    header["x5c"] = std::move(x5c);
  }
  const int64_t now = util::to_unix(m_options.clock->now());
  Json payload = {
      {"aud", std::string(audience)},
      {"iss", m_client_id},
      {"sub", m_client_id},
      {"jti", crypto::random_guid()},
      {"nbf", now},
      {"iat", now},
      {"exp", now + m_options.assertion_lifetime.count()},
  };
  auto token = jwt::sign(std::move(header), payload, m_key,
                         sha256 ? crypto::SignatureAlg::ps256 : crypto::SignatureAlg::rs256);
  if (!token) return tl::unexpected(with_prefix(token.error(), "could not sign the client assertion: "));
  return Secret(std::move(*token));
}

Result<ClientAuth> ClientCertificateCredential::client_auth(std::string_view token_endpoint) const {
  // A fresh assertion per token request: token requests are rare (the cache holds tokens for about
  // an hour), and a new jti each time avoids any replay question.
  XDR_TRY_ASSIGN(Secret assertion, make_assertion(token_endpoint));
  return ClientAuth{ClientAuthKind::assertion, std::move(assertion)};
}

std::string ClientCertificateCredential::description() const {
  return "certificate " + util::hex_encode(m_certificate.thumbprint_sha1(), true);
}

Result<EnvironmentSettings> from_environment(const Environment& env, CertificateCredentialOptions options) {
  auto get = [&](std::string_view name) -> std::string {
    if (!env) return {};
    auto v = env(name);
    return v ? *v : std::string();
  };
  EnvironmentSettings settings;
  settings.tenant_id = std::string(util::trim(get("AZURE_TENANT_ID")));
  settings.authority_host = std::string(util::trim(get("AZURE_AUTHORITY_HOST")));
  std::string client_id(util::trim(get("AZURE_CLIENT_ID")));
  if (client_id.empty())
    return fail(ErrorKind::config, "AZURE_CLIENT_ID is not set: set it to the partner app's Application (client) ID");

  Secret secret(get("AZURE_CLIENT_SECRET"));
  if (!secret.empty()) {
    settings.credential = std::make_shared<ClientSecretCredential>(std::move(client_id), std::move(secret));
    return settings;
  }
  std::string cert_path = get("AZURE_CLIENT_CERTIFICATE_PATH");
  if (cert_path.empty())
    return fail(ErrorKind::config, "no client credential in the environment: set AZURE_CLIENT_SECRET, or "
                                   "AZURE_CLIENT_CERTIFICATE_PATH (and AZURE_CLIENT_CERTIFICATE_PASSWORD for a "
                                   "protected .pfx)");
  std::string chain = util::to_lower(util::trim(get("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")));
  if (chain == "1" || chain == "true") options.send_certificate_chain = true;
  CertificateFiles files;
  files.certificate_path = cert_path;
  files.password = Secret(get("AZURE_CLIENT_CERTIFICATE_PASSWORD"));
  auto cred = ClientCertificateCredential::from_files(std::move(client_id), files, std::move(options));
  if (!cred) return tl::unexpected(with_prefix(cred.error(), "AZURE_CLIENT_CERTIFICATE_PATH: "));
  settings.credential = std::move(*cred);
  return settings;
}

} // namespace xdr::auth
