// The emulator's HTTP/1.1 server over real sockets, byte for byte: what it accepts, what it refuses
// (and that a refusal reaches the error hook, so the emulator can answer in the service's dialect),
// keep-alive, streamed bodies and stopping. TLS is exercised by every other emulator test.

#include <emulator/http_server.hpp>

#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "emulator_fixture.hpp"

using xdr::emulator::HttpServer;
using xdr::emulator::HttpServerOptions;

namespace {

struct Answer {
  int status = 0;
  std::string head; // status line and headers
  std::string body;
  std::string header(const std::string& name) const {
    std::string needle = "\r\n" + name + ": ";
    size_t at = head.find(needle);
    if (at == std::string::npos) return "(absent)";
    size_t start = at + needle.size();
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

// A raw TCP client with a 30 s receive limit, so a server that never answers fails the test instead
// of hanging it.
class RawClient {
public:
  explicit RawClient(int port) {
    m_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval tv{30, 0};
    ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawClient() { ::close(m_fd); }
  bool connected() const { return m_connected; }
  int fd() const { return m_fd; }

  // false once the server has closed (a reset or a broken pipe)
  bool try_send(std::string_view bytes) const {
    return ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  void send(std::string_view bytes) const { ASSERT_EQ(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size())); }

  // The next answer (Content-Length or chunked body; a HEAD answer has none); status 0 when the
  // connection ended first.
  Answer answer(bool head_request = false) {
    Answer a;
    size_t end;
    while ((end = m_buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return a;
    a.head = m_buf.substr(0, end + 2);
    m_buf.erase(0, end + 4);
    a.status = std::stoi(a.head.substr(9, 3));
    if (head_request || a.status == 100) return a;
    if (a.header("Transfer-Encoding") == "chunked") {
      for (;;) {
        size_t eol;
        while ((eol = m_buf.find("\r\n")) == std::string::npos)
          if (!fill()) return Answer{};
        size_t size = std::stoul(m_buf.substr(0, eol), nullptr, 16);
        while (m_buf.size() < eol + 2 + size + 2)
          if (!fill()) return Answer{};
        a.body += m_buf.substr(eol + 2, size);
        m_buf.erase(0, eol + 2 + size + 2);
        if (size == 0) return a;
      }
    }
    std::string length = a.header("Content-Length");
    size_t n = length == "(absent)" ? 0 : std::stoul(length);
    while (m_buf.size() < n)
      if (!fill()) {
        a.body = m_buf; // cut short: the caller sees fewer bytes than promised
        m_buf.clear();
        return a;
      }
    a.body = m_buf.substr(0, n);
    m_buf.erase(0, n);
    return a;
  }

  // True when the server closed the connection (EOF or reset) with nothing more to read.
  bool closed_by_server() {
    if (!m_buf.empty()) return false;
    char c;
    ssize_t n = ::recv(m_fd, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

private:
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(m_fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    m_buf.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int m_fd = -1;
  bool m_connected = false;
  std::string m_buf;
};

class HttpServerTest : public ::testing::Test {
protected:
  void start(HttpServerOptions options = {}) {
    auto created = HttpServer::create(options);
    ASSERT_TRUE(created) << created.error().message;
    server = std::move(*created);
    // Echoes what the server parsed, one field per line.
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      std::string out = "method=" + req.method + "\npath=" + req.path + "\nbody=" + req.body + "\n";
      for (const auto& [k, v] : req.params) out += "param:" + k + "=" + v + "\n";
      for (size_t i = 1; i < req.matches.size(); ++i) out += "match:" + req.matches[i].str() + "\n";
      res.set_content(out, "text/plain");
    };
    server->route("GET", "/echo", echo);
    server->route("POST", "/echo", echo);
    server->route("GET", "/items/([^/]+)/parts/([0-9]+)", echo);
    server->route("GET", "/ab?c", echo);
    server->route("GET", "/v1.0/thing", echo);
    server->route("GET", "/throws", [](const httplib::Request&, httplib::Response&) { throw std::runtime_error("bug"); });
    server->route("GET", "/sized", [](const httplib::Request&, httplib::Response& res) {
      auto text = std::make_shared<std::string>(200 * 1024, 'x');
      for (size_t i = 0; i < text->size(); i += 1000) (*text)[i] = static_cast<char>('a' + (i / 1000) % 26);
      res.set_content_provider(text->size(), "application/octet-stream",
                               [text](size_t offset, size_t length, httplib::DataSink& sink) {
                                 return sink.write(text->data() + offset, std::min<size_t>(length, 7000));
                               });
    });
    server->route("GET", "/chunked", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
        if (offset >= 30) {
          sink.done();
          return true;
        }
        return sink.write("0123456789", 10);
      });
    });
    server->route("GET", "/drop", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(1024, "application/json", [](size_t, size_t, httplib::DataSink&) { return false; });
    });
    server->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      ++errors_seen;
      if (res.body.empty()) res.set_content("dialect:" + std::to_string(res.status) + ":" + req.path, "application/json");
    });
    server->set_post_routing([this](const httplib::Request&, httplib::Response& res) {
      ++answers_seen;
      res.set_header("X-Post", "1");
    });
    server->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content("handled", "text/plain");
    });
    auto bound = server->listen("127.0.0.1", 0);
    ASSERT_TRUE(bound) << bound.error().message;
    port = *bound;
    server->start();
  }
  void TearDown() override {
    if (server) server->stop();
  }

  std::unique_ptr<HttpServer> server;
  int port = 0;
  std::atomic<int> errors_seen{0};
  std::atomic<int> answers_seen{0};
};

} // namespace

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrderOnOneConnection) {
  start();
  RawClient c(port);
  c.send("GET /echo?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /echo?n=2 HTTP/1.1\r\nHost: x\r\n\r\n"
         "\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  Answer a1 = c.answer(), a2 = c.answer(), a3 = c.answer();
  EXPECT_EQ(a1.status, 200);
  EXPECT_EQ(a1.body, "method=GET\npath=/echo\nbody=\nparam:n=1\n");
  EXPECT_EQ(a2.body, "method=GET\npath=/echo\nbody=\nparam:n=2\n");
  EXPECT_EQ(a3.body, "method=POST\npath=/echo\nbody=abc\n") << "a stray CRLF before a request line is skipped";
  EXPECT_EQ(a1.header("Connection"), "keep-alive");
  EXPECT_EQ(a1.header("Keep-Alive"), "timeout=5, max=99999");
  EXPECT_EQ(a2.header("Keep-Alive"), "timeout=5, max=99998");
  EXPECT_EQ(a1.header("Content-Type"), "text/plain");
  EXPECT_EQ(a1.header("X-Post"), "1");
  EXPECT_EQ(answers_seen.load(), 3);
}

TEST_F(HttpServerTest, ARequestSentByteByByteIsReassembled) {
  start();
  RawClient c(port);
  std::string req = "POST /echo?x=%41%u00e9+b HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: 17\r\n\r\ngrant_type=a+b&z=";
  for (char ch : req) c.send(std::string_view(&ch, 1));
  Answer a = c.answer();
  EXPECT_EQ(a.status, 200);
  // Query and form fields are both decoded into params ("%uXXXX" too), '+' is a space in both.
  EXPECT_EQ(a.body, "method=POST\npath=/echo\nbody=grant_type=a+b&z=\nparam:grant_type=a b\nparam:x=A\xC3\xA9 b\nparam:z=\n");
}

TEST_F(HttpServerTest, PathsAreDecodedWithoutTurningPlusIntoSpaceAndRoutesFillMatches) {
  start();
  RawClient c(port);
  c.send("GET /items/a%2Bb+c/parts/42 HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /ac HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /v1x0/thing HTTP/1.1\r\nHost: x\r\n\r\n"
         "GET /items/a/parts/notanumber HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.answer().body, "method=GET\npath=/items/a+b+c/parts/42\nbody=\nmatch:a+b+c\nmatch:42\n");
  EXPECT_EQ(c.answer().body, "method=GET\npath=/ac\nbody=\n") << "a literal before a quantifier is optional";
  EXPECT_EQ(c.answer().status, 200) << "'.' in a pattern is a regex any-character, as with cpp-httplib";
  Answer miss = c.answer();
  EXPECT_EQ(miss.status, 404);
  EXPECT_EQ(miss.body, "dialect:404:/items/a/parts/notanumber") << "the error hook writes the dialect";
  EXPECT_EQ(miss.header("Connection"), "keep-alive") << "a 404 keeps the connection";
}

TEST_F(HttpServerTest, ChunkedBodiesAreDecodedAndTrailersIgnored) {
  start();
  RawClient c(port);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "4;ext=1\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n"
         "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.answer().body, "method=POST\npath=/echo\nbody=Wikipedia in \r\n\r\nchunks.\n");
  EXPECT_EQ(c.answer().status, 200) << "the connection goes on after a chunked body";
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimAnswerOnlyWhenTheBodyIsWanted) {
  HttpServerOptions o;
  o.max_body_bytes = 100;
  start(o);
  RawClient c(port);
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  Answer interim = c.answer();
  EXPECT_EQ(interim.head, "HTTP/1.1 100 Continue\r\n");
  c.send("hello");
  EXPECT_EQ(c.answer().body, "method=POST\npath=/echo\nbody=hello\n");

  // Too large: refused at once, no 100, the body never read, the connection closed.
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\nExpect: 100-continue\r\n\r\n");
  Answer refused = c.answer();
  EXPECT_EQ(refused.status, 413);
  EXPECT_EQ(refused.body, "dialect:413:/echo");
  EXPECT_EQ(refused.header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpServerTest, MalformedRequestsAreRefusedThroughTheErrorHookAndTheConnectionClosed) {
  start();
  struct Case {
    std::string request;
    int status;
    std::string path; // as the error hook saw it
  };
  std::vector<Case> cases = {
      {"GARBAGE\r\n\r\n", 400, ""},
      {"BREW /echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "/echo"},
      {"GET /echo HTTP/2.0\r\nHost: x\r\n\r\n", 400, "/echo"},
      {"GET echo HTTP/1.1\r\nHost: x\r\n\r\n", 400, "echo"},
      {"GET /echo HTTP/1.1\r\nNo colon here\r\n\r\n", 400, "/echo"},
      {"GET /echo HTTP/1.1\r\nBad Name: v\r\n\r\n", 400, "/echo"},
      {"GET /echo HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "/echo"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n", 400, "/echo"},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n", 413, "/echo"},
      {"POST /echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, "/echo"},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414, "/" + std::string(9000, 'a')},
  };
  std::string many = "GET /echo HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  cases.push_back({many + "\r\n", 431, "/echo"});
  cases.push_back({"GET /echo HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'b') + "\r\n\r\n", 431, ""});
  for (const auto& k : cases) {
    SCOPED_TRACE(k.request.substr(0, 60));
    RawClient c(port);
    c.send(k.request);
    Answer a = c.answer();
    EXPECT_EQ(a.status, k.status);
    EXPECT_EQ(a.body, "dialect:" + std::to_string(k.status) + ":" + k.path);
    EXPECT_EQ(a.header("Connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_EQ(errors_seen.load(), static_cast<int>(cases.size()));
  RawClient ok(port);
  ok.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(ok.answer().status, 200) << "the server still serves";
}

TEST_F(HttpServerTest, HeadUsesTheGetRouteAndSendsNoBody) {
  start();
  RawClient c(port);
  c.send("HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer head = c.answer(/*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), std::to_string(std::string("method=HEAD\npath=/echo\nbody=\n").size()));
  EXPECT_EQ(c.answer().body, "method=GET\npath=/echo\nbody=\n") << "no body bytes were sent for the HEAD";
}

TEST_F(HttpServerTest, ConnectionHeadersAndTheRequestLimitEndConnections) {
  HttpServerOptions o;
  o.keep_alive_max_requests = 2;
  start(o);
  {
    RawClient c(port);
    c.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(c.answer().header("Connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(port);
    c.send("GET /echo HTTP/1.0\r\n\r\n");
    EXPECT_EQ(c.answer().header("Connection"), "close") << "HTTP/1.0 closes unless asked";
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(port);
    c.send("GET /echo HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    Answer first = c.answer();
    EXPECT_EQ(first.header("Connection"), "keep-alive");
    EXPECT_EQ(first.header("Keep-Alive"), "timeout=5, max=1");
    c.send("GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.answer().header("Connection"), "close") << "the second of at most 2 requests";
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(HttpServerTest, StreamedBodiesArriveWholeAndAFailingProviderCutsTheAnswer) {
  start();
  RawClient c(port);
  c.send("GET /sized HTTP/1.1\r\nHost: x\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\nGET /drop HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer sized = c.answer();
  ASSERT_EQ(sized.body.size(), 200u * 1024);
  EXPECT_EQ(sized.header("Content-Length"), "204800");
  EXPECT_EQ(sized.body.substr(0, 2), "ax");
  EXPECT_EQ(sized.body[199000], static_cast<char>('a' + 199 % 26));
  Answer chunked = c.answer();
  EXPECT_EQ(chunked.header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(chunked.body, "012345678901234567890123456789");
  Answer dropped = c.answer();
  EXPECT_EQ(dropped.status, 200) << "the head was sent";
  EXPECT_EQ(dropped.header("Content-Length"), "1024");
  EXPECT_EQ(dropped.body, "") << "then the connection ended before the promised body";
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpServerTest, AThrowingHandlerGoesToTheExceptionHook) {
  start();
  RawClient c(port);
  c.send("GET /throws HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer a = c.answer();
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.body, "handled");
  EXPECT_EQ(c.answer().status, 200) << "the connection and the worker survive";
}

TEST_F(HttpServerTest, StalledRequestsAreCutOffAfterTheReadTimeout) {
  HttpServerOptions o;
  o.read_timeout_seconds = 1;
  start(o);
  RawClient stalled(port);
  stalled.send("GET /echo HTTP/1.1\r\nHost:");
  RawClient other(port);
  other.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(other.answer().status, 200) << "a stalled client does not hold up another";
  EXPECT_TRUE(stalled.closed_by_server()) << "closed without an answer (the client's own limit is 30 s)";
}

TEST_F(HttpServerTest, StopEndsIdleKeepAliveConnectionsAtOnce) {
  HttpServerOptions o;
  o.keep_alive_timeout_seconds = 120; // far beyond the client's 30 s limit: only stop() can end it
  o.read_timeout_seconds = 120;
  start(o);
  RawClient c(port);
  c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.answer().status, 200);
  server->stop();
  EXPECT_TRUE(c.closed_by_server());
  RawClient late(port);
  EXPECT_FALSE(late.connected()) << "nothing listens after stop()";
}

TEST_F(HttpServerTest, MoreConnectionsThanThreadsWaitTheirTurn) {
  HttpServerOptions o;
  o.threads = 2;
  start(o);
  RawClient a(port), b(port), third(port);
  for (RawClient* c : {&a, &b, &third}) c->send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(a.answer().status, 200);
  EXPECT_EQ(b.answer().status, 200);
  // Two threads hold a and b (idle keep-alive); the third is served once one of them leaves.
  a.send("GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(a.answer().status, 200);
  EXPECT_EQ(third.answer().status, 200);
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedAfterTheirTimeout) {
  HttpServerOptions o;
  o.keep_alive_timeout_seconds = 1; // after an answer
  o.read_timeout_seconds = 2;       // before the first request
  start(o);
  RawClient silent(port);
  RawClient served(port);
  served.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  Answer a = served.answer();
  EXPECT_EQ(a.header("Keep-Alive"), "timeout=1, max=99999");
  EXPECT_TRUE(served.closed_by_server()) << "idle past the keep-alive timeout (the client's own limit is 30 s)";
  EXPECT_TRUE(silent.closed_by_server()) << "connected and never sent a byte";
  RawClient after(port);
  after.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(after.answer().status, 200) << "closing them freed nothing that new connections need";
}

// Several TLS records in one TCP segment: OpenSSL reads them all ahead into its own buffer, where a
// wait on the socket would not see them, so the server must answer them from there.
TEST_F(HttpServerTest, TlsRecordsReadAheadAreAllAnswered) {
  xdr::testing::TempDir dir;
  auto key = xdr::crypto::RsaPrivateKey::generate(2048);
  xdr::crypto::CertificateOptions co;
  co.common_name = "localhost";
  co.ip_addresses = {"127.0.0.1"};
  auto cert = xdr::crypto::make_certificate(key, co);
  ASSERT_TRUE(cert) << cert.error().message;
  HttpServerOptions o;
  o.cert_chain_file = (dir.path / "server.pem").string();
  o.key_file = (dir.path / "server.key").string();
  o.keep_alive_timeout_seconds = 60; // an idle timeout cannot end the wait meanwhile
  std::ofstream(o.cert_chain_file) << cert->pem();
  std::ofstream(o.key_file) << key.to_pem();
  start(o);

  RawClient tcp(port);
  ASSERT_TRUE(tcp.connected());
  timeval tv{10, 0}; // a request left in OpenSSL's buffer would never be answered: fail in 10 s, not hang
  ::setsockopt(tcp.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), tcp.fd());
  ASSERT_EQ(SSL_connect(ssl.get()), 1);
  // Three requests, three records, written into memory, then sent with one send().
  BIO* records = BIO_new(BIO_s_mem());
  SSL_set0_wbio(ssl.get(), records);
  for (int n = 1; n <= 3; ++n) {
    std::string req = "GET /echo?n=" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(SSL_write(ssl.get(), req.data(), static_cast<int>(req.size())), static_cast<int>(req.size()));
  }
  char* bytes = nullptr;
  long size = BIO_get_mem_data(records, &bytes);
  tcp.send(std::string_view(bytes, static_cast<size_t>(size)));

  std::string received;
  for (int n = 1; n <= 3; ++n) {
    std::string body = "param:n=" + std::to_string(n) + "\n";
    while (received.find(body) == std::string::npos) {
      char buf[4096];
      int got = SSL_read(ssl.get(), buf, sizeof buf);
      ASSERT_GT(got, 0) << "answer " << n << " never came";
      received.append(buf, static_cast<size_t>(got));
    }
  }
  EXPECT_EQ(answers_seen.load(), 3);
}

TEST(HttpServerParts, DecodeUrlKeepsInvalidEscapes) {
  using xdr::emulator::decode_url;
  EXPECT_EQ(decode_url("a%20b+c", false), "a b+c");
  EXPECT_EQ(decode_url("a%20b+c", true), "a b c");
  EXPECT_EQ(decode_url("%zz%4%", true), "%zz%4%");
  EXPECT_EQ(decode_url("%u20AC%U00e9%u12", false), "\xE2\x82\xAC\xC3\xA9%u12");
  EXPECT_EQ(decode_url("%41", false), "A");
  EXPECT_EQ(decode_url("%4", false), "%4");
}

TEST(HttpServerParts, ReasonPhrases) {
  EXPECT_EQ(xdr::emulator::reason_phrase(200), "OK");
  EXPECT_EQ(xdr::emulator::reason_phrase(429), "Too Many Requests");
  EXPECT_EQ(xdr::emulator::reason_phrase(599), "");
}

TEST_F(HttpServerTest, EndlessBlankLinesAndTrailersDoNotHoldAThread) {
  start();
  {
    RawClient c(port);
    c.send(std::string(70 * 1024, '\n')); // blank lines before a request line: skipped, but not forever
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(port);
    std::string trailers;
    for (int i = 0; i < 4000; ++i) trailers += "X-Trailer-" + std::to_string(i) + ": v\r\n";
    c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n" + trailers + "\r\n");
    Answer a = c.answer();
    EXPECT_EQ(a.status, 431);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    RawClient c(port);
    // One-byte chunks with 1000-byte extensions: framing beyond the body limit is refused.
    std::string ext(1000, 'e');
    std::string body = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 1200; ++i) body += "1;" + ext + "\r\na\r\n";
    c.send(body);
    EXPECT_EQ(c.answer().status, 413);
  }
}

TEST_F(HttpServerTest, ARequestDribbledInPastItsDeadlineIsCutOff) {
  HttpServerOptions o;
  o.read_timeout_seconds = 5;
  o.request_timeout_seconds = 1;
  start(o);
  RawClient c(port);
  // Each byte comes well within the read timeout, but the request as a whole takes too long.
  std::string head = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i < head.size() && c.try_send(std::string_view(&head[i], 1)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(c.closed_by_server()) << "closed without an answer, though every byte came within the read timeout";
}

TEST_F(HttpServerTest, AHandlersKeepAliveHeaderDoesNotHideAClose) {
  start();
  server->route("GET", "/claims-keep-alive", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Connection", "keep-alive");
    res.set_content("x", "text/plain");
  });
  RawClient c(port);
  c.send("GET /claims-keep-alive HTTP/1.0\r\n\r\n");
  Answer a = c.answer();
  EXPECT_EQ(a.header("Connection"), "close");
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpServerTest, LiteralRoutesFillTheWholeMatchAndEscapesAreNotLiteralText) {
  start();
  server->route("GET", "/digits/\\d+", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("digits:" + req.matches[0].str(), "text/plain");
  });
  RawClient c(port);
  c.send("GET /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /digits/42 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(c.answer().status, 200);
  EXPECT_EQ(c.answer().body, "digits:/digits/42");
}
