#pragma once
// Secret: a string that cannot be printed and is wiped when destroyed. Client secrets, certificate
// passwords, client assertions and access tokens live in one; reveal() is called only where the
// value must go on the wire (a request body or header).

#include <iosfwd>
#include <istream>
#include <string>
#include <string_view>

#include <xdr/util/result.hpp>

namespace xdr::auth {

class Secret {
public:
  Secret() = default;
  explicit Secret(std::string value);
  Secret(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(const Secret& other);
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  // The plain value: only for building a request (or writing the token cache file).
  const std::string& reveal() const { return m_value; }
  bool empty() const { return m_value.empty(); }
  size_t size() const { return m_value.size(); }
  // Overwrites the value with zeros and empties it.
  void wipe() noexcept;

  friend bool operator==(const Secret& a, const Secret& b);
  // Deliberately not printable.
  friend std::ostream& operator<<(std::ostream&, const Secret&) = delete;
  // gtest's printer: shows only that this is a secret.
  friend void PrintTo(const Secret& s, std::ostream* os);

private:
  std::string m_value;
};

// Overwrites a std::string's whole buffer (OPENSSL_cleanse) and empties it.
void wipe_string(std::string& s) noexcept;

// Reads a secret from a file that only its owner may read: refuses a file that is group- or
// world-accessible (the message says `chmod 600 FILE`), not a regular file, or empty. One trailing
// newline is removed. `what` names the secret in messages ("client secret file").
Result<Secret> read_secret_file(const std::string& path, std::string_view what = "secret file");
// Errors when `path` is group- or world-accessible or not a regular file (shared by key files).
Status check_private_file(const std::string& path, std::string_view what);
// Reads the first line of `in` (e.g. stdin) as a secret; errors when it is empty.
Result<Secret> read_secret_stream(std::istream& in, std::string_view what = "secret");

} // namespace xdr::auth
