#include "metrics/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include <httplib.h>

#include "metrics/exposition_parse.h"

namespace metrics {
namespace {

using ::testing::HasSubstr;

// Real HTTP on 127.0.0.1 (a port the kernel picks).
class MetricsHttpServerTest : public ::testing::Test {
 protected:
  MetricsHttpServerTest()
      : server_(registry_, [this]() -> common::Status {
          if (ready_.load()) return common::Status::Ok();
          return common::UnavailableError("no leader known in group log");
        }) {
    registry_.AddCounter("replog_hits_total", "Hits.", {{"group", "log"}}).Inc(2);
  }

  void StartOrFail() {
    common::Status s = server_.Start("127.0.0.1:0");
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_GT(server_.port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
  }

  Registry registry_;
  std::atomic<bool> ready_{false};
  MetricsHttpServer server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(MetricsHttpServerTest, ServesTheRegistryInTheTextFormat) {
  StartOrFail();
  httplib::Result res = client_->Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  common::Result<Exposition> e = ParseExposition(res->body);
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  const Sample* hits = e->Find("replog_hits_total", {{"group", "log"}});
  ASSERT_NE(hits, nullptr);
  EXPECT_EQ(hits->value, 2);
}

TEST_F(MetricsHttpServerTest, HealthzIsOkAndReadyzFollowsTheCheck) {
  StartOrFail();
  httplib::Result health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  httplib::Result not_ready = client_->Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_THAT(not_ready->body, HasSubstr("no leader known in group log"));
  ready_.store(true);
  httplib::Result ready = client_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  httplib::Result missing = client_->Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(MetricsHttpServerTest, AnAddressInUseIsAClearError) {
  StartOrFail();
  MetricsHttpServer second(registry_, nullptr);
  const std::string address = "127.0.0.1:" + std::to_string(server_.port());
  common::Status s = second.Start(address);
  EXPECT_EQ(s.code(), common::Code::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("cannot listen on " + address));
  EXPECT_EQ(second.Start("127.0.0.1").code(), common::Code::kInvalidArgument);
}

TEST_F(MetricsHttpServerTest, StopIsIdempotentAndEndsServing) {
  StartOrFail();
  server_.Stop();
  server_.Stop();
  httplib::Result res = client_->Get("/healthz");
  EXPECT_FALSE(res);
  EXPECT_EQ(server_.Start("127.0.0.1:0").code(), common::Code::kFailedPrecondition);
}

TEST(MetricsHttpServerStopTest, StopRightAfterStartReturns) {
  Registry registry;
  for (int i = 0; i < 20; ++i) {
    MetricsHttpServer server(registry, nullptr);
    ASSERT_TRUE(server.Start("127.0.0.1:0").ok());
    server.Stop();
  }
}

}  // namespace
}  // namespace metrics
