#include <xdr/auth/persistent_cache.hpp>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xdr/auth/hash_private.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>

namespace xdr::auth {

namespace {

constexpr int k_format_version = 1;

Error storage_error(const std::string& what, const std::string& path, int err) {
  return Error(ErrorKind::storage, what + " " + path + ": " + std::strerror(err));
}

std::string mode_octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// A file we will trust with tokens: regular, ours, no group/other access. Missing is fine.
Status check_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(storage_error("cannot inspect " + std::string(what), path, errno));
  }
  if (!S_ISREG(st.st_mode))
    return fail(ErrorKind::config, std::string(what) + " " + path +
                                       " is not a regular file (a symbolic link or a directory?): delete it or "
                                       "choose another path");
  if (st.st_uid != ::geteuid())
    return fail(ErrorKind::config, std::string(what) + " " + path + " belongs to user ID " +
                                       std::to_string(st.st_uid) + ", not to you (" + std::to_string(::geteuid()) +
                                       "): delete it or choose another path");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return fail(ErrorKind::config, std::string(what) + " " + path + " can be read or changed by other users (mode " +
                                       mode_octal(st.st_mode) + "): run `chmod 600 " + path +
                                       "` or delete it (it holds access tokens)");
  return {};
}

// flock on "<path>.lock" for the lifetime of the object.
class FileLock {
public:
  static Result<FileLock> acquire(const std::string& path, bool exclusive) {
    std::string lock_path = path + ".lock";
    XDR_TRY(check_file(lock_path, "token cache lock file"));
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail(storage_error("cannot open the token cache lock file", lock_path, errno));
    while (::flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return fail(storage_error("cannot lock", lock_path, err));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (m_fd >= 0) ::close(m_fd); // closing releases the flock
  }

private:
  explicit FileLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

// The file's bytes; empty when it does not exist.
Result<std::string> read_all(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return fail(storage_error("cannot open the token cache file", path, errno));
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return fail(storage_error("cannot read the token cache file", path, err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(storage_error("cannot write", path, errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

std::string directory_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Writes `data` to a new 0600 temp file next to `path`, fsyncs it, renames it over `path` and
// fsyncs the directory, so readers see the old or the new file, never a mix.
Status replace_atomically(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + util::hex_encode(crypto::random_bytes(6));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(storage_error("cannot create", tmp, errno));
  auto cleanup = [&] {
    ::close(fd);
    ::unlink(tmp.c_str());
  };
  if (::fchmod(fd, 0600) != 0) {
    int err = errno;
    cleanup();
    return fail(storage_error("cannot set mode 0600 on", tmp, err));
  }
  if (auto ok = write_all(fd, data, tmp); !ok) {
    cleanup();
    return ok;
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    cleanup();
    return fail(storage_error("cannot flush", tmp, err));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return fail(storage_error("cannot replace", path, err));
  }
  std::string dir = directory_of(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

Json to_json(const PersistedToken& p) {
  Json j = {
      {"authority_host", p.authority_host},
      {"tenant", p.tenant},
      {"client_id", p.client_id},
      {"resource", p.resource},
      {"token_type", p.token.token_type},
      {"access_token", p.token.value.reveal()},
      {"expires_on", util::to_unix(p.token.expires_on)},
  };
  if (p.token.obtained_on != util::TimePoint{}) j["obtained_on"] = util::to_unix(p.token.obtained_on);
  if (p.token.refresh_on) j["refresh_on"] = util::to_unix(*p.token.refresh_on);
  if (p.token.not_before) j["not_before"] = util::to_unix(*p.token.not_before);
  if (p.token.ext_expires_on) j["ext_expires_on"] = util::to_unix(*p.token.ext_expires_on);
  return j;
}

std::optional<PersistedToken> from_json(const Json& j) {
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* name) -> std::optional<std::string> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto num = [&](const char* name) -> std::optional<int64_t> {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  auto host = str("authority_host"), tenant = str("tenant"), client = str("client_id"), resource = str("resource"),
       token = str("access_token");
  auto expires = num("expires_on");
  if (!host || !tenant || !client || !resource || !token || token->empty() || !expires) return std::nullopt;
  PersistedToken p;
  p.authority_host = std::move(*host);
  p.tenant = std::move(*tenant);
  p.client_id = std::move(*client);
  p.resource = std::move(*resource);
  p.token.value = Secret(std::move(*token));
  p.token.expires_on = util::from_unix(*expires);
  if (auto t = str("token_type")) p.token.token_type = *t;
  if (auto v = num("obtained_on")) p.token.obtained_on = util::from_unix(*v);
  if (auto v = num("refresh_on")) p.token.refresh_on = util::from_unix(*v);
  if (auto v = num("not_before")) p.token.not_before = util::from_unix(*v);
  if (auto v = num("ext_expires_on")) p.token.ext_expires_on = util::from_unix(*v);
  return p;
}

bool same_key(const PersistedToken& a, const PersistedToken& b) {
  return a.resource == b.resource && detail::ci_equal(a.tenant, b.tenant) && detail::ci_equal(a.client_id, b.client_id) &&
         detail::ci_equal(a.authority_host, b.authority_host);
}

// Unexpired tokens from the file's text; a corrupt or foreign file reads as empty.
std::vector<PersistedToken> parse_file(std::string_view text, util::TimePoint now) {
  std::vector<PersistedToken> out;
  if (text.empty()) return out;
  auto j = util::parse_json(text, "the token cache file");
  if (!j || !j->is_object()) return out;
  auto version = j->find("version");
  if (version == j->end() || !version->is_number_integer() || version->get<int>() != k_format_version) return out;
  auto tokens = j->find("tokens");
  if (tokens == j->end() || !tokens->is_array()) return out;
  for (const auto& t : *tokens) {
    auto p = from_json(t);
    if (p && p->token.expires_on > now) out.push_back(std::move(*p));
  }
  return out;
}

} // namespace

PersistentTokenStore::PersistentTokenStore(std::string path, std::shared_ptr<const util::Clock> clock)
    : m_path(std::move(path)), m_clock(std::move(clock)) {
  if (!m_clock) m_clock = util::system_clock();
}

Result<std::shared_ptr<PersistentTokenStore>> PersistentTokenStore::open(std::string path,
                                                                         std::shared_ptr<const util::Clock> clock) {
  if (path.empty()) return fail(ErrorKind::config, "no token cache file path given");
  XDR_TRY(check_file(path, "token cache file"));
  XDR_TRY(check_file(path + ".lock", "token cache lock file"));
  std::string dir = directory_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(ErrorKind::config, "the directory of the token cache file " + path + " does not exist: create it "
                                   "(mode 0700) or choose another path");
  return std::make_shared<PersistentTokenStore>(std::move(path), std::move(clock));
}

Result<std::vector<PersistedToken>> PersistentTokenStore::load() const {
  XDR_TRY_ASSIGN(FileLock lock, FileLock::acquire(m_path, false));
  XDR_TRY(check_file(m_path, "token cache file"));
  XDR_TRY_ASSIGN(std::string text, read_all(m_path));
  auto tokens = parse_file(text, m_clock->now());
  wipe_string(text);
  return tokens;
}

Status PersistentTokenStore::save(const std::vector<PersistedToken>& updates) {
  XDR_TRY_ASSIGN(FileLock lock, FileLock::acquire(m_path, true));
  XDR_TRY(check_file(m_path, "token cache file"));
  XDR_TRY_ASSIGN(std::string text, read_all(m_path));
  const util::TimePoint now = m_clock->now();
  std::vector<PersistedToken> merged = parse_file(text, now);
  wipe_string(text);
  for (const auto& u : updates) {
    if (u.token.expires_on <= now) continue;
    auto it = std::find_if(merged.begin(), merged.end(), [&](const PersistedToken& m) { return same_key(m, u); });
    if (it != merged.end())
      *it = u;
    else
      merged.push_back(u);
  }
  Json doc = {{"version", k_format_version}, {"tokens", Json::array()}};
  for (const auto& m : merged) doc["tokens"].push_back(to_json(m));
  std::string out = doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto ok = replace_atomically(m_path, out);
  wipe_string(out);
  return ok;
}

} // namespace xdr::auth
