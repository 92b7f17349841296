// The log service's answers to bad or misplaced requests on a real cluster:
// a produce with no records, a produce to a follower (the leader hint in
// trailing metadata), a consume past the end or below the first offset
// (OUT_OF_RANGE naming the valid range), and a linearizable consume on a
// follower that must see a record acknowledged just before.

#include <gtest/gtest.h>

#include <string>

#include "cluster_harness.h"
#include "replog/v1/log.grpc.pb.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

std::string Trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto it = ctx.GetServerTrailingMetadata().find(key);
  return it == ctx.GetServerTrailingMetadata().end() ? "" : std::string(it->second.data(), it->second.size());
}

TEST(ClusterServiceErrorsTest, BadAndMisplacedRequestsGetClearAnswers) {
  ClusterOptions options;
  options.name = "service-errors";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = started->leader;
  const uint64_t follower = leader % 3 + 1;
  auto lstub = cluster.Stub(leader);
  auto fstub = cluster.Stub(follower);

  {  // No records: refused, nothing proposed.
    grpc::ClientContext ctx;
    replog::v1::ProduceResponse resp;
    grpc::Status s = lstub->Produce(&ctx, replog::v1::ProduceRequest(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find("no records"), std::string::npos) << s.error_message();
  }
  replog::v1::ProduceRequest one;
  one.add_records()->set_value("v");
  {  // A follower refuses and names the leader.
    grpc::ClientContext ctx;
    replog::v1::ProduceResponse resp;
    grpc::Status s = fstub->Produce(&ctx, one, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
    EXPECT_EQ(Trailer(ctx, "replog-leader-id"), std::to_string(leader));
    EXPECT_EQ(Trailer(ctx, "replog-leader-address"), cluster.Address(leader));
  }
  uint64_t offset = 0;
  {
    grpc::ClientContext ctx;
    replog::v1::ProduceResponse resp;
    grpc::Status s = lstub->Produce(&ctx, one, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.offsets_size(), 1);
    offset = resp.offsets(0);
  }
  {  // Linearizable on the follower: sees the record acknowledged before.
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    req.set_from_offset(offset);
    req.set_linearizable(true);
    replog::v1::ConsumeResponse resp;
    grpc::Status s = fstub->Consume(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_GE(resp.records_size(), 1);
    EXPECT_EQ(resp.records(0).offset(), offset);
    EXPECT_EQ(resp.records(0).value(), "v");
    EXPECT_GE(resp.committed_offset(), offset);
  }
  {  // Past the end: OUT_OF_RANGE with the valid range.
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    req.set_from_offset(offset + 1000);
    replog::v1::ConsumeResponse resp;
    grpc::Status s = lstub->Consume(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << s.error_message();
    EXPECT_NE(s.error_message().find("past the end"), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find("valid offsets are 1 to"), std::string::npos) << s.error_message();
  }
  {  // The next offset is not an error: an empty answer that says where to wait.
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    req.set_from_offset(offset + 1);
    req.set_linearizable(true);
    replog::v1::ConsumeResponse resp;
    grpc::Status s = lstub->Consume(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.records_size(), 0);
    EXPECT_EQ(resp.next_offset(), offset + 1);
  }
}

}  // namespace
}  // namespace cluster_testing
