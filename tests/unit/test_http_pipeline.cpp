#include <gtest/gtest.h>

#include <xdr/http/pipeline.hpp>

#include "fakes/fake_transport.hpp"

using xdr::http::make_pipeline;
using xdr::http::PipelineOptions;
using xdr::http::Request;
using xdr::testing::FakeTransport;

namespace {

struct PipelineHarness {
  std::shared_ptr<FakeTransport> fake = std::make_shared<FakeTransport>();
  std::vector<std::string> lines;
  int ids = 0;

  PipelineOptions options() {
    PipelineOptions o;
    o.inner = fake;
    o.transport.user_agent = "xdrpartner-test/1";
    o.retry.sleep = [](std::chrono::milliseconds) {};
    o.retry.jitter = [] { return 0.5; };
    o.log.logger.sink = [this](std::string_view line) { lines.emplace_back(line); };
    o.make_request_id = [this] { return "id-" + std::to_string(++ids); };
    return o;
  }
};

Request get(std::string url = "https://api.example/x") {
  Request r;
  r.url = std::move(url);
  return r;
}

} // namespace

TEST(Pipeline, OneRequestIdPerCallKeptAcrossRetriesAndEachAttemptLogged) {
  PipelineHarness s;
  s.fake->push(503, "");
  s.fake->push(200, "ok");
  s.fake->push(200, "again");
  auto pipeline = make_pipeline(s.options());

  auto r = pipeline->send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->retries, 1);
  auto sent = s.fake->requests();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& req : sent) {
    EXPECT_EQ(req.headers.get("x-ms-client-request-id"), "id-1");
    EXPECT_EQ(req.headers.get("user-agent"), "xdrpartner-test/1");
  }
  // Logging sits below retry: both attempts have a line.
  ASSERT_EQ(s.lines.size(), 2u);
  EXPECT_NE(s.lines[0].find("-> 503"), std::string::npos);
  EXPECT_NE(s.lines[1].find("-> 200"), std::string::npos);

  ASSERT_TRUE(pipeline->send(get()));
  EXPECT_EQ(s.fake->requests().at(2).headers.get("x-ms-client-request-id"), "id-2");
}

TEST(Pipeline, CallerHeadersAreKept) {
  PipelineHarness s;
  s.fake->push(200, "");
  auto pipeline = make_pipeline(s.options());
  Request r = get();
  r.headers.set("x-ms-client-request-id", "mine");
  r.headers.set("User-Agent", "custom/2");
  ASSERT_TRUE(pipeline->send(r));
  auto sent = s.fake->requests().at(0);
  EXPECT_EQ(sent.headers.get("x-ms-client-request-id"), "mine");
  EXPECT_EQ(sent.headers.get("user-agent"), "custom/2");
  EXPECT_EQ(s.ids, 0);
}

TEST(Pipeline, DefaultRequestIdIsARandomGuid) {
  PipelineHarness s;
  s.fake->push(200, "");
  s.fake->push(200, "");
  auto options = s.options();
  options.make_request_id = nullptr;
  auto pipeline = make_pipeline(options);
  ASSERT_TRUE(pipeline->send(get()));
  ASSERT_TRUE(pipeline->send(get()));
  auto a = s.fake->requests().at(0).headers.get("x-ms-client-request-id").value_or("");
  auto b = s.fake->requests().at(1).headers.get("x-ms-client-request-id").value_or("");
  EXPECT_EQ(a.size(), 36u);
  EXPECT_NE(a, b);
}
