// The emulator serving incident pages (issue 4, performance): GET /api/incidents?$top=100 over HTTPS
// keep-alive from a few client threads, requests per second, next to nginx serving a static file of the
// same byte size over HTTPS in the same run (target: the emulator >= 50% of nginx). Not part of ctest.
//
// Usage: bench_emulator_pages [--emulator PATH] [--nginx PATH] [--seconds S] [--clients N] [--incidents N]
// The emulator defaults to ../src/emulator/xdr-emulator next to this program's build folder; nginx to
// /usr/sbin/nginx, started with a temporary configuration on a free 127.0.0.1 port and a self-made certificate.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <iomanip>
#include <iostream>

#include <httplib.h>

#include "emulator_process.hpp"

#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using xdr::Json;
constexpr double k_target_ratio = 0.50;

struct Options {
  std::string emulator;
  std::string nginx = "/usr/sbin/nginx";
  double seconds = 5.0;
  int clients = 4;
  int incidents = 1000;
};

Options parse_options(int argc, char** argv) {
  Options o;
  o.emulator = xdr::bench::default_emulator_path();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--emulator") o.emulator = value();
    else if (a == "--nginx") o.nginx = value();
    else if (a == "--seconds") o.seconds = std::stod(value());
    else if (a == "--clients") o.clients = std::stoi(value());
    else if (a == "--incidents") o.incidents = std::stoi(value());
    else throw std::runtime_error("unknown option " + a + "; use --emulator, --nginx, --seconds, --clients, --incidents");
  }
  if (o.clients < 1 || o.seconds <= 0 || o.incidents < 100)
    throw std::runtime_error("--clients >= 1, --seconds > 0 and --incidents >= 100, please");
  return o;
}

// A free TCP port on 127.0.0.1 (bound, read, released).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// nginx serving `body` as /page.json over HTTPS with a self-signed certificate, stopped by its PID.
class NginxProcess {
public:
  NginxProcess(const std::string& binary, const fs::path& dir, const std::string& body) {
    fs::create_directories(dir / "www");
    fs::create_directories(dir / "tmp");
    std::ofstream(dir / "www" / "page.json", std::ios::binary) << body;
    // nginx's workers drop privileges (to nobody when started as root): the page must be world-readable.
    for (const fs::path& p : {dir.parent_path(), dir, dir / "www"})
      fs::permissions(p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                             fs::perms::others_exec);
    fs::permissions(dir / "www" / "page.json", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                                   fs::perms::others_read);
    auto key = xdr::crypto::RsaPrivateKey::generate(2048);
    xdr::crypto::CertificateOptions co;
    co.common_name = "127.0.0.1";
    co.ip_addresses = {"127.0.0.1"};
    auto cert = xdr::crypto::make_certificate(key, co);
    if (!cert) throw std::runtime_error(cert.error().message);
    std::ofstream(dir / "cert.pem") << cert->pem();
    std::ofstream(dir / "key.pem") << key.to_pem();
    m_port = free_port();
    std::string d = dir.string();
    std::ofstream(dir / "nginx.conf") << "worker_processes auto;\ndaemon off;\npid " << d << "/nginx.pid;\nerror_log " << d
                                      << "/error.log;\nevents { worker_connections 1024; }\nhttp {\n  access_log off;\n"
                                      << "  client_body_temp_path " << d << "/tmp/body;\n  proxy_temp_path " << d
                                      << "/tmp/proxy;\n  fastcgi_temp_path " << d << "/tmp/fastcgi;\n  uwsgi_temp_path " << d
                                      << "/tmp/uwsgi;\n  scgi_temp_path " << d << "/tmp/scgi;\n"
                                      << "  keepalive_requests 10000000;\n  keepalive_timeout 60s;\n"
                                      << "  server {\n    listen 127.0.0.1:" << m_port << " ssl;\n    ssl_certificate " << d
                                      << "/cert.pem;\n    ssl_certificate_key " << d << "/key.pem;\n    location / { root " << d
                                      << "/www; default_type application/json; }\n  }\n}\n";
    std::vector<std::string> args = {binary, "-e", d + "/error.log", "-p", d, "-c", d + "/nginx.conf"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, (dir / "nginx.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawn(&m_pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
    auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      httplib::SSLClient c("127.0.0.1", m_port);
      c.enable_server_certificate_verification(false);
      if (auto r = c.Get("/page.json"); r && r->status == 200) break;
      int status = 0;
      if (waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        throw std::runtime_error("nginx exited at start; see " + d + "/error.log");
      }
      if (Clock::now() > deadline) throw std::runtime_error("nginx did not answer within 10 s; see " + d + "/error.log");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~NginxProcess() {
    if (m_pid <= 0) return;
    kill(m_pid, SIGTERM);
    int status = 0;
    waitpid(m_pid, &status, 0);
  }
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;
  int port() const { return m_port; }

private:
  pid_t m_pid = -1;
  int m_port = 0;
};

struct Outcome {
  double requests_per_second = 0;
  double mb_per_second = 0;
  uint64_t errors = 0;
};

// `clients` threads, each on one keep-alive HTTPS connection, GET `path` for `seconds`.
Outcome hammer(int port, const std::string& path, const httplib::Headers& headers, int clients, double seconds,
               size_t expected_bytes) {
  std::atomic<uint64_t> done{0}, errors{0}, bytes{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&] {
      httplib::SSLClient c("127.0.0.1", port);
      c.enable_server_certificate_verification(false);
      c.set_keep_alive(true);
      c.set_read_timeout(30, 0);
      while (!stop.load(std::memory_order_relaxed)) {
        auto r = c.Get(path.c_str(), headers);
        if (!r || r->status != 200 || r->body.size() != expected_bytes) {
          errors.fetch_add(1);
          continue;
        }
        done.fetch_add(1, std::memory_order_relaxed);
        bytes.fetch_add(r->body.size(), std::memory_order_relaxed);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(done.load()) / elapsed, static_cast<double>(bytes.load()) / elapsed / 1e6, errors.load()};
}

int run(int argc, char** argv) {
  Options opt = parse_options(argc, argv);
  if (access(opt.emulator.c_str(), X_OK) != 0)
    throw std::runtime_error("no xdr-emulator at " + opt.emulator + "; build it or pass --emulator PATH");
  if (access(opt.nginx.c_str(), X_OK) != 0) throw std::runtime_error("no nginx at " + opt.nginx + "; pass --nginx PATH");
  char tmpl[] = "/tmp/bench-pages-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("cannot create a temporary directory");
  fs::path dir = tmpl;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};

  // One tenant with enough incidents for full pages, and quotas out of the way.
  std::string client_id = xdr::crypto::random_guid();
  std::string secret = xdr::util::base64url_encode(xdr::crypto::random_bytes(30));
  std::vector<std::string> tenants;
  std::string scenario_path = xdr::bench::write_scenario(dir, 1, client_id, tenants);
  Json scenario = Json::parse(std::ifstream(scenario_path));
  scenario["tenants"][0]["data"] = {{"incidents", opt.incidents}};
  scenario["quotas"] = {{"incidents_per_minute", 1'000'000'000}, {"incidents_per_hour", 1'000'000'000}};
  std::ofstream(scenario_path) << scenario.dump();

  double page_bytes = 0;
  double emulator_cores = 0; // the emulator's CPU seconds per wall second while it served
  Outcome emu, ngx;
  {
    xdr::bench::EmulatorProcess emulator(opt.emulator, dir / "emulator", scenario_path, secret);
    httplib::SSLClient c("127.0.0.1", emulator.port());
    c.enable_server_certificate_verification(false);
    httplib::Params form = {{"grant_type", "client_credentials"}, {"client_id", client_id}, {"client_secret", secret},
                            {"scope", "https://api.security.microsoft.com/.default"}};
    auto t = c.Post(("/" + tenants[0] + "/oauth2/v2.0/token").c_str(), form);
    if (!t || t->status != 200) throw std::runtime_error("no token from the emulator: " + (t ? t->body : std::string("no answer")));
    httplib::Headers auth = {{"Authorization", "Bearer " + Json::parse(t->body).at("access_token").get<std::string>()}};
    const std::string path = "/api/incidents?$top=100";
    auto page = c.Get(path.c_str(), auth);
    if (!page || page->status != 200) throw std::runtime_error("the emulator did not serve a page");
    if (Json::parse(page->body).at("value").size() != 100) throw std::runtime_error("the page does not hold 100 incidents");
    page_bytes = static_cast<double>(page->body.size());
    if (page->has_header("Content-Encoding"))
      std::cout << "note: the emulator answered with Content-Encoding " << page->get_header_value("Content-Encoding") << "\n";
    double cpu_before = emulator.cpu_seconds();
    emu = hammer(emulator.port(), path, auth, opt.clients, opt.seconds, page->body.size());
    emulator_cores = (emulator.cpu_seconds() - cpu_before) / opt.seconds;

    NginxProcess nginx(opt.nginx, dir / "nginx", page->body);
    ngx = hammer(nginx.port(), "/page.json", {}, opt.clients, opt.seconds, page->body.size());
  }
  double ratio = ngx.requests_per_second > 0 ? emu.requests_per_second / ngx.requests_per_second : 0;
  std::cout << "bench_emulator_pages: " << opt.clients << " keep-alive HTTPS clients, " << opt.seconds
            << " s each, page of 100 incidents = " << static_cast<int64_t>(page_bytes) << " bytes\n\n";
  std::cout << std::left << std::setw(34) << "server" << std::right << std::setw(12) << "requests/s" << std::setw(10)
            << "MB/s" << std::setw(9) << "errors" << "\n";
  auto row = [](const std::string& name, const Outcome& o) {
    std::cout << std::left << std::setw(34) << name << std::right << std::fixed << std::setprecision(0) << std::setw(12)
              << o.requests_per_second << std::setprecision(1) << std::setw(10) << o.mb_per_second << std::setw(9)
              << o.errors << "\n";
  };
  row("xdr-emulator GET /api/incidents", emu);
  row("nginx static file, same size", ngx);
  std::cout << "\nthe emulator used " << std::setprecision(2) << emulator_cores << " CPU cores ("
            << std::setprecision(2)
            << (emu.requests_per_second > 0 ? emulator_cores * 1000 / emu.requests_per_second : 0)
            << " ms CPU per page); the clients share the machine's " << std::thread::hardware_concurrency()
            << " cores\n";
  std::cout << "ratio emulator / nginx: " << std::setprecision(0) << ratio * 100 << "% (target >= "
            << k_target_ratio * 100 << "%) " << (ratio >= k_target_ratio ? "PASS" : "BELOW TARGET") << "\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_emulator_pages: " << e.what() << "\n";
    return 1;
  }
}
