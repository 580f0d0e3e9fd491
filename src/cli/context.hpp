#pragma once
// What every command shares: the global options, the settings resolved from flags, environment and
// config file (in that order of precedence), the credential, the HTTP pipeline and the AuthClient.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdr/auth/auth_client.hpp>
#include <xdr/auth/credential.hpp>
#include <cli/cli.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/store/sqlite_store.hpp>
#include <xdr/util/result.hpp>

namespace xdr::cli {

// Global options exactly as given on the command line (empty: not given).
struct GlobalOptions {
  std::string client_id;
  std::string tenant;
  std::string cloud;
  std::string authority_host;
  std::string ca_file;
  std::string config_file;
  std::string output = "table";
  int verbose = 0;
  std::string client_secret_file;
  bool client_secret_stdin = false;
  std::string client_certificate;
  std::string client_certificate_key;
  std::string client_certificate_password_file;
  std::string assertion_alg;
  bool send_certificate_chain = false;
  std::string token_cache_file;
  bool no_cache_file = false;
  std::string db;
};

// The store file: `--db PATH`, else $XDR_DB, else $XDG_DATA_HOME/xdrpartner/xdrpartner.db, else
// ~/.local/share/xdrpartner/xdrpartner.db. Errors (config) when none of HOME, XDG_DATA_HOME or XDR_DB is set.
Result<std::string> resolve_db_path(const std::string& flag, const auth::Environment& env);

// Where the client credential comes from.
enum class CredentialSource { none, secret_stdin, secret_file, secret_env, certificate_file, certificate_env };

// The effective configuration of one run.
struct Settings {
  std::string config_file; // the file read, if any
  std::string client_id;
  std::string tenant;
  auth::Cloud cloud = auth::Cloud::global;
  std::string authority_host; // normalised; the cloud's login host when nothing overrides it
  std::string ca_file;        // empty: the system store
  std::string token_cache_file; // empty: tokens are kept in memory only
  std::vector<std::string> allowed_tenants;
  auth::EndpointVersion endpoint = auth::EndpointVersion::v2;
  std::vector<std::string> resources{"xdr"}; // what doctor checks and consent-url asks for
  std::map<std::string, std::vector<std::string>> required_roles; // resource alias -> roles the features need
  CredentialSource credential_source = CredentialSource::none;
  std::string secret_file;
  std::string certificate_path;
  std::string certificate_key_path;
  std::string certificate_password_file;
  auth::AssertionAlgorithm assertion_alg = auth::AssertionAlgorithm::ps256_x5t_s256;
  bool send_certificate_chain = false;
};

// A readable name of a credential source ("client secret from --client-secret-file FILE").
std::string describe_source(const Settings& settings);

// The roles the features need by default: Incident.Read.All and AdvancedHunting.Read.All (xdr).
std::map<std::string, std::vector<std::string>> default_required_roles();

// Per-run state, built lazily: commands that need no credential never read one.
class Context {
public:
  Context(CliIo& io, GlobalOptions& options) : m_io(io), m_options(options) {}

  CliIo& io() { return m_io; }
  const GlobalOptions& options() const { return m_options; }
  bool json_output() const { return m_options.output == "json"; }

  // The settings (config file read once). Errors (config) name the flag, variable or key at fault.
  Result<const Settings*> settings();
  // The client credential; errors when none is configured or it cannot be loaded.
  Result<std::shared_ptr<const auth::ClientCredential>> credential();
  // The HTTP pipeline (retry, redacting log on -v, TLS with the configured CA file).
  std::shared_ptr<http::Transport> transport();
  // The AuthClient over credential() and transport(), with the persistent token cache.
  Result<auth::AuthClient*> auth_client();
  // The store at resolve_db_path (its directory created 0700 when it is the default one; the file 0600).
  // `read_only`: the file must exist and is not changed. Errors: config (no path), storage (see SqliteStore).
  Result<store::Store*> store(bool read_only = false);
  // The store file's path (for messages); empty before store() succeeded.
  const std::string& db_path() const { return m_db_path; }
  // Whether standard error is a terminal (for progress bars).
  bool stderr_is_terminal() const;

  // Prints `error` to stderr (readable, with advice) and returns its exit code: 2 for
  // configuration errors, 1 otherwise.
  int report(const Error& error);
  // Prints a usage error and returns 2.
  int usage(const std::string& message);

private:
  CliIo& m_io;
  GlobalOptions& m_options;
  std::optional<Settings> m_settings;
  std::shared_ptr<const auth::ClientCredential> m_credential;
  std::shared_ptr<http::Transport> m_transport;
  std::unique_ptr<auth::AuthClient> m_auth;
  std::unique_ptr<store::SqliteStore> m_store;
  std::string m_db_path;
};

// The exit code for an error: 2 for ErrorKind::config, 1 otherwise.
int exit_code_for(const Error& error);

} // namespace xdr::cli
