#pragma once
// Internals shared by the route files: the running state, the request log, fault rules.

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>

#include <httplib.h>

#include <emulator/directory.hpp>
#include <emulator/http_server.hpp>
#include <emulator/emulator.hpp>
#include <emulator/json_dump.hpp>

namespace xdr::emulator {

// The last k_cap requests. Each is recorded on the request path as one compact packed string
// (raw pieces, secrets already masked: see Emulator::Impl::log_request) and turned into JSON only
// when the log is read: building and serializing a JSON tree per request cost a fifth of a token's
// non-signing CPU, and a tree per entry would grow the emulator by kilobytes per token under load.
class RequestLog {
public:
  void add(std::string packed);
  Json to_json(uint64_t since) const;
  void clear();

private:
  mutable std::mutex m_mutex;
  std::deque<std::pair<uint64_t, std::string>> m_entries; // seq, packed entry
  uint64_t m_next = 1;
  static constexpr size_t k_cap = 100'000;
};

struct FaultRule {
  uint64_t id = 0;
  std::string route;  // route name ("token", "openid", "keys", ...) or a path prefix starting with '/'
  std::string tenant; // path tenant segment or tenant id; empty: any
  std::string method; // empty: any
  int64_t remaining = 1; // -1: unlimited
  int status = 0;        // 0: no status (delay only)
  std::optional<int64_t> retry_after;
  std::string body;   // empty: the route's dialect
  int64_t delay_ms = 0;
  bool drop = false;  // close the connection mid-response
  uint64_t hits = 0;
  Json to_json() const;
};

class FaultRules {
public:
  uint64_t add(FaultRule rule);
  // The first rule matching the request, with its count decremented.
  std::optional<FaultRule> take(std::string_view route, std::string_view path, std::string_view tenant,
                                std::string_view method);
  Json to_json() const;
  void clear();
  bool remove(uint64_t id);
  // No rule at all (the common case): requests skip the matching.
  bool empty() const { return m_count.load(std::memory_order_relaxed) == 0; }

private:
  mutable std::mutex m_mutex;
  std::vector<FaultRule> m_rules;
  std::atomic<size_t> m_count{0}; // m_rules.size()
  uint64_t m_next = 1;
};

struct Route {
  std::string name;   // "token", "token_v1", "openid", ...
  std::string tenant; // the path's tenant segment when the route has one
};
Route classify(std::string_view method, std::string_view path);

struct DefenderState; // defender_api.cpp: per-tenant data and quota windows

struct Emulator::Impl {
  EmulatorOptions options;
  std::unique_ptr<Directory> dir;
  std::unique_ptr<HttpServer> server;
  int port = 0;
  std::string scheme;
  std::string ca_path;
  std::string state_dir;
  std::map<std::string, std::string> secret_files;
  RequestLog log;
  FaultRules faults;
  std::mutex jti_mutex;
  std::map<std::string, std::pair<std::string, int64_t>> seen_jti; // app/jti -> (assertion digest, expiry)
  std::shared_ptr<DefenderState> defender;

  util::TimePoint now() const;
  // "https://127.0.0.1:PORT", or the Host the client used when it is one of our names.
  std::string base_url(const httplib::Request& req) const;

  // Is this Host header one of the emulator's own names?
  bool is_our_host(const std::string& host) const;

  // Adds the request to the request log (secrets masked).
  void log_request(const httplib::Request& req, const httplib::Response& res);

  void install_routes();
  void install_entra_routes();
  void install_control_routes();
  void install_defender_routes();
  void install_graph_routes();
};

// The body of an injected fault or an httplib-level error, in the dialect of the route.
std::string fault_body(std::string_view route, int status, std::optional<int64_t> retry_after);

// Serializes JSON that may hold request bytes: invalid UTF-8 becomes U+FFFD instead of throwing
// (json_dump.hpp: nlohmann's bytes, faster).
template <class J>
std::string safe_dump(const J& j) {
  return dump_compact(j);
}

// Writes one JSON object as text, members in the order written, for the token endpoint's hot path
// (building and dumping nlohmann trees cost more there than the rest of the request). The text is
// what safe_dump writes for the same members: same escapes, invalid UTF-8 becomes U+FFFD.
class JsonObjectWriter {
public:
  JsonObjectWriter& member(std::string_view key, std::string_view value);
  JsonObjectWriter& member(std::string_view key, int64_t value);
  JsonObjectWriter& member(std::string_view key, const std::vector<std::string>& values);
  // The object's text; the writer must not be used afterwards.
  std::string finish();

private:
  void key(std::string_view k);
  std::string m_out = "{";
};

// Appends `s` as a JSON string, as safe_dump would write it.
void append_json_string(std::string& out, std::string_view s);

// Random bytes and GUIDs for identifiers in answers (uti, aio, trace ids), from a per-thread buffer
// that one RAND_bytes call refills every 4 KB: OpenSSL 3 pays a getpid() syscall per RAND_bytes
// call, which was a syscall per identifier on the token path. Not for keys or secrets.
std::string id_random_bytes(size_t n);
std::string id_random_guid();

// A string member, or "" when absent or not a string (untrusted JSON never throws).
std::string string_member(const Json& j, const char* key);

// Helpers for handlers.
void send_json(httplib::Response& res, int status, const Json& body);
// Answers `body` as JSON. Large bodies are streamed from one shared buffer: cpp-httplib's string-body path
// costs ten times the CPU on pages of hundreds of kilobytes.
void send_body(httplib::Response& res, int status, std::string body);
bool is_loopback(const std::string& addr);

} // namespace xdr::emulator
