#pragma once
// Each command adds its CLI11 subcommand and returns the function that runs it once parsed.

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include <cli/context.hpp>

namespace xdr::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run; // the exit code
};

// `consent-url [--redirect-uri U] [--state S] [--resource R]... [--v1 | --v2]`
Command add_consent_url(CLI::App& root, Context& ctx);
// `token get [--resource R] [--endpoint v1|v2] [--raw] [--force-refresh]`
Command add_token_get(CLI::App& token, Context& ctx);
// `token decode [TOKEN|-]`
Command add_token_decode(CLI::App& token, Context& ctx);
// `token validate [TOKEN|-] [--audience A]... [--require-role R]...`
Command add_token_validate(CLI::App& token, Context& ctx);
// `doctor [--resource R]...`
Command add_doctor(CLI::App& root, Context& ctx);
// `tenants add|list|remove|import|enable|disable|check`: one Command per subcommand, appended to `commands`.
void add_tenants(CLI::App& root, Context& ctx, std::vector<Command>& commands);
// `report`: incidents per tenant by severity and status, and the tenants' health, from the store.
Command add_report(CLI::App& root, Context& ctx);
// `incidents list|get ID|update ID ...` (Defender XDR or Graph security API)
Command add_incidents(CLI::App& root, Context& ctx);
// `sync [--api legacy|graph] [--watch INTERVAL] [--overlap DURATION] [--concurrency N]`: every enabled tenant's
// incidents into the store, incrementally.
Command add_sync(CLI::App& root, Context& ctx);
// `hunt [QUERY | -f FILE] [--timespan P7D] [--split-by-time] [--api legacy|mde|graph]`
Command add_hunt(CLI::App& root, Context& ctx);

// The text every command's help ends with.
inline constexpr const char* k_exit_codes_help =
    "Exit codes: 0 success, 1 a service or validation failure, 2 a usage or configuration error.\n"
    "Global options (--tenant, --client-id, --cloud, --authority-host, --ca-file, --config, --output, -v and the "
    "credential options) go before or after the command; see 'xdrpartner --help'.";

} // namespace xdr::cli
