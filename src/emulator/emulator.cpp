#include <emulator/emulator.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>

#include <sys/stat.h>
#include <unistd.h>

#include <emulator/service.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace fs = std::filesystem;

namespace xdr::emulator {
namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_private(const fs::path& p, std::string_view data) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) throw Fatal("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, p);
}

// The local CA and a server certificate, created on first start and reused.
void ensure_tls(const fs::path& dir, const std::vector<std::string>& extra_names) {
  fs::path ca_pem = dir / "ca.pem", ca_key = dir / "ca.key", srv_pem = dir / "server.pem", srv_key = dir / "server.key",
           names_file = dir / "server-names.txt";
  std::vector<std::string> dns = {"localhost"};
  for (const auto& h : extra_names) dns.push_back(h);
  std::string names = util::join(dns, ",");
  if (!fs::exists(ca_pem) || !fs::exists(ca_key)) {
    auto key = crypto::RsaPrivateKey::generate(2048);
    crypto::CertificateOptions o;
    o.common_name = "xdr-emulator local CA";
    o.valid_days = 3650;
    o.is_ca = true;
    auto ca = crypto::make_certificate(key, o);
    if (!ca) throw Fatal(ca.error().message);
    write_private(ca_key, key.to_pem());
    write_private(ca_pem, ca->pem());
    ::chmod(ca_pem.c_str(), 0644);
    fs::remove(srv_pem);
  }
  if (fs::exists(srv_pem) && fs::exists(srv_key) && slurp(names_file) == names) return;
  auto ca_k = crypto::RsaPrivateKey::from_pem(slurp(ca_key));
  auto ca_c = crypto::Certificate::from_pem(slurp(ca_pem));
  if (!ca_k || !ca_c) throw Fatal("the emulator CA in " + dir.string() + " is unreadable; delete it to start afresh");
  auto key = crypto::RsaPrivateKey::generate(2048);
  crypto::CertificateOptions o;
  o.common_name = "localhost";
  o.valid_days = 825;
  o.dns_names = dns;
  o.ip_addresses = {"127.0.0.1", "::1"};
  auto cert = crypto::make_certificate(key, o, &*ca_k, &*ca_c);
  if (!cert) throw Fatal(cert.error().message);
  write_private(srv_key, key.to_pem());
  write_private(srv_pem, cert->pem() + ca_c->pem());
  write_private(names_file, names);
}

std::pair<std::string, int> parse_listen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) throw Fatal("--listen wants HOST:PORT, got '" + listen + "'");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    throw Fatal("--listen wants HOST:PORT, got '" + listen + "'");
  }
  if (port < 0 || port > 65535) throw Fatal("--listen port out of range: " + listen);
  return {host, port};
}

} // namespace

util::TimePoint Emulator::Impl::now() const {
  return std::chrono::system_clock::now() + std::chrono::seconds(dir->clock_offset_seconds.load());
}

bool Emulator::Impl::is_our_host(const std::string& host) const {
  std::string name = host;
  if (!name.empty() && name.front() == '[') {
    name = name.substr(1, name.find(']') - 1);
  } else if (auto c = name.rfind(':'); c != std::string::npos) {
    name = name.substr(0, c);
  }
  bool ours = name == "127.0.0.1" || util::iequals(name, "localhost") || name == "::1";
  for (const auto& h : options.hostnames) ours = ours || util::iequals(name, h);
  return ours;
}

std::string Emulator::Impl::base_url(const httplib::Request& req) const {
  std::string host = req.get_header_value("Host");
  if (is_our_host(host) && !host.empty()) {
    if (host.find(':') == std::string::npos || (host.front() == '[' && host.back() == ']'))
      host += ":" + std::to_string(port);
    return scheme + "://" + host;
  }
  return scheme + "://127.0.0.1:" + std::to_string(port);
}

Emulator::Emulator(EmulatorOptions options) : m_impl(std::make_unique<Impl>()) { m_impl->options = std::move(options); }

Emulator::~Emulator() { stop(); }

Status Emulator::start() {
  Impl& im = *m_impl;
  HttpServerOptions server_options;
  try {
    // 1. The scenario: the file, the in-memory one, or the built-in default.
    Json scenario;
    std::string base_dir = ".";
    if (im.options.scenario) {
      scenario = *im.options.scenario;
    } else if (!im.options.config_file.empty()) {
      auto text = slurp(im.options.config_file);
      if (text.empty()) return fail(ErrorKind::config, "cannot read the scenario " + im.options.config_file);
      auto parsed = util::parse_json(text, "the scenario " + im.options.config_file);
      if (!parsed) return fail(parsed.error());
      scenario = *parsed;
      base_dir = fs::absolute(im.options.config_file).parent_path().string();
    } else {
      scenario = Directory::default_scenario();
    }
    im.dir = Directory::from_scenario(scenario, base_dir);

    // 2. The state directory: CA, server certificate, generated secrets.
    im.state_dir = im.options.state_dir;
    if (im.state_dir.empty()) {
      char tmpl[] = "/tmp/xdr-emulator-XXXXXX";
      if (!mkdtemp(tmpl)) return fail(ErrorKind::config, "cannot create a temporary state directory");
      im.state_dir = tmpl;
    }
    fs::create_directories(im.state_dir);
    ::chmod(im.state_dir.c_str(), 0700);
    im.state_dir = fs::canonical(im.state_dir).string();
    for (auto& [id, app] : im.dir->apps) {
      for (size_t i = 0; i < app.secrets.size(); ++i) {
        if (!app.secrets[i].value.empty()) continue;
        fs::path p = fs::path(im.state_dir) / ("secret-" + id + (i ? "-" + std::to_string(i) : "") + ".txt");
        if (fs::exists(p)) {
          app.secrets[i].value = std::string(util::trim(slurp(p)));
        } else {
          app.secrets[i].value = util::base64url_encode(crypto::random_bytes(30));
          write_private(p, app.secrets[i].value + "\n");
        }
        if (i == 0) im.secret_files[id] = p.string();
      }
    }

    // 3. TLS unless --http.
    im.scheme = im.options.http ? "http" : "https";
    if (!im.options.http) {
      ensure_tls(im.state_dir, im.options.hostnames);
      im.ca_path = (fs::path(im.state_dir) / "ca.pem").string();
      server_options.cert_chain_file = (fs::path(im.state_dir) / "server.pem").string();
      server_options.key_file = (fs::path(im.state_dir) / "server.key").string();
    }
  } catch (const std::exception& e) {
    return fail(ErrorKind::config, e.what());
  }

  // 4. The server: a thread per connection (so a generous pool), slow clients cut off.
  server_options.threads = im.options.threads;
  server_options.read_timeout_seconds = im.options.read_timeout_seconds;
  server_options.max_body_bytes = im.options.max_body_bytes;
  auto server = HttpServer::create(server_options);
  if (!server) return fail(server.error());
  im.server = std::move(*server);
  im.install_routes();

  // 5. Bind and serve.
  std::string host;
  int port = 0;
  try {
    std::tie(host, port) = parse_listen(im.options.listen);
  } catch (const Fatal& e) {
    return fail(ErrorKind::config, e.what());
  }
  auto bound = im.server->listen(host, port);
  if (!bound) {
    return fail(ErrorKind::config, "cannot listen on " + im.options.listen + ": " + bound.error().message +
                                       " (in use, or not an address of this machine)");
  }
  im.port = *bound;
  im.server->start();
  return {};
}

void Emulator::stop() {
  Impl& im = *m_impl;
  if (im.server) im.server->stop();
}

std::string Emulator::url() const { return m_impl->scheme + "://127.0.0.1:" + std::to_string(m_impl->port); }
std::string Emulator::ca_file() const { return m_impl->ca_path; }
int Emulator::port() const { return m_impl->port; }

Json Emulator::ready_info() const {
  Json j = {{"url", url()}, {"pid", static_cast<int64_t>(::getpid())}};
  j["ca_file"] = m_impl->ca_path.empty() ? Json(nullptr) : Json(m_impl->ca_path);
  j["state_dir"] = m_impl->state_dir;
  return j;
}

std::string Emulator::secret_file(const std::string& client_id) const {
  auto it = m_impl->secret_files.find(client_id);
  return it == m_impl->secret_files.end() ? std::string() : it->second;
}

} // namespace xdr::emulator
