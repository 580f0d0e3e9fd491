#include <cli/cli.hpp>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include <cli/commands/commands.hpp>
#include <cli/context.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

constexpr const char* k_root_footer = R"(Examples:
  export AZURE_CLIENT_ID=6a3c9f2e-4b1d-4e8a-9c7b-2d5e8f1a3b6c
  xdrpartner consent-url --v1
  xdrpartner token get --tenant contoso.onmicrosoft.com --client-secret-file ~/.config/xdrpartner/secret
  xdrpartner token get --tenant contoso.onmicrosoft.com --raw | xdrpartner token validate - --require-role Incident.Read.All
  xdrpartner doctor --tenant contoso.onmicrosoft.com
  xdrpartner tenants add fabrikam.onmicrosoft.com --label env=prod && xdrpartner tenants check
  xdrpartner sync --db partner.db && xdrpartner report --db partner.db
  xdrpartner incidents list --tenant contoso.onmicrosoft.com --status Active --since 7d
  xdrpartner hunt --tenant contoso.onmicrosoft.com 'AlertInfo | summarize count() by Severity'

Credentials: AZURE_CLIENT_SECRET, --client-secret-file FILE (chmod 600), --client-secret-stdin, or a certificate
(--client-certificate PATH, AZURE_CLIENT_CERTIFICATE_PATH). There is no --client-secret option: a secret on the
command line is visible to other users of the machine.
Environment: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH,
AZURE_CLIENT_CERTIFICATE_PASSWORD, AZURE_AUTHORITY_HOST, SSL_CERT_FILE, XDRPARTNER_CONFIG, XDG_CACHE_HOME,
XDR_API_BASE, XDR_GRAPH_BASE, COLUMNS.
Precedence: command line, then environment, then the config file.
Exit codes: 0 success, 1 a service or validation failure, 2 a usage or configuration error; over many tenants
(tenants check, sync): 3 some tenants failed (each tenant's line says why), 130 stopped by Ctrl-C.)";

// A secret given as an argument is refused before anything is parsed, without echoing it.
std::optional<std::string> refused_argument(const std::vector<std::string>& args) {
  for (const auto& a : args) {
    if (a == "--client-secret" || a.rfind("--client-secret=", 0) == 0 || a == "--secret" ||
        a.rfind("--secret=", 0) == 0 || a == "--certificate-password" || a.rfind("--certificate-password=", 0) == 0 ||
        a == "--client-certificate-password" || a.rfind("--client-certificate-password=", 0) == 0) {
      return a.substr(0, a.find('='));
    }
  }
  return std::nullopt;
}

void add_global_options(CLI::App& app, GlobalOptions& o) {
  const char* g = "Global";
  app.add_option("--client-id", o.client_id, "The partner app's Application (client) ID (env AZURE_CLIENT_ID)")
      ->group(g);
  app.add_option("--tenant", o.tenant, "Customer tenant: ID (GUID) or domain (env AZURE_TENANT_ID)")->group(g);
  app.add_option("--cloud", o.cloud, "global | gcc | gcc-high | dod (default global)")
      ->check(CLI::IsMember({"global", "gcc", "gcc-high", "dod"}, CLI::ignore_case))
      ->group(g);
  app.add_option("--authority-host", o.authority_host,
                 "Entra ID host, e.g. https://login.microsoftonline.us (env AZURE_AUTHORITY_HOST)")
      ->group(g);
  app.add_option("--ca-file", o.ca_file, "Trusted CA certificates (PEM) instead of the system store (env SSL_CERT_FILE)")
      ->group(g);
  app.add_option("--config", o.config_file, "JSON config file (env XDRPARTNER_CONFIG); see docs/cli/config.md")
      ->group(g);
  app.add_option("--output", o.output,
                 "table | json (default table); incidents and hunt also take ndjson and csv")
      ->check(CLI::IsMember({"table", "json", "ndjson", "csv"}))
      ->group(g);
  app.add_flag("-v,--verbose", o.verbose, "Log HTTP requests to stderr (redacted); -vv adds headers")->group(g);
  const char* c = "Credential";
  app.add_option("--client-secret-file", o.client_secret_file,
                 "Read the client secret from FILE (must not be readable by group or others)")
      ->group(c);
  app.add_flag("--client-secret-stdin", o.client_secret_stdin, "Read the client secret from the first line of stdin")
      ->group(c);
  app.add_option("--client-certificate", o.client_certificate,
                 "Certificate credential: PEM (certificate and key) or .pfx/.p12 (env AZURE_CLIENT_CERTIFICATE_PATH)")
      ->group(c);
  app.add_option("--client-certificate-key", o.client_certificate_key, "The private key in its own PEM file")->group(c);
  app.add_option("--client-certificate-password-file", o.client_certificate_password_file,
                 "File holding the .pfx or key password (env AZURE_CLIENT_CERTIFICATE_PASSWORD)")
      ->group(c);
  app.add_option("--assertion-alg", o.assertion_alg, "ps256 (x5t#S256, default) | rs256 (x5t)")
      ->check(CLI::IsMember({"ps256", "rs256"}, CLI::ignore_case))
      ->group(c);
  app.add_flag("--send-certificate-chain", o.send_certificate_chain, "Add x5c to the assertion (subject-name/issuer auth)")
      ->group(c);
  const char* t = "Token cache";
  app.add_option("--token-cache-file", o.token_cache_file,
                 "Persistent token cache (default $XDG_CACHE_HOME/xdrpartner/tokens.json or ~/.cache/xdrpartner/tokens.json)")
      ->group(t);
  app.add_flag("--no-cache-file", o.no_cache_file, "Keep tokens in memory only for this run")->group(t);
  app.add_option("--db", o.db,
                 "The store: tenant registry and synced incidents (env XDR_DB; default "
                 "~/.local/share/xdrpartner/xdrpartner.db)")
      ->group("Store");
}

int run_parsed(const std::vector<std::string>& args, CliIo& io) {
  if (auto refused = refused_argument(args)) {
    io.err << "error: " << *refused
           << " is refused: a secret given on the command line is visible to every user of this machine (ps, "
              "/proc/<pid>/cmdline) and stays in the shell history.\n"
              "  Give the client secret with AZURE_CLIENT_SECRET, --client-secret-file FILE (chmod 600) or "
              "--client-secret-stdin; a certificate password with --client-certificate-password-file or "
              "AZURE_CLIENT_CERTIFICATE_PASSWORD.\n";
    return k_exit_usage;
  }

  GlobalOptions options;
  Context ctx(io, options);
  CLI::App root{"xdrpartner: tokens, consent links, diagnostics, the tenant registry and reports for a Microsoft "
                "Defender XDR partner app (one multi-tenant Entra ID app, many customer tenants).",
                "xdrpartner"};
  root.footer(k_root_footer);
  root.require_subcommand(1);
  root.fallthrough();
  add_global_options(root, options);

  std::vector<Command> commands;
  commands.push_back(add_consent_url(root, ctx));
  CLI::App* token = root.add_subcommand("token", "Get, decode or validate access tokens");
  token->require_subcommand(1);
  token->footer("Examples:\n  xdrpartner token get --tenant contoso.onmicrosoft.com\n"
                "  xdrpartner token get --tenant T --raw | xdrpartner token decode\n" +
                std::string(k_exit_codes_help));
  commands.push_back(add_token_get(*token, ctx));
  commands.push_back(add_token_decode(*token, ctx));
  commands.push_back(add_token_validate(*token, ctx));
  commands.push_back(add_doctor(root, ctx));
  add_tenants(root, ctx, commands);
  commands.push_back(add_report(root, ctx));
  commands.push_back(add_incidents(root, ctx));
  commands.push_back(add_hunt(root, ctx));
  commands.push_back(add_sync(root, ctx));

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    root.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    root.exit(e, io.out, io.err);
    return k_exit_ok;
  } catch (const CLI::CallForAllHelp& e) {
    root.exit(e, io.out, io.err);
    return k_exit_ok;
  } catch (const CLI::ExtrasError&) {
    // CLI11 would echo the extra arguments; a value may be a secret pasted in the wrong place, so
    // only option names are repeated.
    std::vector<std::string> names;
    for (CLI::App* app = &root; app != nullptr;) {
      for (const auto& extra : app->remaining())
        if (extra.size() > 1 && extra[0] == '-') names.push_back(extra.substr(0, extra.find('=')));
      auto selected = app->get_subcommands();
      app = selected.empty() ? nullptr : selected.front();
    }
    io.err << "error: unexpected argument(s)";
    if (!names.empty()) io.err << ": " << util::join(names, ", ");
    io.err << " (values are not repeated here in case one is a secret)\n"
              "  run 'xdrpartner <command> --help' for what each command takes\n";
    return k_exit_usage;
  } catch (const CLI::ParseError& e) {
    root.exit(e, io.out, io.err);
    return k_exit_usage;
  }
  for (const auto& command : commands) {
    if (command.app->parsed()) return command.run();
  }
  io.err << "error: no command given\n  run 'xdrpartner --help' for the commands\n";
  return k_exit_usage;
}

} // namespace

int run(const std::vector<std::string>& args, CliIo io) {
  if (!io.clock) io.clock = util::system_clock();
  try {
    int code = run_parsed(args, io);
    io.out.flush();
    io.err.flush();
    return code;
  } catch (const Fatal& e) {
    io.err << "error: " << e.what() << "\n";
    return k_exit_usage;
  } catch (const std::exception& e) {
    io.err << "internal error: " << e.what() << "\n  please report this with the command you ran (without secrets)\n";
    return k_exit_failure;
  }
}

namespace {

fleet::CancelToken g_cancel;

// The first Ctrl-C stops new work and lets running calls finish; a second one ends the process at once.
extern "C" void on_sigint(int) {
  if (g_cancel.cancelled()) {
    ::signal(SIGINT, SIG_DFL);
    ::raise(SIGINT);
    return;
  }
  g_cancel.cancel();
  static const char message[] = "\nstopping: no new tenants are started; running calls finish (Ctrl-C again to quit now)\n";
  [[maybe_unused]] auto written = ::write(STDERR_FILENO, message, sizeof message - 1);
}

} // namespace

int run(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  CliIo io{std::cin, std::cout, std::cerr, auth::process_environment(), nullptr, util::system_clock()};
  io.cancel = &g_cancel;
  return run(args, io);
}

} // namespace xdr::cli
