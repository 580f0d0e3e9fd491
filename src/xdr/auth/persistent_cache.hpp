#pragma once
// A token cache file shared by processes (e.g. successive CLI runs): JSON, mode 0600, tokens only
// (never secrets), atomic replacement (temp file + fsync + rename), read-merge-write under an
// exclusive flock on "<path>.lock". Expired tokens are dropped on every read and write.

#include <memory>
#include <string>
#include <vector>

#include <xdr/auth/token_client.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::auth {

struct PersistedToken {
  std::string authority_host;
  std::string tenant;
  std::string client_id;
  std::string resource;
  AccessToken token;
};

class PersistentTokenStore {
public:
  // Checks an existing file (and its lock file): it must be a regular file owned by this user and
  // not accessible by group or others, else a config error says how to fix it. A missing file is
  // fine (created on the first save); its directory must exist.
  static Result<std::shared_ptr<PersistentTokenStore>> open(std::string path,
                                                            std::shared_ptr<const util::Clock> clock = util::system_clock());

  // The unexpired tokens in the file (empty when it does not exist). Errors on an unsafe file;
  // a corrupt file reads as empty (it is only a cache) and is rewritten by the next save.
  Result<std::vector<PersistedToken>> load() const;
  // Merges `updates` into the file (same key: replaced) and drops expired tokens, atomically.
  Status save(const std::vector<PersistedToken>& updates);

  const std::string& path() const { return m_path; }

  PersistentTokenStore(std::string path, std::shared_ptr<const util::Clock> clock);

private:
  std::string m_path;
  std::shared_ptr<const util::Clock> m_clock;
};

} // namespace xdr::auth
