// CurlTransport (and RetryTransport over it) against an in-process cpp-httplib TLS server on
// 127.0.0.1, with a CA and server certificates generated at test time.

#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <xdr/crypto/crypto.hpp>
#include <xdr/http/curl_transport.hpp>
#include <xdr/http/retry_policy.hpp>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using xdr::ErrorKind;
using xdr::http::CurlTransport;
using xdr::http::Request;
using xdr::http::TransportOptions;

namespace {

struct Pki {
  fs::path dir;
  std::string ca_pem, server_cert, server_key, wrong_host_cert;
};

Pki* g_pki = nullptr;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Sets or unsets an environment variable for the lifetime of the object.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (m_old)
      setenv(m_name, m_old->c_str(), 1);
    else
      unsetenv(m_name);
  }

private:
  const char* m_name;
  std::optional<std::string> m_old;
};

// A TLS server on 127.0.0.1:<ephemeral> running in its own thread until destroyed.
class TestServer {
public:
  explicit TestServer(const std::string& cert = g_pki->server_cert) : m_server(cert.c_str(), g_pki->server_key.c_str()) {
    m_server.set_tcp_nodelay(true);
    m_server.set_keep_alive_max_count(1000);
    m_server.set_keep_alive_timeout(2);
  }
  ~TestServer() { stop(); }

  httplib::SSLServer& operator*() { return m_server; }
  httplib::SSLServer* operator->() { return &m_server; }

  void start() {
    ASSERT_TRUE(m_server.is_valid()) << "the test certificate or key was rejected";
    m_port = m_server.bind_to_any_port("127.0.0.1");
    ASSERT_GT(m_port, 0);
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    for (int i = 0; i < 2000 && !m_server.is_running(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(m_server.is_running());
  }
  void stop() {
    if (!m_thread.joinable()) return;
    m_server.stop();
    m_thread.join();
  }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "https://" + host + ":" + std::to_string(m_port) + path;
  }
  int port() const { return m_port; }

private:
  httplib::SSLServer m_server;
  std::thread m_thread;
  int m_port = 0;
};

TransportOptions trusted() {
  TransportOptions o;
  o.ca_file = (g_pki->dir / "ca.pem").string();
  o.connect_timeout = 2000ms;
  o.total_timeout = 5000ms;
  return o;
}

Request get(std::string url) {
  Request r;
  r.url = std::move(url);
  return r;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class CurlTransportTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    setenv("NO_PROXY", "127.0.0.1,localhost", 1); // a developer's proxy must not see these requests
    g_pki = new Pki;
    g_pki->dir = fs::temp_directory_path() / ("xdr-http-it-" + xdr::crypto::random_guid());
    fs::create_directories(g_pki->dir);

    // One key for the CA and the servers: key generation dominates the run time of each test
    // process (ctest runs every test in its own process), and sharing it changes nothing here.
    auto ca_key = xdr::crypto::RsaPrivateKey::generate(2048);
    const auto& server_key = ca_key;
    xdr::crypto::CertificateOptions ca_options;
    ca_options.common_name = "xdrpartner test CA";
    ca_options.is_ca = true;
    auto ca = xdr::crypto::make_certificate(ca_key, ca_options);
    ASSERT_TRUE(ca) << ca.error().message;

    xdr::crypto::CertificateOptions leaf;
    leaf.common_name = "localhost";
    leaf.dns_names = {"localhost"};
    leaf.ip_addresses = {"127.0.0.1"};
    auto server = xdr::crypto::make_certificate(server_key, leaf, &ca_key, &*ca);
    ASSERT_TRUE(server) << server.error().message;

    xdr::crypto::CertificateOptions wrong;
    wrong.common_name = "wrong.example";
    wrong.dns_names = {"wrong.example"};
    auto wrong_cert = xdr::crypto::make_certificate(server_key, wrong, &ca_key, &*ca);
    ASSERT_TRUE(wrong_cert) << wrong_cert.error().message;

    write_file(g_pki->dir / "ca.pem", ca->pem());
    write_file(g_pki->dir / "server.pem", server->pem());
    write_file(g_pki->dir / "server.key", server_key.to_pem());
    write_file(g_pki->dir / "wrong.pem", wrong_cert->pem());
    g_pki->server_cert = (g_pki->dir / "server.pem").string();
    g_pki->server_key = (g_pki->dir / "server.key").string();
    g_pki->wrong_host_cert = (g_pki->dir / "wrong.pem").string();
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(g_pki->dir, ec);
    delete g_pki;
    g_pki = nullptr;
  }
};

} // namespace

TEST_F(CurlTransportTest, VerifiesTheServerWithTheGivenCaFile) {
  TestServer server;
  server->Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Ms-Request-Id", "rid-42");
    res.set_content("hi", "text/plain");
  });
  server.start();
  CurlTransport transport(trusted());
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto r = transport.send(get(server.url("/hello", host)));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "hi");
    EXPECT_EQ(r->headers.get("x-ms-request-id"), "rid-42");
    EXPECT_EQ(r->http_version, "1.1"); // cpp-httplib does not offer h2
  }
}

TEST_F(CurlTransportTest, UsesSslCertFileWhenNoCaFileIsGiven) {
  TestServer server;
  server->Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hi", "text/plain"); });
  server.start();
  ScopedEnv env("SSL_CERT_FILE", (g_pki->dir / "ca.pem").c_str());
  TransportOptions options = trusted();
  options.ca_file.clear();
  CurlTransport transport(options);
  auto r = transport.send(get(server.url("/hello")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "hi");
}

TEST_F(CurlTransportTest, FailsVerificationWithoutTheCaAndSaysWhatToDo) {
  TestServer server;
  server->Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hi", "text/plain"); });
  server.start();
  ScopedEnv env("SSL_CERT_FILE", nullptr);
  TransportOptions options = trusted();
  options.ca_file.clear();
  CurlTransport transport(options);
  auto r = transport.send(get(server.url("/hello?client_secret=hunter2-secret")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
  EXPECT_TRUE(contains(r.error().message, "TLS verification failed")) << r.error().message;
  EXPECT_TRUE(contains(r.error().message, "pass --ca-file or set SSL_CERT_FILE")) << r.error().message;
  EXPECT_FALSE(contains(r.error().message, "hunter2-secret")) << r.error().message;
}

TEST_F(CurlTransportTest, RejectsACertificateForAnotherHost) {
  TestServer server(g_pki->wrong_host_cert);
  server->Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hi", "text/plain"); });
  server.start();
  CurlTransport transport(trusted());
  auto r = transport.send(get(server.url("/hello")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
  EXPECT_TRUE(contains(r.error().message, "not valid for host 127.0.0.1")) << r.error().message;
}

TEST_F(CurlTransportTest, UnreadableCaFileIsReported) {
  TestServer server;
  server.start();
  TransportOptions options = trusted();
  options.ca_file = (g_pki->dir / "missing.pem").string();
  CurlTransport transport(options);
  auto r = transport.send(get(server.url("/")));
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().message, "could not read the CA file")) << r.error().message;
}

TEST_F(CurlTransportTest, CapsTheResponseSize) {
  TestServer server;
  server->Get("/sized", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100'000, 'x'), "application/octet-stream"); // not compressed: Content-Length
  });
  server->Get("/compressed", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100'000, 'x'), "text/plain"); // gzip: the limit applies to decoded bytes
  });
  server->Get("/exact", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(10'000, 'x'), "text/plain");
  });
  server->Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 100'000) {
        sink.done();
        return true;
      }
      std::string chunk(10'000, 'y');
      return sink.write(chunk.data(), chunk.size());
    });
  });
  server.start();
  TransportOptions options = trusted();
  options.max_response_bytes = 10'000;
  CurlTransport transport(options);
  for (std::string path : {"/sized", "/compressed", "/chunked"}) {
    auto r = transport.send(get(server.url(path)));
    ASSERT_FALSE(r) << path;
    EXPECT_EQ(r.error().kind, ErrorKind::transport);
    EXPECT_TRUE(contains(r.error().message, "larger than the limit of 10000 bytes")) << r.error().message;
  }
  auto exact = transport.send(get(server.url("/exact")));
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_EQ(exact->body, std::string(10'000, 'x'));
  EXPECT_TRUE(exact->headers.has("content-encoding")) << "compressed on the wire, decoded by the transport";
}

TEST_F(CurlTransportTest, TotalTimeoutAgainstASlowHandler) {
  std::atomic<bool> release{false};
  TestServer server;
  server->Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(10ms);
    res.set_content("late", "text/plain");
  });
  server.start();
  TransportOptions options = trusted();
  options.total_timeout = 300ms;
  CurlTransport transport(options);
  auto start = std::chrono::steady_clock::now();
  auto r = transport.send(get(server.url("/slow")));
  auto elapsed = std::chrono::steady_clock::now() - start;
  release = true;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::timeout);
  EXPECT_TRUE(contains(r.error().message, "no complete response within 300 ms")) << r.error().message;
  EXPECT_LT(elapsed, 2s);
}

TEST_F(CurlTransportTest, ReusesConnectionsAcrossRequestsAndThreads) {
  std::mutex mutex;
  std::set<int> ports;
  std::atomic<int> requests{0};
  TestServer server;
  server->Get("/port", [&](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mutex);
      ports.insert(req.remote_port);
    }
    ++requests;
    res.set_content(std::to_string(req.remote_port), "text/plain");
  });
  server.start();
  {
    CurlTransport transport(trusted());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(transport.send(get(server.url("/port"))));
    EXPECT_EQ(ports.size(), 1u) << "sequential requests should share one connection";

    ports.clear();
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < 10; ++i)
          if (!transport.send(get(server.url("/port")))) ++failures;
      });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(requests, 60);
    EXPECT_LE(ports.size(), 4u) << "4 threads should need at most 4 connections";
  }
}

TEST_F(CurlTransportTest, ConnectionClosedMidResponseIsATransportError) {
  TestServer server;
  server->Get("/cut", [](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(1000, "text/plain", [](size_t, size_t, httplib::DataSink& sink) {
      std::string part(100, 'z');
      sink.write(part.data(), part.size());
      return false; // abort: the server closes the connection
    });
  });
  server.start();
  CurlTransport transport(trusted());
  auto r = transport.send(get(server.url("/cut")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
  EXPECT_TRUE(contains(r.error().message, "closed before the response was complete")) << r.error().message;
}

TEST_F(CurlTransportTest, BodiesAndHeadersArriveExactly) {
  struct Seen {
    std::string method, body, content_type, trace, user_agent, expect;
  };
  std::mutex mutex;
  std::vector<Seen> seen;
  TestServer server;
  auto record = [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    seen.push_back({req.method, req.body, req.get_header_value("Content-Type"), req.get_header_value("X-Trace"),
                    req.get_header_value("User-Agent"), req.get_header_value("Expect")});
    res.status = 201;
    res.set_content(req.body, "application/octet-stream");
  };
  server->Post("/echo", record);
  server->Patch("/echo", record);
  server->Delete("/echo", record);
  server.start();

  std::string binary;
  for (int i = 0; i < 200'000; ++i) binary += static_cast<char>(i * 31 % 256); // includes NUL bytes
  TransportOptions options = trusted();
  options.user_agent = "xdrpartner-it/1";
  CurlTransport transport(options);

  Request post;
  post.method = "POST";
  post.url = server.url("/echo");
  post.body = binary;
  post.headers.set("Content-Type", "application/octet-stream");
  post.headers.set("X-Trace", "a b  c;d=e");
  auto r = transport.send(post);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_TRUE(r->body == binary) << "response body differs";

  Request patch = post;
  patch.method = "PATCH";
  patch.body = "{\"status\":\"resolved\"}";
  patch.headers.set("Content-Type", "application/json");
  patch.headers.set("User-Agent", "override/2");
  ASSERT_TRUE(transport.send(patch));

  Request del;
  del.method = "DELETE";
  del.url = server.url("/echo");
  ASSERT_TRUE(transport.send(del));

  std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_TRUE(seen[0].body == binary) << "request body differs";
  EXPECT_EQ(seen[0].content_type, "application/octet-stream");
  EXPECT_EQ(seen[0].trace, "a b  c;d=e");
  EXPECT_EQ(seen[0].user_agent, "xdrpartner-it/1");
  EXPECT_EQ(seen[0].expect, "") << "no 100-continue round trip";
  EXPECT_EQ(seen[1].method, "PATCH");
  EXPECT_EQ(seen[1].body, "{\"status\":\"resolved\"}");
  EXPECT_EQ(seen[1].content_type, "application/json");
  EXPECT_EQ(seen[1].user_agent, "override/2");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_EQ(seen[2].body, "");
}

TEST_F(CurlTransportTest, RefusedConnectionAndBadUrls) {
  int closed_port = 0;
  {
    TestServer server;
    server.start();
    closed_port = server.port();
  }
  CurlTransport transport(trusted());
  auto refused = transport.send(get("https://127.0.0.1:" + std::to_string(closed_port) + "/x?token=abc-secret"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::transport);
  EXPECT_TRUE(contains(refused.error().message, "could not connect to 127.0.0.1")) << refused.error().message;
  EXPECT_FALSE(contains(refused.error().message, "abc-secret"));

  auto ftp = transport.send(get("ftp://127.0.0.1/file"));
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().kind, ErrorKind::config);
}

TEST_F(CurlTransportTest, RetryTransportOverCurlRecoversFrom503s) {
  std::atomic<int> calls{0};
  TestServer server;
  server->Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls <= 2) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      res.set_content("busy", "text/plain");
      return;
    }
    res.set_content("finally", "text/plain");
  });
  server.start();
  auto retry = xdr::http::RetryTransport(std::make_shared<CurlTransport>(trusted()));
  auto r = retry.send(get(server.url("/flaky")));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "finally");
  EXPECT_EQ(r->retries, 2);
  EXPECT_EQ(calls, 3);
}
