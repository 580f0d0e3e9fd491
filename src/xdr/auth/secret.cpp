#include <xdr/auth/secret.hpp>

#include <cerrno>
#include <cstring>
#include <ostream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <xdr/crypto/crypto.hpp>

namespace xdr::auth {

void wipe_string(std::string& s) noexcept {
  if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
  s.clear();
}

Secret::Secret(std::string value) : m_value(std::move(value)) { wipe_string(value); }
Secret::Secret(const Secret& other) : m_value(other.m_value) {}
Secret::Secret(Secret&& other) noexcept : m_value(std::move(other.m_value)) { other.wipe(); }

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) {
    wipe();
    m_value = other.m_value;
  }
  return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    m_value = std::move(other.m_value);
    other.wipe();
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() noexcept { wipe_string(m_value); }

bool operator==(const Secret& a, const Secret& b) { return crypto::equal_ct(a.m_value, b.m_value); }

void PrintTo(const Secret& s, std::ostream* os) { *os << "[secret, " << s.size() << " bytes]"; }

namespace {

std::string mode_octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status check_stat(const struct stat& st, const std::string& path, std::string_view what) {
  if (!S_ISREG(st.st_mode))
    return fail(ErrorKind::config, std::string(what) + " " + path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return fail(ErrorKind::config, std::string(what) + " " + path + " can be read or changed by other users (mode " +
                                       mode_octal(st.st_mode) + "); restrict it with `chmod 600 " + path + "`");
  return {};
}

} // namespace

Status check_private_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(ErrorKind::config, "cannot read " + std::string(what) + " " + path + ": " + std::strerror(errno));
  return check_stat(st, path, what);
}

Result<Secret> read_secret_file(const std::string& path, std::string_view what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(ErrorKind::config, "cannot open " + std::string(what) + " " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail(ErrorKind::config, "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err));
  }
  if (auto ok = check_stat(st, path, what); !ok) {
    ::close(fd);
    return tl::unexpected(ok.error());
  }
  constexpr size_t k_max_secret_file = 64 * 1024;
  std::string buf(k_max_secret_file + 1, '\0');
  struct Wiper {
    std::string& s;
    ~Wiper() { wipe_string(s); }
  } wiper{buf};
  size_t used = 0;
  while (used < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + used, buf.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(ErrorKind::config, "cannot read " + std::string(what) + " " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  if (used > k_max_secret_file)
    return fail(ErrorKind::config, std::string(what) + " " + path + " is larger than 64 KiB; it should hold one secret");
  size_t end = used;
  if (end > 0 && buf[end - 1] == '\n') --end;
  if (end > 0 && buf[end - 1] == '\r') --end;
  if (end == 0) return fail(ErrorKind::config, std::string(what) + " " + path + " is empty");
  return Secret(std::string(buf.data(), end));
}

Result<Secret> read_secret_stream(std::istream& in, std::string_view what) {
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    wipe_string(line);
    return fail(ErrorKind::config, "no " + std::string(what) + " on standard input (expected one line)");
  }
  return Secret(std::move(line));
}

} // namespace xdr::auth
