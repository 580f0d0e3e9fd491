// `xdrpartner token decode`: a JWT's header and claims, with readable times. Nothing is verified.

#include <memory>
#include <sstream>

#include <cli/commands/commands.hpp>
#include <cli/output.hpp>
#include <xdr/jwt/token.hpp>

namespace xdr::cli {

namespace {

struct TokenDecodeOptions {
  std::string token;
};

int run_token_decode(Context& ctx, const TokenDecodeOptions& o) {
  auto text = read_token_argument(o.token, ctx.io().in);
  if (!text) return ctx.usage(text.error().message);
  auto decoded = jwt::decode(*text);
  if (!decoded) {
    ctx.io().err << "error: this is not a JWT (" << jwt::to_string(decoded.error().reason)
                 << "): " << decoded.error().message
                 << "\n  pass a whole access token (three base64url parts separated by dots)\n";
    return k_exit_failure;
  }
  const auto now = ctx.io().clock->now();
  const Json& claims = decoded->payload;
  auto& out = ctx.io().out;

  Json times = Json::object();
  std::vector<std::pair<std::string, std::string>> time_fields;
  for (const char* name : {"iat", "nbf", "exp"}) {
    if (auto t = claim_time(claims, name)) {
      times[name] = format_time(*t);
      time_fields.emplace_back(name, format_time_with_relative(*t, now));
    }
  }
  if (ctx.json_output()) {
    out << Json{{"header", decoded->header}, {"claims", claims}, {"times", times}, {"signature_verified", false}}.dump(2)
        << "\n";
    return k_exit_ok;
  }
  out << "header:\n" << decoded->header.dump(2) << "\n";
  out << "claims:\n" << claims.dump(2) << "\n";
  if (!time_fields.empty()) {
    out << "times:\n";
    std::ostringstream block;
    print_fields(block, time_fields);
    std::istringstream lines(block.str());
    for (std::string line; std::getline(lines, line);) out << "  " << line << "\n";
  }
  if (auto exp = claim_time(claims, "exp"); exp && *exp <= now) out << "note: this token has expired\n";
  out << "signature: not verified (use 'xdrpartner token validate' to check it against the tenant's keys)\n";
  return k_exit_ok;
}

} // namespace

Command add_token_decode(CLI::App& token, Context& ctx) {
  auto o = std::make_shared<TokenDecodeOptions>();
  CLI::App* app = token.add_subcommand("decode", "Show a token's header and claims (without verifying it)");
  app->add_option("token", o->token, "The token, or '-' (or nothing) to read standard input");
  app->footer("Reading the token from standard input keeps it out of the process list and shell history.\n"
              "Examples:\n"
              "  xdrpartner token get --tenant fabrikam.onmicrosoft.com --raw | xdrpartner token decode\n"
              "  xdrpartner token decode - < token.txt\n" +
              std::string(k_exit_codes_help));
  return {app, [&ctx, o] { return run_token_decode(ctx, *o); }};
}

} // namespace xdr::cli
