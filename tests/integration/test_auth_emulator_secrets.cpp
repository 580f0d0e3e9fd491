// Secrets and tokens never leak: verbose HTTP logs, Error messages, describe() output and the
// emulator's request log, for a wrong secret, a right one, HTTP Basic and a certificate.

#include "auth_emulator_support.hpp"

#include <xdr/auth/aadsts.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

class AuthSecretsTest : public AuthEmulatorTest {
protected:
  std::shared_ptr<http::Transport> logging_pipeline() {
    http::PipelineOptions o;
    o.transport.ca_file = emulator->ca_file();
    o.log.logger.level = http::LogLevel::verbose;
    o.log.logger.sink = [this](std::string_view line) {
      std::lock_guard lock(m_mutex);
      lines.emplace_back(line);
    };
    o.retry.sleep = [](std::chrono::milliseconds) {};
    return http::make_pipeline(o);
  }
  std::string all_lines() {
    std::lock_guard lock(m_mutex);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
  // Everything a person or a log collector could see.
  std::string visible(const std::vector<Error>& errors) {
    std::string out = all_lines() + control("GET", "/_emulator/requests").dump();
    for (const Error& e : errors) out += e.message + "\n" + auth::describe_error(e) + e.code + e.request_id;
    return out;
  }
  static void expect_absent(const std::string& haystack, const std::string& secret, const std::string& what) {
    ASSERT_GE(secret.size(), 16u) << what;
    EXPECT_EQ(haystack.find(secret), std::string::npos) << what << " leaked";
    EXPECT_EQ(haystack.find(util::form_encode(secret)), std::string::npos) << what << " leaked (form-encoded)";
    EXPECT_EQ(haystack.find(secret.substr(secret.size() - 12)), std::string::npos) << what << " leaked (its end)";
  }

  std::mutex m_mutex;
  std::vector<std::string> lines;
};

TEST_F(AuthSecretsTest, WrongAndRightSecretNeverAppear) {
  const std::string wrong = "wr0ng+secret/" + crypto::random_guid();
  std::vector<Error> errors;
  std::vector<std::string> tokens;
  for (bool basic : {false, true}) {
    auth::AuthClientOptions o;
    o.secret_in_basic_auth = basic;
    auto bad = make_client(secret_credential(wrong), logging_pipeline(), o);
    auto r = bad->get_token(k_fabrikam, "xdr");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "AADSTS7000215");
    errors.push_back(r.error());

    auto good = make_client(secret_credential(), logging_pipeline(), o);
    for (auto v : {auth::EndpointVersion::v1, auth::EndpointVersion::v2}) {
      auto t = good->refresh_token(k_fabrikam, "xdr", v);
      ASSERT_TRUE(t) << t.error().message;
      tokens.push_back(t->value().reveal());
    }
    // A refusal after a good token (consent missing) must not leak either.
    auto refused = good->get_token(k_tailspin, "xdr");
    ASSERT_FALSE(refused);
    errors.push_back(refused.error());
  }
  const std::string logs = all_lines();
  EXPECT_NE(logs.find("HTTP POST " + emulator->url() + "/" + k_fabrikam + "/oauth2/v2.0/token -> 401"), std::string::npos)
      << logs;
  EXPECT_NE(logs.find("-> 200"), std::string::npos);
  EXPECT_NE(logs.find("authorization: REDACTED"), std::string::npos) << "verbose lines show the header, redacted";

  const std::string seen = visible(errors);
  expect_absent(seen, wrong, "the wrong secret");
  expect_absent(seen, identity.secret, "the client secret");
  for (const auto& t : tokens) {
    expect_absent(seen, t, "an access token");
    expect_absent(seen, t.substr(t.rfind('.') + 1), "an access token's signature");
  }
}

TEST_F(AuthSecretsTest, CertificateAssertionNeverAppears) {
  auto recorder = std::make_shared<RecordingTransport>(logging_pipeline());
  auto cred = auth::ClientCertificateCredential::create(k_app, identity.cert_key, cert(), {});
  ASSERT_TRUE(cred);
  auto client = make_client(*cred, recorder);
  auto ok = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(ok) << ok.error().message;
  auto refused = client->get_token(k_tailspin, "xdr");
  ASSERT_FALSE(refused);
  ASSERT_EQ(recorder->requests().size(), 2u);
  const std::string seen = visible({refused.error()});
  for (const auto& req : recorder->requests()) {
    std::string assertion = util::form_get(form_of(req), "client_assertion").value_or("");
    ASSERT_FALSE(assertion.empty());
    expect_absent(seen, assertion.substr(assertion.rfind('.') + 1), "an assertion's signature");
  }
  expect_absent(seen, ok->value().reveal(), "the access token");
  EXPECT_EQ(seen.find("PRIVATE KEY"), std::string::npos);
}

} // namespace
