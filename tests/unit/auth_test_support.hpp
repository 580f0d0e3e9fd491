#pragma once
// Shared helpers for the test_auth_*.cpp files: temporary directories, files with a given mode,
// a test certificate, canned Entra ID responses.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include <xdr/auth/cloud.hpp>
#include <xdr/crypto/crypto.hpp>

namespace xdr::testing {

inline constexpr const char* k_client_id = "11111111-2222-3333-4444-555555555555";
inline constexpr const char* k_tenant_a = "aaaaaaaa-0000-4000-8000-00000000000a";
inline constexpr const char* k_tenant_b = "bbbbbbbb-0000-4000-8000-00000000000b";
inline constexpr const char* k_secret = "s3cr3t~Value.With+Special/Chars=";

class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "xdr-auth-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string file(const std::string& name) const { return (m_path / name).string(); }
  // Writes `content` to `name` with `mode`; returns the path.
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0600) const {
    std::string p = file(name);
    {
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << content;
    }
    ::chmod(p.c_str(), mode);
    return p;
  }

private:
  std::filesystem::path m_path;
};

inline mode_t file_mode(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A map-backed environment.
inline auth::Environment env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// One CA-issued leaf certificate and its key, made once per test binary.
struct TestCertificate {
  crypto::RsaPrivateKey ca_key;
  crypto::Certificate ca;
  crypto::RsaPrivateKey key;
  crypto::Certificate cert;
};

inline const TestCertificate& test_certificate() {
  static const TestCertificate tc = [] {
    TestCertificate t;
    t.ca_key = crypto::RsaPrivateKey::generate_deterministic("auth-tests/ca", 2048);
    t.ca = *crypto::make_certificate(t.ca_key, {"xdrpartner test CA", 30, true, {}, {}});
    t.key = crypto::RsaPrivateKey::generate_deterministic("auth-tests/leaf", 2048);
    t.cert = *crypto::make_certificate(t.key, {"xdrpartner partner app", 30, false, {}, {}}, &t.ca_key, &t.ca);
    return t;
  }();
  return tc;
}

inline std::string v2_success(const std::string& token = "eyJ0eXAi.payload.sig", int expires_in = 3599) {
  return R"({"token_type":"Bearer","expires_in":)" + std::to_string(expires_in) + R"(,"ext_expires_in":)" +
         std::to_string(expires_in) + R"(,"access_token":")" + token + R"("})";
}

// An Entra ID error body as the service writes it.
inline std::string entra_error(const std::string& error, long long code, const std::string& gist,
                               const std::string& trace = "0000aaaa-11bb-22cc-33dd-444444eeeeee") {
  return R"({"error":")" + error + R"(","error_description":"AADSTS)" + std::to_string(code) + ": " + gist +
         R"(\r\nTrace ID: )" + trace + R"(\r\nCorrelation ID: aaaa0000-bb11-cc22-dd33-ee4444444444\r\nTimestamp: 2026-01-01 00:00:00Z","error_codes":[)" +
         std::to_string(code) + R"(],"timestamp":"2026-01-01 00:00:00Z","trace_id":")" + trace +
         R"(","correlation_id":"aaaa0000-bb11-cc22-dd33-ee4444444444","error_uri":"https://login.microsoftonline.com/error?code=)" +
         std::to_string(code) + R"("})";
}

} // namespace xdr::testing
