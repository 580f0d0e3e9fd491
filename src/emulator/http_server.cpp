#include <emulator/http_server.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <xdr/util/strings.hpp>

namespace xdr::emulator {
namespace {

constexpr size_t k_read_chunk = 16 * 1024;
constexpr size_t k_max_head_bytes = 64 * 1024; // request line and headers
constexpr size_t k_max_target_bytes = 8192;
constexpr size_t k_max_headers = 100;
constexpr size_t k_write_chunk = 64 * 1024; // streamed bodies are written in pieces of this size
constexpr size_t k_max_pending = 4096;       // accepted connections waiting for a thread

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool known_method(std::string_view m) {
  for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"})
    if (m == k) return true;
  return false;
}

// Splits a query or form body into decoded name/value pairs.
void parse_query(std::string_view text, httplib::Params& params) {
  util::for_each_form_pair(text, [&](std::string_view k, std::string_view v) {
    params.emplace(decode_url(k, true), decode_url(v, true));
    return true;
  });
}

// The literal text a path matching `pattern` must start with, and end with. Conservative: a
// pattern with alternation has neither, and a literal before a quantifier is not required.
void literal_parts(const std::string& pattern, std::string& prefix, std::string& suffix, bool& literal) {
  constexpr std::string_view k_meta = "\\^$.|?*+()[]{}";
  size_t first = pattern.find_first_of(k_meta);
  if (first == std::string::npos) {
    prefix = suffix = pattern;
    literal = true;
    return;
  }
  literal = false;
  if (pattern.find('|') != std::string::npos) return;
  prefix = pattern.substr(0, first);
  if (std::string_view("?*+{").find(pattern[first]) != std::string_view::npos && !prefix.empty()) prefix.pop_back();
  size_t last = pattern.find_last_of(k_meta);
  // An escape ("\\d", "\\.") ends in an ordinary letter that is not literal text.
  bool escaped = pattern[last] == '\\' || (last > 0 && pattern[last - 1] == '\\');
  suffix = escaped ? std::string() : pattern.substr(last + 1);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

} // namespace

std::string decode_url(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 5 < text.size() && (text[i + 1] == 'u' || text[i + 1] == 'U')) {
      int a = hex_value(text[i + 2]), b = hex_value(text[i + 3]), d = hex_value(text[i + 4]), e = hex_value(text[i + 5]);
      if (a >= 0 && b >= 0 && d >= 0 && e >= 0) {
        append_utf8(out, static_cast<unsigned>((a << 12) | (b << 8) | (d << 4) | e));
        i += 5;
        continue;
      }
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>((hex_value(text[i + 1]) << 4) | hex_value(text[i + 2]));
      i += 2;
      continue;
    }
    out += (c == '+' && plus_is_space) ? ' ' : c;
  }
  return out;
}

std::string_view reason_phrase(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "";
  }
}

// ---- one connection: buffered reads and whole writes over TLS or TCP ----

class HttpServer::Connection {
public:
  Connection(int fd, SSL* ssl) : m_fd(fd), m_ssl(ssl) {}
  ~Connection() {
    if (m_ssl) SSL_free(m_ssl);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return m_fd; }
  // Unread bytes in our buffer (OpenSSL's own buffer is drained by fill() before the socket is read).
  bool has_buffered() const { return m_begin < m_end; }
  std::string_view buffered() const { return {m_buf.data() + m_begin, m_end - m_begin}; }
  void consume(size_t n) { m_begin += n; }

  // Reads what is available (at least one byte) after the buffered bytes. false: closed, timed out
  // or failed.
  bool fill() {
    // Each read has the kernel's read timeout; a request as a whole has this deadline, so a client
    // sending a byte every few seconds cannot hold a thread for longer.
    if (m_deadline && std::chrono::steady_clock::now() > *m_deadline) return false;
    if (m_begin == m_end) m_begin = m_end = 0;
    if (m_buf.size() - m_end < k_read_chunk) {
      // Move unread bytes to the front, then grow if that is not enough room.
      if (m_begin > 0) {
        std::memmove(m_buf.data(), m_buf.data() + m_begin, m_end - m_begin);
        m_end -= m_begin;
        m_begin = 0;
      }
      if (m_buf.size() - m_end < k_read_chunk) m_buf.resize(m_end + k_read_chunk);
    }
    ssize_t n = read_raw(m_buf.data() + m_end, m_buf.size() - m_end);
    if (n <= 0) return false;
    m_end += static_cast<size_t>(n);
    return true;
  }

  // Reads exactly n bytes into out (buffered bytes first).
  bool read_exact(std::string& out, size_t n) {
    size_t take = std::min(n, m_end - m_begin);
    out.append(m_buf.data() + m_begin, take);
    m_begin += take;
    n -= take;
    size_t start = out.size();
    out.resize(start + n);
    while (n > 0) {
      if (m_deadline && std::chrono::steady_clock::now() > *m_deadline) return false;
      ssize_t got = read_raw(out.data() + start, n);
      if (got <= 0) return false;
      start += static_cast<size_t>(got);
      n -= static_cast<size_t>(got);
    }
    return true;
  }

  // A line ending in "\n" (the "\r" before it removed), at most `limit` bytes; nullopt on failure.
  std::optional<std::string> read_line(size_t limit) {
    size_t scanned = 0;
    for (;;) {
      std::string_view b = buffered();
      size_t nl = b.find('\n', scanned);
      if (nl != std::string_view::npos) {
        std::string line(b.substr(0, nl));
        consume(nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      if (b.size() > limit) return std::nullopt;
      scanned = b.size();
      if (!fill()) return std::nullopt;
    }
  }

  bool write_all(const char* data, size_t n) {
    while (n > 0) {
      ssize_t w;
      if (m_ssl) {
        int chunk = static_cast<int>(std::min<size_t>(n, 1 << 30));
        w = SSL_write(m_ssl, data, chunk);
      } else {
        w = ::send(m_fd, data, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
      }
      if (w <= 0) return false;
      data += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  void set_deadline(std::optional<std::chrono::steady_clock::time_point> d) { m_deadline = d; }
  // The answer being written refuses a request whose bytes were not all read.
  void set_unread_input() { m_unread_input = true; }

  // Ends the connection: a TLS close_notify when `clean`, then the socket is shut down for writing
  // (the caller closes the descriptor). When a refused request's bytes are still arriving, they are
  // read and dropped for a moment first (a lingering close): closing a socket with unread input
  // sends a reset, which can destroy the refusal before the client reads it.
  void finish(bool clean) {
    if (m_ssl && clean) SSL_shutdown(m_ssl);
    ::shutdown(m_fd, SHUT_WR);
    if (!m_unread_input) return;
    timeval tv{0, 200 * 1000};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char sink[16 * 1024];
    for (size_t drained = 0; drained < 16 * 1024 * 1024;) {
      ssize_t n = ::recv(m_fd, sink, sizeof sink, 0);
      if (n <= 0) break;
      drained += static_cast<size_t>(n);
    }
  }

private:
  ssize_t read_raw(char* p, size_t n) {
    if (m_ssl) {
      int r = SSL_read(m_ssl, p, static_cast<int>(std::min<size_t>(n, 1 << 30)));
      return r > 0 ? r : -1;
    }
    for (;;) {
      ssize_t r = ::recv(m_fd, p, n, 0);
      if (r < 0 && errno == EINTR) continue;
      return r;
    }
  }

  int m_fd;
  SSL* m_ssl;
  std::vector<char> m_buf;
  size_t m_begin = 0, m_end = 0;
  bool m_unread_input = false;
  std::optional<std::chrono::steady_clock::time_point> m_deadline;
};

// ---- set-up ----

HttpServer::HttpServer(HttpServerOptions options) : m_options(std::move(options)) {}

Result<std::unique_ptr<HttpServer>> HttpServer::create(HttpServerOptions options) {
  // A kernel timeout of 0 means none at all: every timeout is at least a second.
  for (int* t : {&options.read_timeout_seconds, &options.write_timeout_seconds, &options.keep_alive_timeout_seconds,
                 &options.request_timeout_seconds})
    *t = std::max(*t, 1);
  std::unique_ptr<HttpServer> s(new HttpServer(std::move(options)));
  if (s->m_options.cert_chain_file.empty()) return s;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return fail(ErrorKind::config, "cannot create a TLS context");
  s->m_ssl_ctx = ctx;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(ctx, s->m_options.cert_chain_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, s->m_options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return fail(ErrorKind::config, "the TLS server could not load " + s->m_options.cert_chain_file + " and its key " +
                                       s->m_options.key_file + "; delete the state directory's server files to remake them");
  }
  return s;
}

HttpServer::~HttpServer() {
  stop();
  if (m_listen_fd >= 0) ::close(m_listen_fd);
  if (m_ssl_ctx) SSL_CTX_free(m_ssl_ctx);
}

void HttpServer::route(std::string_view method, const std::string& pattern, Handler handler) {
  RouteEntry r;
  r.method = std::string(method);
  literal_parts(pattern, r.prefix, r.suffix, r.literal);
  r.regex = std::regex(pattern);
  r.handler = std::move(handler);
  m_routes.push_back(std::move(r));
}

Result<int> HttpServer::listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return fail(ErrorKind::config, "cannot resolve the listen address " + host + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
  std::string last_error = "no address";
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) {
      int zero = 0; // "::" also takes IPv4, as cpp-httplib did
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    int bound = ss.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    m_listen_fd = fd;
    return bound;
  }
  return fail(ErrorKind::config, "cannot listen on " + host + ":" + service + " (" + last_error + ")");
}

void HttpServer::start() {
  // A peer that closes while we write must not kill the process: OpenSSL writes with write(2).
  struct sigaction current{};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  m_started = true;
  m_accept_thread = std::thread([this] { accept_loop(); });
}

void HttpServer::stop() {
  std::lock_guard stopping(m_stop_mutex); // a second caller waits for the first to finish
  if (!m_started || m_stopping.exchange(true)) return;
  ::shutdown(m_listen_fd, SHUT_RDWR); // wakes accept()
  if (m_accept_thread.joinable()) m_accept_thread.join();
  ::close(m_listen_fd);
  m_listen_fd = -1;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(m_mutex);
    for (int fd : m_open_fds) ::shutdown(fd, SHUT_RDWR);
    for (auto& p : m_pending) ::close(p.fd);
    m_pending.clear();
    workers.swap(m_workers);
  }
  m_wake.notify_all();
  for (auto& t : workers) t.join();
}

// ---- accepting and the worker pool ----

void HttpServer::accept_loop() {
  while (!m_stopping.load()) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    int fd = ::accept4(m_listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (m_stopping.load()) break;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        std::this_thread::sleep_for(std::chrono::milliseconds(10)); // out of descriptors: let some close
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval rtv{m_options.read_timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rtv, sizeof rtv);
    timeval wtv{m_options.write_timeout_seconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wtv, sizeof wtv);

    Pending p{fd, {}, -1};
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
      p.remote_port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
      p.remote_port = ntohs(a->sin6_port);
    }
    p.remote_addr = text;

    std::lock_guard lock(m_mutex);
    if (m_stopping.load()) {
      ::close(fd);
      break;
    }
    if (m_pending.size() >= k_max_pending) {
      ::close(fd); // every thread busy and thousands waiting: refuse rather than run out of descriptors
      continue;
    }
    m_pending.push_back(std::move(p));
    if (m_pending.size() > m_idle && m_workers.size() < static_cast<size_t>(std::max(1, m_options.threads))) {
      try {
        m_workers.emplace_back([this] { worker_loop(); });
        ++m_idle; // counted idle until it takes its first connection
      } catch (const std::system_error&) {
        // No thread to be had (a process or user limit): the running ones serve the queue.
      }
    }
    m_wake.notify_one();
  }
}

void HttpServer::worker_loop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stopping.load() || !m_pending.empty(); });
    if (m_pending.empty()) return; // stopping
    Pending p = std::move(m_pending.front());
    m_pending.pop_front();
    --m_idle;
    m_open_fds.insert(p.fd);
    lock.unlock();
    serve(p);
    lock.lock();
    ++m_idle;
  }
}

void HttpServer::unregister_fd(int fd) {
  std::lock_guard lock(m_mutex);
  m_open_fds.erase(fd);
  ::close(fd); // under the lock: stop() never shuts down a reused descriptor number
}

// ---- serving a connection ----

enum class HttpServer::Next { keep_alive, close, abort };

void HttpServer::serve(const Pending& p) {
  SSL* ssl = nullptr;
  if (m_ssl_ctx) {
    ssl = SSL_new(m_ssl_ctx);
    if (!ssl) return unregister_fd(p.fd);
    SSL_set_fd(ssl, p.fd);
    SSL_set_read_ahead(ssl, 1); // one read(2) per request instead of one per record header and body
    if (SSL_accept(ssl) != 1) {
      ERR_clear_error();
      SSL_free(ssl);
      return unregister_fd(p.fd);
    }
  }
  Next next = Next::close;
  {
    Connection c(p.fd, ssl);
    try {
      for (size_t served = 0; !m_stopping.load(); ++served) {
        next = serve_one(c, p, served);
        if (next != Next::keep_alive) break;
      }
    } catch (...) {
      next = Next::abort; // a bug below must not take the process down with it
    }
    c.finish(next != Next::abort);
  }
  ERR_clear_error();
  unregister_fd(p.fd);
}

namespace {

// Where the blank line ending the request head is (the index after it), or npos.
size_t head_end(std::string_view b, size_t from) {
  for (size_t i = b.find('\n', from); i != std::string_view::npos; i = b.find('\n', i + 1)) {
    if (i + 1 < b.size() && b[i + 1] == '\n') return i + 2;
    if (i + 2 < b.size() && b[i + 1] == '\r' && b[i + 2] == '\n') return i + 3;
  }
  return std::string_view::npos;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Parses the request line and headers into req; 0 when valid, else the status to refuse with.
int parse_head(std::string_view head, httplib::Request& req) {
  size_t eol = head.find('\n');
  std::string_view line = trim_ows(head.substr(0, eol));
  head.remove_prefix(eol + 1);
  size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return 400;
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  req.version = std::string(line.substr(sp2 + 1));
  req.target = std::string(target);
  size_t q = target.find('?');
  req.path = decode_url(target.substr(0, q), false);
  if (target.size() > k_max_target_bytes) return 414;
  if (!known_method(req.method) || (req.version != "HTTP/1.1" && req.version != "HTTP/1.0")) return 400;
  if (target.empty() || target.front() != '/' || target.find(' ') != std::string_view::npos) return 400;
  if (q != std::string_view::npos) parse_query(target.substr(q + 1), req.params);

  size_t count = 0;
  while (!head.empty()) {
    eol = head.find('\n');
    std::string_view h = head.substr(0, eol);
    head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    if (h.empty()) break;
    if (++count > k_max_headers) return 431;
    if (h.front() == ' ' || h.front() == '\t') return 400; // obsolete line folding
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return 400;
    std::string_view name = h.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) return 400;
    req.headers.emplace(std::string(name), std::string(trim_ows(h.substr(colon + 1))));
  }
  return 0;
}

bool has_token(std::string_view list, std::string_view token) {
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = std::min(list.find(',', pos), list.size());
    if (util::iequals(trim_ows(list.substr(pos, comma - pos)), token)) return true;
    pos = comma + 1;
  }
  return false;
}

} // namespace

HttpServer::Next HttpServer::serve_one(Connection& c, const Pending& p, size_t served) {
  httplib::Request req;
  req.remote_addr = p.remote_addr;
  req.remote_port = p.remote_port;
  httplib::Response res;
  res.version = "HTTP/1.1";

  // 0. Wait for the request's first bytes, then start the clock of the request as a whole. Between
  // requests the idle keep-alive timeout applies instead of the read timeout (kernel options are only
  // changed when the two differ).
  c.set_deadline(std::nullopt);
  if (!c.has_buffered()) {
    bool idle = served > 0 && m_options.keep_alive_timeout_seconds != m_options.read_timeout_seconds;
    auto set_read_timeout = [&](int seconds) {
      timeval tv{seconds, 0};
      ::setsockopt(p.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    };
    if (idle) set_read_timeout(m_options.keep_alive_timeout_seconds);
    bool more = c.fill();
    if (idle) set_read_timeout(m_options.read_timeout_seconds);
    if (!more) return Next::close;
  }
  c.set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(m_options.request_timeout_seconds));

  // 1. The head: request line and headers, up to the blank line.
  size_t end = std::string_view::npos;
  size_t skipped = 0;
  for (size_t scanned = 0;;) {
    std::string_view b = c.buffered();
    // Robustness (RFC 9112 2.2): empty lines before a request line are skipped (within the head's limit).
    size_t lead = 0;
    while (lead < b.size() && (b[lead] == '\r' || b[lead] == '\n')) ++lead;
    if (lead > 0) {
      skipped += lead;
      if (skipped > k_max_head_bytes) return Next::abort;
      c.consume(lead);
      scanned = 0;
      continue;
    }
    end = head_end(b, scanned);
    if (end != std::string_view::npos && end <= k_max_head_bytes) break;
    if (b.size() > k_max_head_bytes) {
      c.set_unread_input();
      res.status = 431;
      return write_response(c, req, res, false, served);
    }
    scanned = b.size() > 2 ? b.size() - 2 : 0;
    if (!c.fill()) return b.empty() ? Next::close : Next::abort; // closed, idle, or stalled mid-head
  }
  int refusal = parse_head(c.buffered().substr(0, end), req);
  c.consume(end);
  if (refusal != 0) {
    c.set_unread_input();
    res.status = refusal;
    return write_response(c, req, res, false, served);
  }

  // 2. The body, by Content-Length or chunked; refused before reading when too large.
  const bool http10 = req.version == "HTTP/1.0";
  bool keep_alive = served + 1 < m_options.keep_alive_max_requests;
  std::string connection = req.get_header_value("Connection");
  keep_alive = keep_alive && (http10 ? has_token(connection, "keep-alive") : !has_token(connection, "close"));
  const bool expect_continue = !http10 && util::iequals(req.get_header_value("Expect"), "100-continue");
  // Refusals below leave (some of) the body unread.
  auto refuse = [&](int status) {
    c.set_unread_input();
    res.status = status;
    return write_response(c, req, res, false, served);
  };
  auto continue_if_asked = [&] {
    static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
    return !expect_continue || c.write_all(k_continue.data(), k_continue.size());
  };
  if (req.has_header("Transfer-Encoding")) {
    if (!util::iequals(trim_ows(req.get_header_value("Transfer-Encoding")), "chunked")) return refuse(501);
    if (req.has_header("Content-Length")) keep_alive = false; // RFC 9112 6.3: answer, then close
    if (!continue_if_asked()) return Next::abort;
    // Chunk-size lines (extensions included) may add at most the body limit again to the bytes read.
    size_t framing = 0;
    for (;;) {
      auto size_line = c.read_line(1024);
      if (!size_line) return Next::abort;
      framing += size_line->size() + 4; // with its CRLF and the chunk's
      if (framing > m_options.max_body_bytes + k_max_head_bytes) return refuse(413);
      std::string_view hex = trim_ows(std::string_view(*size_line).substr(0, size_line->find(';')));
      size_t size = 0;
      auto [ptr, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
      if (hex.empty() || ec != std::errc() || ptr != hex.data() + hex.size()) return refuse(400);
      if (size > m_options.max_body_bytes - std::min(m_options.max_body_bytes, req.body.size())) return refuse(413);
      if (size == 0) {
        for (size_t trailers = 0;;) { // trailers, ignored, within the head's limit
          auto trailer = c.read_line(k_max_head_bytes);
          if (!trailer) return Next::abort;
          if (trailer->empty()) break;
          trailers += trailer->size() + 2;
          if (trailers > k_max_head_bytes) return refuse(431);
        }
        break;
      }
      if (!c.read_exact(req.body, size)) return Next::abort;
      auto crlf = c.read_line(2);
      if (!crlf) return Next::abort;
      if (!crlf->empty()) return refuse(400);
    }
  } else if (req.has_header("Content-Length")) {
    std::string text = req.get_header_value("Content-Length");
    size_t length = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
    bool same = true; // repeated Content-Length headers must agree
    for (size_t i = 1; i < req.get_header_value_count("Content-Length"); ++i)
      same = same && req.get_header_value("Content-Length", i) == text;
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !same) return refuse(400);
    if (length > m_options.max_body_bytes) return refuse(413);
    if (length > 0 && !continue_if_asked()) return Next::abort;
    if (!c.read_exact(req.body, length)) return Next::abort;
  }
  if (util::istarts_with(req.get_header_value("Content-Type"), "application/x-www-form-urlencoded"))
    parse_query(req.body, req.params);

  // 3. Routing: the pre-routing hook, then the first route whose pattern matches.
  bool routed = false;
  try {
    if (m_pre_routing && m_pre_routing(req, res) == Outcome::handled) {
      routed = true;
    } else if (const RouteEntry* r = find_route(req)) {
      routed = true;
      r->handler(req, res);
    }
  } catch (...) {
    if (m_exception_handler) {
      m_exception_handler(req, res, std::current_exception());
    } else {
      res = httplib::Response();
      res.status = 500;
    }
  }
  if (res.status == -1) res.status = routed ? 200 : 404;
  return write_response(c, req, res, keep_alive, served);
}

const HttpServer::RouteEntry* HttpServer::find_route(httplib::Request& req) const {
  std::string_view method = req.method == "HEAD" ? std::string_view("GET") : std::string_view(req.method);
  const std::string& path = req.path;
  for (const auto& r : m_routes) {
    if (r.method != method) continue;
    if (r.literal) {
      if (path != r.prefix) continue;
      std::regex_match(path, req.matches, r.regex); // matches[0], as for any route
      return &r;
    }
    if (path.size() < r.prefix.size() + r.suffix.size() || path.compare(0, r.prefix.size(), r.prefix) != 0 ||
        !ends_with(path, r.suffix))
      continue;
    if (std::regex_match(path, req.matches, r.regex)) return &r;
  }
  return nullptr;
}

HttpServer::Next HttpServer::write_response(Connection& c, httplib::Request& req, httplib::Response& res,
                                            bool keep_alive, size_t served) {
  if (res.status >= 400 && m_error_handler) m_error_handler(req, res);
  if (m_post_routing) m_post_routing(req, res);

  const bool head_only = req.method == "HEAD";
  const bool provider = static_cast<bool>(res.content_provider_);
  const bool chunked = provider && res.is_chunked_content_provider_ && req.version != "HTTP/1.0";
  const bool until_close = provider && !chunked && res.content_length_ == 0; // no length: the close ends it
  if (m_stopping.load() || until_close || has_token(res.get_header_value("Connection"), "close")) keep_alive = false;

  std::string out;
  out.reserve(256 + (provider || head_only ? 0 : res.body.size()));
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += res.reason.empty() ? reason_phrase(res.status) : std::string_view(res.reason);
  out += "\r\n";
  for (const auto& [name, value] : res.headers) {
    if (!keep_alive && util::iequals(name, "Connection")) continue; // closing: say so, whatever the handler set
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (!res.has_header("Connection")) {
    out += "Connection: keep-alive\r\nKeep-Alive: timeout=";
    out += std::to_string(m_options.keep_alive_timeout_seconds);
    out += ", max=";
    out += std::to_string(m_options.keep_alive_max_requests - served - 1);
    out += "\r\n";
  }
  const bool no_body_status = res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
  if (!res.body.empty() && !res.has_header("Content-Type")) out += "Content-Type: text/plain\r\n";
  if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else if (!res.has_header("Content-Length") && !no_body_status && !until_close) {
    out += "Content-Length: ";
    out += std::to_string(provider ? res.content_length_ : res.body.size());
    out += "\r\n";
  }
  out += "\r\n";

  if (!provider) {
    if (!head_only && !no_body_status) out += res.body;
    if (!c.write_all(out.data(), out.size())) return Next::abort;
    return keep_alive ? Next::keep_alive : Next::close;
  }

  // A streamed body: the head goes first (a provider that fails then cuts the answer mid-body, as a
  // dropped connection does), then the provider's pieces in writes of about k_write_chunk bytes.
  if (!c.write_all(out.data(), out.size())) return Next::abort;
  if (head_only || no_body_status) return keep_alive ? Next::keep_alive : Next::close;
  out.clear();
  bool ok = true, done = false;
  size_t offset = 0;
  const size_t length = res.content_length_;
  auto flush = [&] {
    ok = ok && c.write_all(out.data(), out.size());
    out.clear();
    return ok;
  };
  httplib::DataSink sink;
  sink.write = [&](const char* data, size_t n) {
    if (!ok) return false;
    if (chunked) {
      if (n == 0) return true; // an empty chunk would end the body
      char hex[2 * sizeof(size_t)];
      auto r = std::to_chars(hex, hex + sizeof hex, n, 16);
      out.append(hex, r.ptr);
      out += "\r\n";
      out.append(data, n);
      out += "\r\n";
    } else if (!until_close && n > length - std::min(length, offset)) {
      ok = false; // more than Content-Length promised: the next answer would be corrupt
      return false;
    } else if (n >= k_write_chunk) {
      ok = flush() && c.write_all(data, n); // large pieces go straight out, not through a copy
      offset += n;
      return ok;
    } else {
      out.append(data, n);
    }
    offset += n;
    return out.size() < k_write_chunk || flush();
  };
  sink.is_writable = [&] { return ok; };
  sink.done = [&] { done = true; };
  while (chunked || until_close ? !done : offset < length) {
    size_t before = offset;
    bool more = res.content_provider_(offset, chunked || until_close ? 0 : length - offset, sink);
    if (!more || !ok || (offset == before && !done)) return Next::abort;
  }
  if (chunked) out += "0\r\n\r\n";
  if (!flush()) return Next::abort;
  res.content_provider_success_ = true;
  return keep_alive ? Next::keep_alive : Next::close;
}

} // namespace xdr::emulator
