// Warm-key token validation throughput versus a bare RSA-2048 verify (what `openssl speed rsa2048`
// measures), single-threaded, per second of thread CPU time. Target: validation >= 80% of bare verify/s.
// usage: bench_validate [seconds per measurement, default 1]

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/validate/token_validator.hpp>

namespace {

using namespace xdr;

const std::string k_tenant = "8f3c7d2e-1a2b-4c3d-9e8f-0123456789ab";
const std::string k_authority = "https://login.microsoftonline.com";

// Serves one tenant's v1 metadata and JWKS.
class StaticEntra : public http::Transport {
public:
  explicit StaticEntra(std::string jwks) : m_jwks(std::move(jwks)) {}
  Result<http::Response> send(const http::Request& request) override {
    http::Response r;
    r.status = 200;
    if (request.url.find("openid-configuration") != std::string::npos)
      r.body = Json{{"issuer", "https://sts.windows.net/" + k_tenant + "/"},
                    {"jwks_uri", k_authority + "/" + k_tenant + "/discovery/keys"}}
                   .dump();
    else
      r.body = m_jwks;
    return r;
  }

private:
  std::string m_jwks;
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Operations per second of this thread's CPU time (robust to other processes sharing the cores).
template <class F>
double per_cpu_second(double seconds, F&& f) {
  double start = thread_cpu_seconds();
  long n = 0;
  while (thread_cpu_seconds() - start < seconds) {
    for (int i = 0; i < 100; ++i) f();
    n += 100;
  }
  return static_cast<double>(n) / (thread_cpu_seconds() - start);
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  auto key = crypto::RsaPrivateKey::generate_deterministic("bench-validate", 2048);
  auto pub = key.public_key();
  Json jwk = {{"kty", "RSA"}, {"use", "sig"}, {"kid", "k1"}, {"x5t", "k1"},
              {"n", util::base64url_encode(pub.modulus())}, {"e", util::base64url_encode(pub.exponent())}};
  auto clock = util::system_clock();
  int64_t now = util::to_unix(clock->now());
  Json claims = {{"aud", "https://api.security.microsoft.com"}, {"iss", "https://sts.windows.net/" + k_tenant + "/"},
                 {"iat", now - 300}, {"nbf", now - 300}, {"exp", now + 3600},
                 {"aio", "E2BgYGAtTs258t5NtmeuveDN2979AA=="}, {"appid", "11111111-2222-3333-4444-555555555555"},
                 {"appidacr", "2"}, {"idp", "https://sts.windows.net/" + k_tenant + "/"}, {"idtyp", "app"},
                 {"oid", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}, {"rh", "0.AR8AvHhxJ8_bvUmX1v7nQ9y0bFQ3AAAAAAAAwAAAAAAAAAAfAAA."},
                 {"roles", {"Incident.Read.All", "AdvancedHunting.Read.All"}}, {"sub", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"},
                 {"tid", k_tenant}, {"uti", "41oex9rUzU28oibY_D0hAA"}, {"ver", "1.0"}};
  std::string token = *jwt::sign({{"typ", "JWT"}, {"kid", "k1"}, {"x5t", "k1"}}, claims, key);

  auto store = std::make_shared<validate::KeyStore>(
      std::make_shared<StaticEntra>(Json{{"keys", {jwk}}}.dump()));
  validate::ValidationOptions options;
  options.expected_tenant = k_tenant;
  options.accepted_audiences = {"https://api.security.microsoft.com"};
  options.required_roles = {"AdvancedHunting.Read.All"};
  validate::TokenValidator validator(store, options);
  auto first = validator.validate(token);
  if (!first) {
    std::fprintf(stderr, "validation failed: %s\n", first.error().message.c_str());
    return 1;
  }

  // Bare verify: a prepared context and a precomputed digest, as `openssl speed` does.
  size_t dot = token.rfind('.');
  std::string input = token.substr(0, dot);
  std::string signature = *util::base64url_decode(token.substr(dot + 1));
  unsigned char digest[32];
  unsigned int digest_len = 0;
  EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha256(), nullptr);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pub.raw(), nullptr);
  EVP_PKEY_verify_init(ctx);
  EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
  int ok = 0;
  long accepted = 0;
  auto bare_once = [&] {
    ok += EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(), digest,
                          digest_len);
  };
  auto full_once = [&] { accepted += validator.validate(token).has_value(); };
  // Interleaved rounds, best of each: CPU frequency and cache sharing drift while others run.
  double bare = 0, full = 0;
  for (int round = 0; round < 3; ++round) {
    bare = std::max(bare, per_cpu_second(seconds / 3, bare_once));
    full = std::max(full, per_cpu_second(seconds / 3, full_once));
  }
  EVP_PKEY_CTX_free(ctx);
  std::printf("bare RSA-2048 verify:        %9.0f /s\n", bare);
  std::printf("warm TokenValidator::validate: %7.0f /s  (%.0f%% of bare verify; target >= 80%%)\n", full,
              100.0 * full / bare);
  return ok > 0 && accepted > 0 ? 0 : 1;
}
