#include <gtest/gtest.h>

#include <xdr/auth/aadsts.hpp>
#include <xdr/auth/token_client.hpp>
#include <xdr/util/time.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

using namespace xdr;
using namespace xdr::auth;
namespace tst = xdr::testing;

namespace {

constexpr const char* k_trace = "0000aaaa-11bb-22cc-33dd-444444eeeeee";

struct Case {
  long long code;
  std::string error;
  int status;
  std::string gist;
  ErrorKind kind;
  std::vector<std::string> fragments;
};

Result<AccessToken> request_with(const std::string& body, int status, Cloud cloud = Cloud::global,
                                 std::vector<std::pair<std::string, std::string>> headers = {}) {
  auto transport = std::make_shared<tst::FakeTransport>();
  transport->push(status, body, std::move(headers));
  TokenClientOptions o;
  o.cloud = cloud;
  o.clock = std::make_shared<tst::FakeClock>();
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  auto client = TokenClient::create(cred, transport, o).value();
  return client->request_token(tst::k_tenant_a, "https://api.security.microsoft.com");
}

} // namespace

TEST(AuthAadsts, EveryKnownCodeSaysWhatToDo) {
  const std::string app = std::string("'") + tst::k_client_id + "'";
  const std::string tenant = std::string("'") + tst::k_tenant_a + "'";
  const std::vector<Case> cases = {
      {700016, "unauthorized_client", 400,
       "Application with identifier '" + std::string(tst::k_client_id) + "' was not found in the directory 'Contoso'.",
       ErrorKind::forbidden,
       {"the app " + app + " is not consented in tenant " + tenant,
        "send this consent link to an administrator of the tenant: "
        "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=" +
            std::string(tst::k_client_id) + "&response_type=code&sso_reload=true"}},
      {7000215, "invalid_client", 401, "Invalid client secret provided.", ErrorKind::unauthorized,
       {"wrong secret for app " + app, "use the secret's Value, not its Secret ID"}},
      {7000222, "invalid_client", 401, "The provided client secret keys for app are expired.", ErrorKind::unauthorized,
       {"has expired", "create a new secret", "use a certificate credential"}},
      {7000218, "invalid_client", 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
       ErrorKind::unauthorized, {"no client credential", "AZURE_CLIENT_SECRET"}},
      {90002, "invalid_tenant", 400, "Tenant 'x' not found.", ErrorKind::not_found,
       {"tenant " + tenant + " was not found by https://login.microsoftonline.com (cloud global)",
        "GCC High and DoD tenants", "login.microsoftonline.us"}},
      {900023, "invalid_request", 400, "Specified tenant identifier 'x' is neither a valid DNS name, nor a valid external domain.",
       ErrorKind::invalid_request, {"is not a valid tenant identifier"}},
      {500011, "invalid_resource", 400, "The resource principal named https://api.security.microsoft.com was not found in the tenant named Contoso.",
       ErrorKind::not_found,
       {"Defender XDR (or the resource 'https://api.security.microsoft.com') is not provisioned in the tenant " + tenant}},
      {70011, "invalid_scope", 400, "The provided value for the input parameter 'scope' is not valid.",
       ErrorKind::invalid_request, {"/.default"}},
      {1002012, "invalid_scope", 400, "The provided value for scope x is not valid.", ErrorKind::invalid_request,
       {"followed by /.default"}},
      {700022, "invalid_scope", 400, "InvalidMultipleResourcesScope", ErrorKind::invalid_request,
       {"more than one resource"}},
      {901002, "invalid_request", 400, "The 'resource' request parameter isn't supported.", ErrorKind::invalid_request,
       {"does not take 'resource'"}},
      {900144, "invalid_request", 400, "The request body must contain the following parameter: 'grant_type'.",
       ErrorKind::invalid_request, {"missing the parameter 'grant_type'"}},
      {70003, "unsupported_grant_type", 400, "The app requested an unsupported grant type.",
       ErrorKind::invalid_request, {"grant_type=client_credentials"}},
      {700027, "invalid_client", 401, "Client assertion failed signature validation.", ErrorKind::unauthorized,
       {"signature was not accepted", "not one uploaded to app " + app}},
      {700024, "invalid_client", 401, "Client assertion is not within its valid time range.", ErrorKind::unauthorized,
       {"check this machine's clock"}},
      {9001023, "invalid_request", 400, "The grant type isn't supported over the /common or /consumers endpoints.",
       ErrorKind::invalid_request, {"/common, /organizations or /consumers"}},
      {7000112, "unauthorized_client", 400, "Application is disabled.", ErrorKind::forbidden,
       {"the app " + app + " is disabled in tenant " + tenant}},
      {50001, "invalid_resource", 400, "The application named x was not found in the tenant named y.",
       ErrorKind::not_found, {"was not found or is disabled in tenant"}},
      {500014, "invalid_resource", 400, "The service principal for resource x is disabled.", ErrorKind::forbidden,
       {"is disabled in tenant " + tenant}},
      {90055, "temporarily_unavailable", 400, "TenantThrottlingError - There are too many incoming requests.",
       ErrorKind::rate_limited, {"throttling token requests for tenant " + tenant}},
      {50196, "invalid_request", 400, "LoopDetected - A client loop has been detected.", ErrorKind::rate_limited,
       {"reuse cached tokens"}},
  };
  for (const auto& c : cases) {
    auto r = request_with(tst::entra_error(c.error, c.code, c.gist), c.status);
    ASSERT_FALSE(r) << c.code;
    const Error& e = r.error();
    EXPECT_EQ(e.code, "AADSTS" + std::to_string(c.code));
    EXPECT_EQ(e.kind, c.kind) << c.code << ": " << to_string(e.kind);
    EXPECT_EQ(e.http_status, c.status);
    EXPECT_EQ(e.request_id, k_trace);
    for (const auto& frag : c.fragments)
      EXPECT_NE(e.message.find(frag), std::string::npos) << c.code << ": missing \"" << frag << "\" in: " << e.message;
    // The service's own first line is kept, without the trace/correlation lines.
    const std::string first = "AADSTS" + std::to_string(c.code) + ": " + c.gist;
    EXPECT_EQ(entra_summary(e), first) << e.message;
    EXPECT_NE(e.message.find(std::string("(trace ID ") + k_trace + ", correlation ID"), std::string::npos);
    EXPECT_EQ(e.message.find("Timestamp:"), std::string::npos);
    EXPECT_EQ(e.message.find(tst::k_secret), std::string::npos);
  }
}

TEST(AuthAadsts, ConsentMissingIsRecognisable) {
  auto r = request_with(tst::entra_error("unauthorized_client", 700016, "Application was not found."), 400);
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_consent_missing(r.error()));
  auto other = request_with(tst::entra_error("invalid_client", 7000215, "Invalid client secret provided."), 401);
  ASSERT_FALSE(other);
  EXPECT_FALSE(is_consent_missing(other.error()));
  EXPECT_NE(describe_error(r.error()).find("code: AADSTS700016"), std::string::npos);
  EXPECT_NE(describe_error(r.error()).find(std::string("trace ID: ") + k_trace), std::string::npos);
  EXPECT_NE(describe_error(r.error()).find("consent link"), std::string::npos);
}

TEST(AuthAadsts, UnknownTenantNamesTheCloudUsed) {
  auto r = request_with(tst::entra_error("invalid_tenant", 90002, "Tenant not found."), 400, Cloud::gcc_high);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("was not found by https://login.microsoftonline.us (cloud gcc-high)"),
            std::string::npos)
      << r.error().message;
}

TEST(AuthAadsts, UnknownCodeKeepsTheServiceDescription) {
  auto r = request_with(tst::entra_error("invalid_grant", 53003, "Access has been blocked by Conditional Access policies."), 400);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "AADSTS53003");
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_request);
  EXPECT_NE(r.error().message.find("Entra ID refused the token request for tenant"), std::string::npos);
  EXPECT_NE(r.error().message.find("AADSTS53003: Access has been blocked by Conditional Access policies."),
            std::string::npos);
  EXPECT_NE(r.error().message.find(k_trace), std::string::npos);
  // invalid_client without a known code is still unauthorized.
  auto ic = request_with(tst::entra_error("invalid_client", 7000999, "Something new."), 400);
  ASSERT_FALSE(ic);
  EXPECT_EQ(ic.error().kind, ErrorKind::unauthorized);
  // No error_codes array: the code comes from the description; no description: the OAuth error.
  auto no_codes = request_with(R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."})", 401);
  ASSERT_FALSE(no_codes);
  EXPECT_EQ(no_codes.error().code, "AADSTS7000215");
  auto bare = request_with(R"({"error":"server_error"})", 500);
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code, "server_error");
  EXPECT_EQ(bare.error().kind, ErrorKind::server);
}

TEST(AuthAadsts, ThrottlingAndRetryAfter) {
  auto r = request_with(tst::entra_error("temporarily_unavailable", 90055, "TenantThrottlingError"), 429,
                        Cloud::global, {{"Retry-After", "17"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(r.error().retry_after, std::chrono::seconds(17));
  auto s503 = request_with(tst::entra_error("temporarily_unavailable", 50001, "Service unavailable"), 503,
                           Cloud::global, {{"Retry-After", "5"}});
  ASSERT_FALSE(s503);
  EXPECT_EQ(s503.error().kind, ErrorKind::server);
  EXPECT_EQ(s503.error().retry_after, std::chrono::seconds(5));
  auto plain429 = request_with("Too Many Requests", 429, Cloud::global, {{"Retry-After", "9"}});
  ASSERT_FALSE(plain429);
  EXPECT_EQ(plain429.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(plain429.error().retry_after, std::chrono::seconds(9));
  // Throttling codes without Retry-After still get a wait.
  auto no_header = request_with(tst::entra_error("invalid_request", 50196, "LoopDetected"), 400);
  ASSERT_FALSE(no_header);
  ASSERT_TRUE(no_header.error().retry_after);
  EXPECT_GT(no_header.error().retry_after->count(), 0);
}

TEST(AuthAadsts, RetryAfterForms) {
  const auto now = util::from_unix(1'767'225'600);
  EXPECT_EQ(parse_retry_after("120", now), std::chrono::seconds(120));
  EXPECT_EQ(parse_retry_after(" 0 ", now), std::chrono::seconds(0));
  EXPECT_EQ(parse_retry_after(util::format_http_date(now + std::chrono::seconds(30)), now), std::chrono::seconds(30));
  EXPECT_EQ(parse_retry_after(util::format_http_date(now - std::chrono::seconds(30)), now), std::chrono::seconds(0));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("12abc", now));
  EXPECT_FALSE(parse_retry_after("", now));
}

TEST(AuthAadsts, ParseEntraErrorFields) {
  auto e = parse_entra_error(tst::entra_error("invalid_scope", 70011, "The scope is not valid."));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->error, "invalid_scope");
  EXPECT_EQ(e->code(), 70011);
  EXPECT_EQ(e->trace_id, k_trace);
  EXPECT_EQ(e->correlation_id, "aaaa0000-bb11-cc22-dd33-ee4444444444");
  EXPECT_EQ(e->timestamp, "2026-01-01 00:00:00Z");
  EXPECT_EQ(first_line(e->description), "AADSTS70011: The scope is not valid.");
  EXPECT_FALSE(parse_entra_error("<html></html>"));
  EXPECT_FALSE(parse_entra_error(R"({"error":{"code":"Forbidden"}})"));
}
