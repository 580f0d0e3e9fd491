#pragma once
// The emulator's HTTP/1.1 server, over TLS (OpenSSL) or plain TCP.
//
// Why our own: cpp-httplib 0.11.4 (Debian's) reads request headers one byte per SSL_read, polls the
// socket before reads, asks the kernel for both socket names on every request, tries every route's
// std::regex in turn and writes an answer as two TLS records. On the token endpoint that was 15
// system calls and ~250k instructions per token beside the RSA signature: a third of the CPU the
// emulator spent. This server reads into a buffer (one read per request, TLS read-ahead), writes an
// answer with one write, and only runs the regex of a route whose literal parts already match.
// docs/emulator.md ("The HTTP server") lists what it accepts and refuses.
//
// Handlers keep cpp-httplib's Request and Response types: they are plain data, and the route files
// and their tests stay as they were.
//
// The model is a thread per connection from a pool that grows up to `threads` (as cpp-httplib's),
// blocking reads with kernel timeouts (SO_RCVTIMEO, so a stalled client costs no polling), and a
// stop() that shuts every open connection down instead of waiting for idle keep-alive clients.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <httplib.h>

#include <xdr/util/result.hpp>

typedef struct ssl_ctx_st SSL_CTX;

namespace xdr::emulator {

struct HttpServerOptions {
  std::string cert_chain_file; // PEM: server certificate then its CA; empty: plain HTTP
  std::string key_file;        // PEM private key of the server certificate
  int threads = 256;           // connections served at once; more wait for a free thread
  int read_timeout_seconds = 5;
  int write_timeout_seconds = 10;
  int keep_alive_timeout_seconds = 5; // an idle keep-alive connection is closed after this
  int request_timeout_seconds = 60;   // a request's head and body must arrive within this
  size_t keep_alive_max_requests = 100000;
  size_t max_body_bytes = 1024 * 1024; // larger bodies get a 413 (before the body is read)
};

class HttpServer {
public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  enum class Outcome { handled, unhandled };
  using Hook = std::function<Outcome(const httplib::Request&, httplib::Response&)>;

  // Loads the certificate and key when options name them.
  static Result<std::unique_ptr<HttpServer>> create(HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route. `pattern` is an ECMAScript regex matched against the whole decoded path; its groups
  // land in Request::matches (matches[0] is the path). Routes are tried in the order added; HEAD requests use the GET routes.
  void route(std::string_view method, const std::string& pattern, Handler handler);

  // Runs before routing; `handled` answers the request with the response as the hook left it.
  void set_pre_routing(Hook hook) { m_pre_routing = std::move(hook); }
  // Runs on every answer before it is written (also refusals the server makes itself).
  void set_post_routing(Handler hook) { m_post_routing = std::move(hook); }
  // Runs on every answer with a status >= 400 before post-routing (400 bad request, 404 no route,
  // 413, 414, 431, and those of handlers), so the body can be put in the service's dialect.
  void set_error_handler(Handler hook) { m_error_handler = std::move(hook); }
  // Runs when a handler throws; without it the answer is a bare 500.
  void set_exception_handler(std::function<void(const httplib::Request&, httplib::Response&, std::exception_ptr)> hook) {
    m_exception_handler = std::move(hook);
  }

  // Binds HOST:PORT (PORT 0: a free port) and listens with the system's largest backlog. Returns the
  // port. Call once, before start().
  Result<int> listen(const std::string& host, int port);
  // Starts accepting in a background thread.
  void start();
  // Stops accepting, shuts down every open connection (blocked reads return at once), waits for
  // running handlers to finish, joins. Idempotent; a second caller waits for the first. Not from a
  // handler (it would wait for itself).
  void stop();

private:
  struct RouteEntry {
    std::string method;
    std::string prefix; // literal text the path must start with
    std::string suffix; // literal text the path must end with
    bool literal = false; // the pattern is all literal: prefix == the whole path, no regex run
    std::regex regex;
    Handler handler;
  };
  struct Pending {
    int fd;
    std::string remote_addr;
    int remote_port;
  };
  class Connection;
  enum class Next; // what the connection does after an answer

  explicit HttpServer(HttpServerOptions options);
  void accept_loop();
  void worker_loop();
  void serve(const Pending& p);
  // Reads one request and answers it.
  Next serve_one(Connection& c, const Pending& p, size_t served);
  const RouteEntry* find_route(httplib::Request& req) const;
  // Runs the error and post-routing hooks, then writes the answer.
  Next write_response(Connection& c, httplib::Request& req, httplib::Response& res, bool keep_alive, size_t served);
  void unregister_fd(int fd); // closes it

  HttpServerOptions m_options;
  SSL_CTX* m_ssl_ctx = nullptr;
  std::vector<RouteEntry> m_routes;
  Hook m_pre_routing;
  Handler m_post_routing;
  Handler m_error_handler;
  std::function<void(const httplib::Request&, httplib::Response&, std::exception_ptr)> m_exception_handler;

  int m_listen_fd = -1;
  std::thread m_accept_thread;
  std::atomic<bool> m_stopping{false};
  bool m_started = false;
  std::mutex m_stop_mutex;

  std::mutex m_mutex; // guards everything below
  std::condition_variable m_wake;
  std::deque<Pending> m_pending;
  std::vector<std::thread> m_workers;
  size_t m_idle = 0;
  std::unordered_set<int> m_open_fds;
};

// Percent-decodes URL text as cpp-httplib does: "%XX" and "%uXXXX" (as UTF-8) are decoded, any
// other '%' is kept as is, and '+' becomes a space when `plus_is_space`.
std::string decode_url(std::string_view text, bool plus_is_space);

// The status line's reason phrase for a status code ("OK", "Bad Request", ...; "" when unknown).
std::string_view reason_phrase(int status);

} // namespace xdr::emulator
