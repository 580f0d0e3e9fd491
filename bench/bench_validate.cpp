// Warm-key token validation throughput versus RSA-2048 verify, single-threaded, per second of CPU
// time: `openssl speed rsa2048` verify/s (1 core, measured in the same run; it divides by user CPU
// time) and a bare EVP verify in this process. Target: validation >= 80% of openssl's verify/s.
// usage: bench_validate [seconds per measurement, default 1]

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
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

// The verify/s column of the "rsa 2048 bits" line of `openssl speed rsa2048`; nullopt if absent.
std::optional<double> openssl_speed_verify(double seconds) {
  std::string cmd = "openssl speed -seconds " + std::to_string(std::max(1, static_cast<int>(seconds + 0.5))) +
                    " rsa2048 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  pclose(pipe);
  std::optional<double> rate;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    size_t at = line.find("rsa 2048 bits");
    if (at == std::string::npos) continue;
    std::istringstream fields(line.substr(at + 13));
    std::string sign_time, verify_time;
    double sign_per_s = 0, verify_per_s = 0;
    if (fields >> sign_time >> verify_time >> sign_per_s >> verify_per_s) rate = verify_per_s;
  }
  return rate;
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
  std::optional<double> speed = openssl_speed_verify(seconds);
  if (!speed) std::fprintf(stderr, "warning: could not run or parse `openssl speed rsa2048`\n");
  const double reference = speed.value_or(bare);
  std::printf("RSA-2048 (RS256) verify, 1 thread, per CPU second\n");
  std::printf("%-36s %12s %16s\n", "", "per s", "vs openssl speed");
  if (speed) std::printf("%-36s %12.0f %15.0f%%\n", "openssl speed rsa2048 (verify/s)", *speed, 100.0);
  std::printf("%-36s %12.0f %15.0f%%\n", "bare EVP_PKEY_verify (digest ready)", bare, 100.0 * bare / reference);
  std::printf("%-36s %12.0f %15.0f%%\n", "warm TokenValidator::validate", full, 100.0 * full / reference);
  const double ratio = full / reference;
  std::printf("\nvalidation / %s verify: %.0f%% (target >= 80%%): %s\n", speed ? "openssl speed" : "bare",
              100.0 * ratio, ratio >= 0.8 ? "met" : "MISSED");
  return ok > 0 && accepted > 0 ? 0 : 1;
}
