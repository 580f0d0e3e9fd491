#include <gtest/gtest.h>

#include <xdr/http/log_policy.hpp>
#include <xdr/http/redact.hpp>

#include "fakes/fake_transport.hpp"

using namespace std::chrono_literals;
using xdr::http::LoggingTransport;
using xdr::http::LogLevel;
using xdr::http::LogOptions;
using xdr::http::Request;
using xdr::testing::FakeTransport;

namespace {

struct Captured {
  std::vector<std::string> lines;
  std::shared_ptr<FakeTransport> fake = std::make_shared<FakeTransport>();
  std::chrono::steady_clock::time_point t{};

  LogOptions options(LogLevel level) {
    LogOptions o;
    o.logger.level = level;
    o.logger.sink = [this](std::string_view line) { lines.emplace_back(line); };
    // Each reading of the clock moves it by 42 ms: start and end of one attempt.
    o.now = [this] { return t += 42ms; };
    return o;
  }
  std::string all() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

Request secret_request() {
  Request r;
  r.method = "POST";
  r.url = "https://api.example/oauth2/token?$top=10&client_secret=s3cr3t-Value&api-version=1.0#frag";
  r.headers.set("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.secret-token");
  r.headers.set("Cookie", "session=cookie-secret");
  r.headers.set("Content-Type", "application/x-www-form-urlencoded");
  r.headers.set("X-Custom", "custom-secret");
  r.body = "client_id=abc&client_secret=body-secret";
  return r;
}

} // namespace

TEST(LogPolicy, RedactsQuerySecretsAuthorizationCookiesAndBodies) {
  Captured c;
  c.fake->push(200, "{\"access_token\":\"response-secret\"}",
               {{"Content-Type", "application/json"}, {"Set-Cookie", "id=set-cookie-secret"}, {"x-ms-request-id", "rid-1"}});
  LoggingTransport log(c.fake, c.options(LogLevel::verbose));
  auto r = log.send(secret_request());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "{\"access_token\":\"response-secret\"}") << "logging must not alter the response";
  ASSERT_EQ(c.lines.size(), 3u) << c.all();
  EXPECT_EQ(c.lines[0], "HTTP request headers: authorization: REDACTED, cookie: REDACTED, "
                        "content-type: application/x-www-form-urlencoded, x-custom: REDACTED");
  EXPECT_EQ(c.lines[1],
            "HTTP POST https://api.example/oauth2/token?$top=10&client_secret=REDACTED&api-version=1.0 -> 200 (42 ms)");
  EXPECT_EQ(c.lines[2], "HTTP response headers: content-type: application/json, set-cookie: REDACTED, "
                        "x-ms-request-id: rid-1");
  for (std::string secret : {"s3cr3t-Value", "eyJhbGciOiJSUzI1NiJ9", "secret-token", "cookie-secret", "custom-secret",
                             "body-secret", "response-secret", "set-cookie-secret", "frag"})
    EXPECT_EQ(c.all().find(secret), std::string::npos) << secret << " leaked:\n" << c.all();
  // The request reached the transport unchanged.
  EXPECT_EQ(c.fake->requests().at(0).headers.get("authorization"), "Bearer eyJhbGciOiJSUzI1NiJ9.secret-token");
}

TEST(LogPolicy, InfoLevelLogsOnlyTheRequestLine) {
  Captured c;
  c.fake->push(404, "");
  LoggingTransport log(c.fake, c.options(LogLevel::info));
  ASSERT_TRUE(log.send(secret_request()));
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_NE(c.lines[0].find("-> 404 (42 ms)"), std::string::npos);
}

TEST(LogPolicy, NothingIsLoggedWhenOffOrWithoutSink) {
  Captured c;
  c.fake->push(200, "");
  c.fake->push(200, "");
  LoggingTransport off(c.fake, c.options(LogLevel::off));
  ASSERT_TRUE(off.send(secret_request()));
  LogOptions no_sink;
  no_sink.logger.level = LogLevel::verbose;
  LoggingTransport silent(c.fake, no_sink);
  ASSERT_TRUE(silent.send(secret_request()));
  EXPECT_TRUE(c.lines.empty());
  EXPECT_EQ(c.fake->count(), 2u);
}

TEST(LogPolicy, ErrorsAreLoggedWithQueryValuesScrubbed) {
  Captured c;
  c.fake->push_error(xdr::Error(xdr::ErrorKind::transport, "failed to fetch ?client_secret=s3cr3t-Value from upstream"));
  LoggingTransport log(c.fake, c.options(LogLevel::info));
  auto r = log.send(secret_request());
  ASSERT_FALSE(r);
  ASSERT_EQ(c.lines.size(), 1u);
  EXPECT_EQ(c.lines[0], "HTTP POST https://api.example/oauth2/token?$top=10&client_secret=REDACTED&api-version=1.0"
                        " -> error transport: failed to fetch ?client_secret=REDACTED from upstream (42 ms)");
}

TEST(LogPolicy, AllowListCannotExposeAuthorization) {
  Captured c;
  c.fake->push(200, "");
  auto options = c.options(LogLevel::verbose);
  options.allowed_headers.insert("authorization");
  options.allowed_headers.insert("x-custom");
  LoggingTransport log(c.fake, options);
  ASSERT_TRUE(log.send(secret_request()));
  EXPECT_EQ(c.all().find("secret-token"), std::string::npos);
  EXPECT_NE(c.all().find("x-custom: custom-secret"), std::string::npos);
}

TEST(Redact, UrlUserInfoAndEncodedNames) {
  using xdr::http::redact_url;
  EXPECT_EQ(redact_url("https://user:pa55word@host.example:8443/p?a=1"), "https://host.example:8443/p?a=REDACTED");
  EXPECT_EQ(redact_url("https://host/p?%24top=5&flag&b=", {"$top"}), "https://host/p?%24top=5&flag&b=REDACTED");
  EXPECT_EQ(redact_url("https://host/p"), "https://host/p");
  EXPECT_EQ(redact_url("https://host/p?API-Version=2", {"api-version"}), "https://host/p?API-Version=2");
}
