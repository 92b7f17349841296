#include "metrics/grpc_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <grpcpp/grpcpp.h>

#include "metrics/exposition_parse.h"
#include "replog/v1/log.grpc.pb.h"

namespace metrics {
namespace {

// Produce on the callback API (OK), ConsumeStream streaming (two messages,
// then OK), Consume sync (NOT_FOUND).
class TinyLog final : public replog::v1::Log::WithCallbackMethod_Produce<replog::v1::Log::Service> {
 public:
  grpc::ServerUnaryReactor* Produce(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest*,
                                    replog::v1::ProduceResponse* resp) override {
    resp->add_offsets(7);
    grpc::ServerUnaryReactor* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::Status ConsumeStream(grpc::ServerContext*, const replog::v1::ConsumeRequest*,
                             grpc::ServerWriter<replog::v1::ConsumeResponse>* writer) override {
    replog::v1::ConsumeResponse resp;
    writer->Write(resp);
    writer->Write(resp);
    return grpc::Status::OK;
  }
  grpc::Status Consume(grpc::ServerContext*, const replog::v1::ConsumeRequest*,
                       replog::v1::ConsumeResponse*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "nothing");
  }
};

class GrpcMetricsTest : public ::testing::Test {
 protected:
  GrpcMetricsTest() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(grpc_metrics_.NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    server_ = builder.BuildAndStart();
    stub_ = replog::v1::Log::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~GrpcMetricsTest() override { server_->Shutdown(); }

  Exposition Scrape() {
    common::Result<Exposition> e = ParseExposition(registry_.Expose());
    EXPECT_TRUE(e.has_value()) << e.error().ToString();
    return e.has_value() ? *e : Exposition{};
  }

  common::RealClock clock_;
  Registry registry_;
  GrpcMetrics grpc_metrics_{registry_, clock_};
  TinyLog service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<replog::v1::Log::Stub> stub_;
};

TEST_F(GrpcMetricsTest, CountsCallbackStreamingAndSyncCallsByMethodAndCode) {
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    replog::v1::ProduceRequest req;
    replog::v1::ProduceResponse resp;
    ASSERT_TRUE(stub_->Produce(&ctx, req, &resp).ok());
  }
  {
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    auto reader = stub_->ConsumeStream(&ctx, req);
    replog::v1::ConsumeResponse resp;
    int n = 0;
    while (reader->Read(&resp)) ++n;
    EXPECT_EQ(n, 2);
    ASSERT_TRUE(reader->Finish().ok());
  }
  {
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    replog::v1::ConsumeResponse resp;
    EXPECT_EQ(stub_->Consume(&ctx, req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  const Exposition e = Scrape();
  auto count = [&](const char* method, const char* code) {
    const Sample* s = e.Find("replog_grpc_requests_total", {{"method", method}, {"code", code}});
    return s == nullptr ? -1.0 : s->value;
  };
  EXPECT_EQ(count("/replog.v1.Log/Produce", "OK"), 3);
  EXPECT_EQ(count("/replog.v1.Log/ConsumeStream", "OK"), 1);
  EXPECT_EQ(count("/replog.v1.Log/Consume", "NOT_FOUND"), 1);
  EXPECT_EQ(count("/replog.v1.Log/Consume", "OK"), -1);  // no sample for a code never sent
  const Sample* handled = e.Find("replog_grpc_handled_seconds_count", {{"method", "/replog.v1.Log/Produce"}});
  ASSERT_NE(handled, nullptr);
  EXPECT_EQ(handled->value, 3);
  EXPECT_EQ(e.types.at("replog_grpc_requests_total"), "counter");
}

TEST_F(GrpcMetricsTest, UnknownMethodsBeyondTheLimitCountAsOther) {
  for (size_t i = 0; i < GrpcMetrics::kMaxMethods + 5; ++i) {
    grpc_metrics_.Record(grpc_metrics_.MethodOf(("/x/M" + std::to_string(i)).c_str()), 12, 1000);
  }
  const Exposition e = Scrape();
  EXPECT_EQ(e.FindAll("replog_grpc_requests_total").size(), GrpcMetrics::kMaxMethods + 1);
  const Sample* other = e.Find("replog_grpc_requests_total", {{"method", "other"}, {"code", "UNIMPLEMENTED"}});
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->value, 5);
}

}  // namespace
}  // namespace metrics
