// The xdr-emulator program itself: command line, ready file, TLS state reuse, clean stop.

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

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
  ::kill(again->pid, SIGINT);
  EXPECT_EQ(again->wait_exit(std::chrono::seconds(10)), 0);
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
