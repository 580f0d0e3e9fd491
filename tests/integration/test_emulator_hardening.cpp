// Hostile and odd input: the emulator answers in the service's dialect and loses nothing.

#include "emulator_fixture.hpp"

#include <algorithm>
#include <fstream>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace xdr;
using namespace xdr::testing;

namespace {

// The accept-queue limit of the TCP listening socket on `port`, as `ss -ltn` shows it (Send-Q),
// read through sock_diag; -1 when it cannot be read.
int listen_backlog(int port) {
  int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return -1;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } msg{};
  msg.header.nlmsg_len = sizeof msg;
  msg.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.request.sdiag_family = AF_INET;
  msg.request.sdiag_protocol = IPPROTO_TCP;
  msg.request.idiag_states = 1u << 10; // TCP_LISTEN
  int backlog = -1;
  if (::send(fd, &msg, sizeof msg, 0) == static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[32768];
    for (bool done = false; !done;) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      int len = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        if (ntohs(m->id.idiag_sport) == port) backlog = static_cast<int>(m->idiag_wqueue);
      }
    }
  }
  ::close(fd);
  return backlog;
}

} // namespace

TEST_F(EmulatorTest, ListensWithTheSystemBacklogNotFive) {
  // Debian's httplib listens with a backlog of 5; hundreds of clients connecting at once then wait
  // out 1 s SYN retransmits. The emulator raises it to SOMAXCONN (the kernel caps it at somaxconn).
  int backlog = listen_backlog(emulator->port());
  if (backlog < 0) GTEST_SKIP() << "sock_diag is not available here";
  int somaxconn = SOMAXCONN;
  std::ifstream("/proc/sys/net/core/somaxconn") >> somaxconn;
  EXPECT_EQ(backlog, std::min(SOMAXCONN, somaxconn));
  EXPECT_EQ(get("/common/discovery/keys")->status, 200) << "and it still serves";
}

TEST_F(EmulatorTest, InvalidUtf8InRequestsIsA400NotA500) {
  auto r1 = post_form("/%FF/oauth2/v2.0/token", secret_v2());
  EXPECT_EQ(r1->status, 400);
  EXPECT_EQ(body_of(r1)["error_codes"], Json({900023}));
  auto r2 = client()->Post(("/" + k_fabrikam + "/oauth2/v2.0/token").c_str(), "grant_type=%FF&client_id=x",
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(r2->status, 400);
  EXPECT_EQ(body_of(r2)["error_codes"], Json({70003}));
  auto r3 = get("/common/discovery/instance?authorization_endpoint=%FF");
  EXPECT_EQ(r3->status, 400);
  auto log = client()->Get("/_emulator/requests");
  EXPECT_EQ(log->status, 200) << "the request log still serves after invalid UTF-8";
}

TEST_F(EmulatorTest, NonStringAssertionClaimsAreRefusedNotCrashed) {
  util::FormFields form = {{"grant_type", "client_credentials"}, {"client_id", k_app},
                           {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                           {"client_assertion", "eyJhbGciOjF9.e30.AA"}, {"scope", k_xdr + "/.default"}};
  auto r = post_form("/" + k_fabrikam + "/oauth2/v2.0/token", form);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body_of(r)["error_codes"], Json({700027}));
  auto huge = post_form("/" + k_fabrikam + "/oauth2/v2.0/token",
                        {{"grant_type", "client_credentials"}, {"client_id", k_app},
                         {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                         {"client_assertion", assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"exp", 1e300}})},
                         {"scope", k_xdr + "/.default"}});
  EXPECT_EQ(huge->status, 401);
  EXPECT_EQ(body_of(huge)["error_codes"], Json({700024}));
}

TEST_F(EmulatorTest, AuthorizationWithoutASchemeIsMaskedWhole) {
  control("DELETE", "/_emulator/requests");
  client()->Get("/common/discovery/keys", {{"Authorization", "eyJ0eXAiOiJKV1QiLCJzZWNyZXQiOiJ0b2tlbiJ9"}});
  client()->Get("/common/discovery/keys", {{"Authorization", "Basic\tc2VjcmV0OnZhbHVl"}});
  auto raw = client()->Get("/_emulator/requests");
  EXPECT_EQ(raw->body.find("eyJ0eXAi"), std::string::npos);
  EXPECT_EQ(raw->body.find("c2VjcmV0"), std::string::npos);
  Json log = body_of(raw);
  EXPECT_EQ(log["requests"][0]["headers"]["authorization"], "***");
  EXPECT_EQ(log["requests"][1]["headers"]["authorization"], "Basic ***");
}

TEST_F(EmulatorTest, ShortTokenLifetimesAreStillValidTokens) {
  emulator->stop();
  Json s = identity.scenario();
  s["token"] = {{"lifetime_seconds", 120}};
  start(s);
  Json j = body_of(post_form("/" + k_fabrikam + "/oauth2/v2.0/token", secret_v2()));
  EXPECT_GT(j["expires_in"].get<int64_t>(), 50);
  Json c = claims_of(j["access_token"]);
  EXPECT_EQ(c["exp"].get<int64_t>() - c["iat"].get<int64_t>(), 120);
  EXPECT_GT(c["exp"].get<int64_t>(), util::to_unix(std::chrono::system_clock::now()));
}

TEST_F(EmulatorTest, ControlApiRefusesBadInputWithoutSideEffects) {
  Json r = control("POST", "/_emulator/tenants", {{"tenant_id", k_fabrikam}, {"domain", "northwind.onmicrosoft.com"}});
  EXPECT_NE(r["error"].get<std::string>().find("already belongs"), std::string::npos);
  EXPECT_EQ(post_form("/fabrikam.onmicrosoft.com/oauth2/v2.0/token", secret_v2())->status, 200)
      << "a refused replacement leaves the tenant as it was";
  Json bad_role = {{"tenant_id", k_fabrikam}, {"domain", "fabrikam.onmicrosoft.com"}};
  bad_role["consents"] = Json::array({Json{{"client_id", k_app}, {"resource", "xdr"}, {"roles", {"Nope.All"}}}});
  control("POST", "/_emulator/tenants", bad_role);
  EXPECT_TRUE(claims_of(body_of(post_form("/fabrikam.onmicrosoft.com/oauth2/v2.0/token", secret_v2()))["access_token"]).contains("roles"));
  auto c = client();
  auto idx = c->Post(("/_emulator/apps/" + k_app + "/secrets/expire").c_str(), R"({"index":"zero"})", "application/json");
  EXPECT_EQ(idx->status, 400);
  auto since = c->Get("/_emulator/requests?since=abc");
  EXPECT_EQ(since->status, 400);
  auto form = c->Post("/_emulator/clock", "offset_seconds=5", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 415);
  auto rebinding = c->Get("/_emulator/state", {{"Host", "attacker.example.com"}});
  EXPECT_EQ(rebinding->status, 403);
}

namespace {
// A non-loopback IPv4 address of this machine, or "" when it has none.
std::string non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, text, sizeof text);
    if (!util::istarts_with(text, "127.")) found = text;
  }
  ::freeifaddrs(list);
  return found;
}
} // namespace

TEST(EmulatorLoopbackOnly, TheControlApiRefusesOtherAddressesWhileTheServicesAnswerThem) {
  std::string address = non_loopback_ipv4();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address";
  TempDir dir;
  emulator::EmulatorOptions o;
  o.scenario = emulator::Directory::default_scenario();
  o.state_dir = (dir.path / "state").string();
  o.listen = "0.0.0.0:0";
  emulator::Emulator emu(o);
  auto ok = emu.start();
  ASSERT_TRUE(ok) << ok.error().message;
  // From this machine's own non-loopback address: the request does not come from loopback. The server
  // certificate names loopback only, so this test does not verify it (the point is the peer address).
  httplib::SSLClient remote(address, emu.port());
  remote.enable_server_certificate_verification(false);
  auto control = remote.Get("/_emulator/state", {{"Host", "127.0.0.1"}});
  ASSERT_TRUE(control) << httplib::to_string(control.error());
  EXPECT_EQ(control->status, 403);
  EXPECT_NE(control->body.find("the control API answers on loopback only"), std::string::npos) << control->body;
  auto service = remote.Get("/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(service);
  EXPECT_EQ(service->status, 200) << "the Entra endpoints answer any address";

  httplib::SSLClient local("127.0.0.1", emu.port());
  local.set_ca_cert_path(emu.ca_file().c_str());
  local.enable_server_certificate_verification(true);
  auto from_loopback = local.Get("/_emulator/state");
  ASSERT_TRUE(from_loopback);
  EXPECT_EQ(from_loopback->status, 200);
  emu.stop();
}
