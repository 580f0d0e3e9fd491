#include <cli/context.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <xdr/auth/secret.hpp>
#include <xdr/http/log.hpp>
#include <xdr/http/pipeline.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

std::string env_value(const auth::Environment& env, std::string_view name) {
  if (!env) return {};
  auto v = env(name);
  return v ? std::string(util::trim(*v)) : std::string();
}

const std::set<std::string>& known_config_keys() {
  static const std::set<std::string> keys = {
      "client_id",          "tenant",          "cloud",          "authority_host",
      "ca_file",            "client_secret_file", "client_certificate_path", "client_certificate_key_path",
      "client_certificate_password_file", "send_certificate_chain", "assertion_alg", "token_cache_file",
      "allowed_tenants",    "endpoint",        "resources",      "required_roles"};
  return keys;
}

// The settings a config file holds, as raw values (paths already made absolute).
struct FileConfig {
  std::map<std::string, std::string> strings;
  std::optional<bool> send_certificate_chain;
  std::optional<std::vector<std::string>> allowed_tenants;
  std::optional<std::vector<std::string>> resources;
  std::optional<std::map<std::string, std::vector<std::string>>> required_roles;

  std::string get(const std::string& key) const {
    auto it = strings.find(key);
    return it == strings.end() ? std::string() : it->second;
  }
};

Result<std::vector<std::string>> string_array(const Json& j, const std::string& key, const std::string& file) {
  if (!j.is_array())
    return fail(ErrorKind::config, "config file " + file + ": \"" + key + "\" must be an array of strings");
  std::vector<std::string> out;
  for (const Json& v : j) {
    if (!v.is_string())
      return fail(ErrorKind::config, "config file " + file + ": \"" + key + "\" must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<FileConfig> read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(ErrorKind::config, "cannot read the config file " + path + ": check the path given to --config");
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto parsed = util::parse_json(buffer.str(), "config file");
  if (!parsed)
    return fail(ErrorKind::config, "config file " + path + " is not valid JSON: " + parsed.error().message);
  if (!parsed->is_object()) return fail(ErrorKind::config, "config file " + path + " must hold a JSON object");
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  FileConfig config;
  for (const auto& [key, value] : parsed->items()) {
    if (key == "client_secret")
      return fail(ErrorKind::config,
                  "config file " + path + ": \"client_secret\" is refused: a secret does not belong in a config "
                  "file that is copied and shared; put it in its own file (chmod 600) and name that file in "
                  "\"client_secret_file\", or use AZURE_CLIENT_SECRET or --client-secret-stdin");
    if (!known_config_keys().count(key)) {
      std::vector<std::string> names(known_config_keys().begin(), known_config_keys().end());
      return fail(ErrorKind::config, "config file " + path + ": unknown key \"" + key + "\" (known keys: " +
                                         util::join(names, ", ") + ")");
    }
    if (key == "send_certificate_chain") {
      if (!value.is_boolean())
        return fail(ErrorKind::config, "config file " + path + ": \"send_certificate_chain\" must be true or false");
      config.send_certificate_chain = value.get<bool>();
    } else if (key == "allowed_tenants") {
      XDR_TRY_ASSIGN(config.allowed_tenants, string_array(value, key, path));
    } else if (key == "resources") {
      XDR_TRY_ASSIGN(config.resources, string_array(value, key, path));
    } else if (key == "required_roles") {
      if (!value.is_object())
        return fail(ErrorKind::config, "config file " + path +
                                           ": \"required_roles\" must be an object such as {\"xdr\": "
                                           "[\"Incident.Read.All\"]}");
      std::map<std::string, std::vector<std::string>> roles;
      for (const auto& [resource, list] : value.items()) {
        XDR_TRY_ASSIGN(roles[resource], string_array(list, "required_roles." + resource, path));
      }
      config.required_roles = std::move(roles);
    } else {
      if (!value.is_string())
        return fail(ErrorKind::config, "config file " + path + ": \"" + key + "\" must be a string");
      std::string text = value.get<std::string>();
      const bool is_path = key == "ca_file" || key == "client_secret_file" || key == "client_certificate_path" ||
                           key == "client_certificate_key_path" || key == "client_certificate_password_file" ||
                           key == "token_cache_file";
      if (is_path && !text.empty() && text.front() != '/') text = (base / text).string();
      config.strings[key] = text;
    }
  }
  return config;
}

Result<auth::AssertionAlgorithm> parse_assertion_alg(const std::string& text) {
  std::string v = util::to_lower(text);
  if (v == "ps256") return auth::AssertionAlgorithm::ps256_x5t_s256;
  if (v == "rs256") return auth::AssertionAlgorithm::rs256_x5t;
  return fail(ErrorKind::config, "assertion algorithm '" + text + "' is not supported: use ps256 (x5t#S256, current "
                                 "Entra guidance) or rs256 (x5t, older guidance)");
}

// $XDG_CACHE_HOME/xdrpartner/tokens.json, else ~/.cache/xdrpartner/tokens.json; empty when neither is set.
std::string default_cache_file(const auth::Environment& env) {
  std::string base = env_value(env, "XDG_CACHE_HOME");
  if (base.empty()) {
    std::string home = env_value(env, "HOME");
    if (home.empty()) return {};
    base = home + "/.cache";
  }
  return base + "/xdrpartner/tokens.json";
}

} // namespace

Result<std::string> resolve_db_path(const std::string& flag, const auth::Environment& env) {
  if (!flag.empty()) return flag;
  if (std::string v = env_value(env, "XDR_DB"); !v.empty()) return v;
  std::string base = env_value(env, "XDG_DATA_HOME");
  if (base.empty()) {
    const std::string home = env_value(env, "HOME");
    if (home.empty())
      return fail(ErrorKind::config, "no database file: give --db PATH or set XDR_DB (HOME is not set for the "
                                     "default ~/.local/share/xdrpartner/xdrpartner.db)");
    base = home + "/.local/share";
  }
  return base + "/xdrpartner/xdrpartner.db";
}

Result<store::Store*> Context::store(bool read_only) {
  if (m_store) return m_store.get();
  XDR_TRY_ASSIGN(std::string path, resolve_db_path(m_options.db, m_io.env));
  const bool is_default = m_options.db.empty() && env_value(m_io.env, "XDR_DB").empty();
  if (is_default && !read_only) {
    // The default directory is private: the registry says which customers this partner serves.
    std::error_code ec;
    const auto dir = std::filesystem::path(path).parent_path();
    if (!std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (ec)
        return fail(ErrorKind::storage, "cannot create the directory " + dir.string() + " for the database (" +
                                            ec.message() + "): give another file with --db");
      ::chmod(dir.c_str(), 0700);
    }
  }
  store::SqliteOptions options;
  options.read_only = read_only;
  options.clock = m_io.clock;
  XDR_TRY_ASSIGN(m_store, store::SqliteStore::open(path, options));
  m_db_path = path;
  return m_store.get();
}

bool Context::stderr_is_terminal() const {
  if (m_io.is_terminal) return m_io.is_terminal(STDERR_FILENO);
  return ::isatty(STDERR_FILENO) == 1;
}

std::map<std::string, std::vector<std::string>> default_required_roles() {
  return {{"xdr", {"Incident.Read.All", "AdvancedHunting.Read.All"}}};
}

std::string describe_source(const Settings& s) {
  switch (s.credential_source) {
  case CredentialSource::none: return "none";
  case CredentialSource::secret_stdin: return "client secret from standard input";
  case CredentialSource::secret_file: return "client secret from file " + s.secret_file;
  case CredentialSource::secret_env: return "client secret from AZURE_CLIENT_SECRET";
  case CredentialSource::certificate_file: return "certificate from " + s.certificate_path;
  case CredentialSource::certificate_env: return "certificate from AZURE_CLIENT_CERTIFICATE_PATH (" + s.certificate_path + ")";
  }
  return "none";
}

int exit_code_for(const Error& error) { return error.kind == ErrorKind::config ? k_exit_usage : k_exit_failure; }

int Context::report(const Error& error) {
  m_io.err << auth::describe_error(error);
  m_io.err.flush();
  return exit_code_for(error);
}

int Context::usage(const std::string& message) {
  m_io.err << "error: " << message << "\n  run 'xdrpartner --help' for the options\n";
  return k_exit_usage;
}

Result<const Settings*> Context::settings() {
  if (m_settings) return &*m_settings;
  const auto& env = m_io.env;
  const GlobalOptions& o = m_options;
  Settings s;

  FileConfig file;
  s.config_file = !o.config_file.empty() ? o.config_file : env_value(env, "XDRPARTNER_CONFIG");
  if (!s.config_file.empty()) {
    XDR_TRY_ASSIGN(file, read_config(s.config_file));
  }
  // Precedence: command line, then environment, then config file.
  auto pick = [](std::initializer_list<std::string> values) {
    for (const auto& v : values)
      if (!v.empty()) return v;
    return std::string();
  };

  s.client_id = pick({o.client_id, env_value(env, "AZURE_CLIENT_ID"), file.get("client_id")});
  s.tenant = pick({o.tenant, env_value(env, "AZURE_TENANT_ID"), file.get("tenant")});

  std::string cloud = pick({o.cloud, file.get("cloud")});
  if (!cloud.empty()) {
    auto parsed = auth::parse_cloud(cloud);
    if (!parsed)
      return fail(ErrorKind::config, "cloud '" + cloud + "' is not known: use global, gcc, gcc-high or dod");
    s.cloud = *parsed;
  }
  std::string host = pick({o.authority_host, env_value(env, "AZURE_AUTHORITY_HOST"), file.get("authority_host")});
  {
    auto resolved = auth::resolve_authority_host(s.cloud, host, {});
    if (!resolved)
      return fail(ErrorKind::config, "authority host '" + host + "' is not usable: " + resolved.error().message);
    s.authority_host = *resolved;
  }
  s.ca_file = pick({o.ca_file, file.get("ca_file"), env_value(env, "SSL_CERT_FILE")});
  if (!s.ca_file.empty() && !std::filesystem::is_regular_file(s.ca_file))
    return fail(ErrorKind::config, "CA file " + s.ca_file + " does not exist or is not a file");

  if (!o.no_cache_file)
    s.token_cache_file = pick({o.token_cache_file, file.get("token_cache_file"), default_cache_file(env)});
  if (file.allowed_tenants) s.allowed_tenants = *file.allowed_tenants;
  if (auto e = file.get("endpoint"); !e.empty()) {
    auto v = auth::parse_endpoint_version(e);
    if (!v) return fail(ErrorKind::config, "config file: endpoint '" + e + "' must be v1 or v2");
    s.endpoint = *v;
  }
  if (file.resources && !file.resources->empty()) s.resources = *file.resources;
  for (const auto& r : s.resources) {
    auto uri = auth::resolve_resource(r, s.cloud);
    if (!uri) return fail(ErrorKind::config, "resource '" + r + "': " + uri.error().message);
  }
  s.required_roles = file.required_roles ? *file.required_roles : default_required_roles();

  std::string alg = pick({o.assertion_alg, file.get("assertion_alg")});
  if (!alg.empty()) {
    XDR_TRY_ASSIGN(s.assertion_alg, parse_assertion_alg(alg));
  }
  s.send_certificate_chain = o.send_certificate_chain || file.send_certificate_chain.value_or(false);
  std::string chain_env = util::to_lower(env_value(env, "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"));
  if (chain_env == "1" || chain_env == "true") s.send_certificate_chain = true;

  // The credential: one source on the command line, else the environment, else the config file.
  int on_command_line = int(o.client_secret_stdin) + int(!o.client_secret_file.empty()) +
                        int(!o.client_certificate.empty());
  if (on_command_line > 1)
    return fail(ErrorKind::config, "more than one client credential was given: use only one of "
                                   "--client-secret-stdin, --client-secret-file and --client-certificate");
  if (o.client_secret_stdin) {
    s.credential_source = CredentialSource::secret_stdin;
  } else if (!o.client_secret_file.empty()) {
    s.credential_source = CredentialSource::secret_file;
    s.secret_file = o.client_secret_file;
  } else if (!o.client_certificate.empty()) {
    s.credential_source = CredentialSource::certificate_file;
    s.certificate_path = o.client_certificate;
    s.certificate_key_path = o.client_certificate_key;
    s.certificate_password_file = o.client_certificate_password_file;
  } else if (env && env("AZURE_CLIENT_SECRET") && !env("AZURE_CLIENT_SECRET")->empty()) {
    s.credential_source = CredentialSource::secret_env;
  } else if (!env_value(env, "AZURE_CLIENT_CERTIFICATE_PATH").empty()) {
    s.credential_source = CredentialSource::certificate_env;
    s.certificate_path = env_value(env, "AZURE_CLIENT_CERTIFICATE_PATH");
  } else if (!file.get("client_secret_file").empty() && !file.get("client_certificate_path").empty()) {
    return fail(ErrorKind::config, "config file " + s.config_file +
                                       " names both client_secret_file and client_certificate_path: keep one");
  } else if (!file.get("client_secret_file").empty()) {
    s.credential_source = CredentialSource::secret_file;
    s.secret_file = file.get("client_secret_file");
  } else if (!file.get("client_certificate_path").empty()) {
    s.credential_source = CredentialSource::certificate_file;
    s.certificate_path = file.get("client_certificate_path");
    s.certificate_key_path = file.get("client_certificate_key_path");
    s.certificate_password_file = file.get("client_certificate_password_file");
  }
  if (s.credential_source == CredentialSource::certificate_file) {
    if (s.certificate_key_path.empty()) s.certificate_key_path = o.client_certificate_key;
    if (s.certificate_password_file.empty())
      s.certificate_password_file = pick({o.client_certificate_password_file, file.get("client_certificate_password_file")});
  }
  if (s.credential_source != CredentialSource::certificate_file && !o.client_certificate_key.empty())
    return fail(ErrorKind::config, "--client-certificate-key needs --client-certificate");

  m_settings = std::move(s);
  return &*m_settings;
}

Result<std::shared_ptr<const auth::ClientCredential>> Context::credential() {
  if (m_credential) return m_credential;
  XDR_TRY_ASSIGN(const Settings* s, settings());
  if (s->client_id.empty())
    return fail(ErrorKind::config, "no client ID: pass --client-id, set AZURE_CLIENT_ID, or put \"client_id\" in the "
                                   "config file (the partner app's Application (client) ID)");
  if (!util::is_guid(s->client_id))
    return fail(ErrorKind::config, "client ID '" + s->client_id + "' is not a GUID: use the app's Application "
                                   "(client) ID from App registrations > Overview");
  auth::CertificateCredentialOptions cert_options;
  cert_options.algorithm = s->assertion_alg;
  cert_options.send_certificate_chain = s->send_certificate_chain;
  cert_options.clock = m_io.clock;

  switch (s->credential_source) {
  case CredentialSource::none:
    return fail(ErrorKind::config,
                "no client credential: set AZURE_CLIENT_SECRET, pass --client-secret-file FILE (chmod 600) or "
                "--client-secret-stdin, or a certificate with --client-certificate PATH (or "
                "AZURE_CLIENT_CERTIFICATE_PATH)");
  case CredentialSource::secret_stdin: {
    auto secret = auth::read_secret_stream(m_io.in, "client secret on standard input");
    if (!secret) return fail(ErrorKind::config, secret.error().message);
    m_credential = std::make_shared<auth::ClientSecretCredential>(s->client_id, std::move(*secret));
    break;
  }
  case CredentialSource::secret_file: {
    auto secret = auth::read_secret_file(s->secret_file, "client secret file");
    if (!secret) return fail(ErrorKind::config, secret.error().message);
    m_credential = std::make_shared<auth::ClientSecretCredential>(s->client_id, std::move(*secret));
    break;
  }
  case CredentialSource::secret_env: {
    auto value = m_io.env("AZURE_CLIENT_SECRET");
    m_credential = std::make_shared<auth::ClientSecretCredential>(s->client_id, auth::Secret(*value));
    break;
  }
  case CredentialSource::certificate_file:
  case CredentialSource::certificate_env: {
    auth::CertificateFiles files;
    files.certificate_path = s->certificate_path;
    files.key_path = s->certificate_key_path;
    files.password_file = s->certificate_password_file;
    if (files.password_file.empty()) {
      if (auto p = m_io.env ? m_io.env("AZURE_CLIENT_CERTIFICATE_PASSWORD") : std::nullopt) files.password = auth::Secret(*p);
    }
    auto cred = auth::ClientCertificateCredential::from_files(s->client_id, files, cert_options);
    if (!cred) {
      Error e = cred.error();
      e.kind = ErrorKind::config;
      return fail(std::move(e));
    }
    m_credential = std::move(*cred);
    break;
  }
  }
  return m_credential;
}

std::shared_ptr<http::Transport> Context::transport() {
  if (m_transport) return m_transport;
  http::PipelineOptions options;
  if (m_settings) options.transport.ca_file = m_settings->ca_file;
  options.inner = m_io.transport;
  options.retry.max_retries = 2;
  options.retry.clock = m_io.clock;
  if (m_options.verbose > 0) {
    std::ostream* err = &m_io.err;
    options.log.logger.sink = [err](std::string_view line) { *err << line << "\n"; };
    options.log.logger.level = m_options.verbose > 1 ? http::LogLevel::verbose : http::LogLevel::info;
  }
  m_transport = http::make_pipeline(std::move(options));
  return m_transport;
}

Result<auth::AuthClient*> Context::auth_client() {
  if (m_auth) return m_auth.get();
  XDR_TRY_ASSIGN(const Settings* s, settings());
  XDR_TRY_ASSIGN(auto cred, credential());
  auth::AuthClientOptions options;
  options.cloud = s->cloud;
  options.authority_host = s->authority_host;
  options.allowed_tenants = s->allowed_tenants;
  options.default_endpoint = s->endpoint;
  options.clock = m_io.clock;
  std::ostream* err = &m_io.err;
  options.cache.on_persistence_error = [err](const Error& e) {
    *err << "warning: token cache file: " << e.message << " (tokens are kept in memory for this run)\n";
  };
  if (!s->token_cache_file.empty()) {
    std::filesystem::path dir = std::filesystem::path(s->token_cache_file).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (!ec) ::chmod(dir.c_str(), 0700);
    }
    if (ec) {
      *err << "warning: cannot create the token cache directory " << dir.string() << ": " << ec.message()
           << " (tokens are kept in memory for this run; --no-cache-file silences this)\n";
    } else {
      options.persistent_cache_path = s->token_cache_file;
    }
  }
  auto client = auth::AuthClient::create(std::move(cred), transport(), std::move(options));
  if (!client) return fail(client.error());
  m_auth = std::move(*client);
  return m_auth.get();
}

} // namespace xdr::cli
