// The xdr-emulator program itself: command line, ready file, TLS state reuse, clean stop.

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "emulator_fixture.hpp"

using namespace xdr;
using namespace xdr::testing;

namespace {

struct Child {
  pid_t pid = -1;
  std::filesystem::path out;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Waits for exit; returns the exit status or -1 on timeout.
  int wait_exit(std::chrono::seconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Child> spawn(const std::vector<std::string>& args, const std::filesystem::path& out) {
  auto c = std::make_unique<Child>();
  c->out = out;
  c->pid = ::fork();
  if (c->pid == 0) {
    int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    std::string bin = XDR_EMULATOR_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return c;
}

Json wait_ready(const std::filesystem::path& ready, Child& child) {
  for (int i = 0; i < 600; ++i) {
    if (std::filesystem::exists(ready)) {
      Json j = Json::parse(slurp(ready), nullptr, false);
      if (j.is_object()) return j;
    }
    if (child.wait_exit(std::chrono::seconds(0)) >= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "the emulator did not become ready: " << slurp(child.out);
  return Json();
}

int port_of(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

// The subjectAltName entries of the first certificate in a PEM file: "DNS:name" and "IP:address".
std::vector<std::string> subject_alt_names(const std::filesystem::path& pem) {
  std::vector<std::string> out;
  std::string text = slurp(pem);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) return out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                         static_cast<size_t>(ASN1_STRING_length(n->d.dNSName))));
    } else if (n->type == GEN_IPADD) {
      char text_ip[64] = {};
      int len = ASN1_STRING_length(n->d.iPAddress);
      ::inet_ntop(len == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(n->d.iPAddress), text_ip, sizeof text_ip);
      out.push_back(std::string("IP:") + text_ip);
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

} // namespace

TEST(EmulatorBinary, ReadyFileTlsStateAndCleanStop) {
  TempDir dir;
  auto state = dir.path / "state";
  auto ready = dir.path / "ready.json";
  auto child = spawn({"--listen", "127.0.0.1:0", "--state-dir", state.string(), "--ready-file", ready.string()},
                     dir.path / "out1.log");
  Json info = wait_ready(ready, *child);
  ASSERT_TRUE(info.is_object());
  EXPECT_TRUE(util::istarts_with(info["url"].get<std::string>(), "https://127.0.0.1:"));
  EXPECT_EQ(info["ca_file"], std::filesystem::canonical(state).string() + "/ca.pem");
  EXPECT_EQ(info["pid"], child->pid);
  EXPECT_EQ(util::trim(slurp(child->out)).substr(0, info.dump().size()), info.dump()) << "the same line is printed";
  std::string ca_before = slurp(info["ca_file"].get<std::string>());
  std::string server_before = slurp(state / "server.pem");
  EXPECT_EQ(subject_alt_names(state / "server.pem"),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));

  httplib::SSLClient c("127.0.0.1", port_of(info["url"]));
  c.set_ca_cert_path(info["ca_file"].get<std::string>().c_str());
  c.enable_server_certificate_verification(true);
  auto r = c.Get("/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);

  ::kill(child->pid, SIGTERM);
  EXPECT_EQ(child->wait_exit(std::chrono::seconds(10)), 0) << "stops cleanly on SIGTERM";

  // Second start: the CA in the state directory is reused; SIGINT stops it too.
  std::filesystem::remove(ready);
  auto again = spawn({"--listen", "127.0.0.1:0", "--state-dir", state.string(), "--ready-file", ready.string()},
                     dir.path / "out2.log");
  Json info2 = wait_ready(ready, *again);
  EXPECT_EQ(slurp(info2["ca_file"].get<std::string>()), ca_before);
  EXPECT_EQ(slurp(state / "server.pem"), server_before) << "the server certificate is reused too";
  // Verified by name: localhost is in the certificate.
  httplib::SSLClient by_name("localhost", port_of(info2["url"]));
  by_name.set_ca_cert_path(info2["ca_file"].get<std::string>().c_str());
  by_name.enable_server_certificate_verification(true);
  auto named = by_name.Get("/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(named) << httplib::to_string(named.error());
  EXPECT_EQ(named->status, 200);
  ::kill(again->pid, SIGINT);
  EXPECT_EQ(again->wait_exit(std::chrono::seconds(10)), 0);

  // A third start with --hostname: the same CA signs a new server certificate that names the host too.
  std::filesystem::remove(ready);
  auto named_host = spawn({"--listen", "127.0.0.1:0", "--state-dir", state.string(), "--ready-file", ready.string(),
                           "--hostname", "xdr-emulator.test"},
                          dir.path / "out3.log");
  Json info3 = wait_ready(ready, *named_host);
  EXPECT_EQ(slurp(info3["ca_file"].get<std::string>()), ca_before);
  EXPECT_EQ(subject_alt_names(state / "server.pem"),
            (std::vector<std::string>{"DNS:localhost", "DNS:xdr-emulator.test", "IP:127.0.0.1", "IP:::1"}));
  ::kill(named_host->pid, SIGTERM);
  EXPECT_EQ(named_host->wait_exit(std::chrono::seconds(10)), 0);
}

TEST(EmulatorBinary, PlainHttpHasNoCaFile) {
  TempDir dir;
  auto ready = dir.path / "ready.json";
  auto child = spawn({"--http", "--listen", "127.0.0.1:0", "--state-dir", (dir.path / "s").string(), "--ready-file",
                      ready.string()},
                     dir.path / "out.log");
  Json info = wait_ready(ready, *child);
  EXPECT_TRUE(util::istarts_with(info["url"].get<std::string>(), "http://127.0.0.1:"));
  EXPECT_TRUE(info["ca_file"].is_null());
  httplib::Client c("127.0.0.1", port_of(info["url"]));
  auto r = c.Get("/common/discovery/keys");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ::kill(child->pid, SIGTERM);
  EXPECT_EQ(child->wait_exit(std::chrono::seconds(10)), 0);
}

TEST(EmulatorBinary, BadArgumentsAndScenarioAreClearErrors) {
  TempDir dir;
  auto bad_listen = spawn({"--listen", "nonsense", "--state-dir", (dir.path / "s").string()}, dir.path / "a.log");
  EXPECT_EQ(bad_listen->wait_exit(std::chrono::seconds(20)), 2);
  EXPECT_NE(slurp(dir.path / "a.log").find("--listen wants HOST:PORT"), std::string::npos);
  {
    std::ofstream(dir.path / "bad.json") << R"({"apps":[{"client_id":"not-a-guid"}]})";
  }
  auto bad_scenario = spawn({"--config", (dir.path / "bad.json").string(), "--state-dir", (dir.path / "s").string()},
                            dir.path / "b.log");
  EXPECT_EQ(bad_scenario->wait_exit(std::chrono::seconds(20)), 2);
  EXPECT_NE(slurp(dir.path / "b.log").find("client_id 'not-a-guid' is not a GUID"), std::string::npos)
      << slurp(dir.path / "b.log");
}
