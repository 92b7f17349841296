#include "client/rpc_outcome.h"

#include <gtest/gtest.h>

namespace replog {
namespace {

using grpc::StatusCode;

LeaderHint FromMember() { return LeaderHint{.from_member = true, .id = 2, .address = "b:2"}; }

TEST(RpcOutcomeTest, AMembersUnavailableIsNotApplied) {
  EXPECT_EQ(ClassifyProduce(grpc::Status(StatusCode::UNAVAILABLE, "not the leader"), FromMember()),
            AttemptClass::kNotApplied);
  LeaderHint leaderless{.from_member = true};
  EXPECT_EQ(ClassifyProduce(grpc::Status(StatusCode::UNAVAILABLE, "no leader"), leaderless),
            AttemptClass::kNotApplied);
}

TEST(RpcOutcomeTest, AConnectionNeverMadeIsNotApplied) {
  grpc::Status refused(StatusCode::UNAVAILABLE,
                       "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Connection refused");
  EXPECT_TRUE(NeverSent(refused));
  EXPECT_EQ(ClassifyProduce(refused, LeaderHint{}), AttemptClass::kNotApplied);
}

TEST(RpcOutcomeTest, AConnectionBrokenMidCallIsUnknown) {
  grpc::Status broken(StatusCode::UNAVAILABLE, "Socket closed");
  EXPECT_FALSE(NeverSent(broken));
  EXPECT_EQ(ClassifyProduce(broken, LeaderHint{}), AttemptClass::kUnknown);
}

TEST(RpcOutcomeTest, DeadlineAndCancelAreUnknownAbortedIsNotApplied) {
  EXPECT_EQ(ClassifyProduce(grpc::Status(StatusCode::DEADLINE_EXCEEDED, ""), LeaderHint{}), AttemptClass::kUnknown);
  EXPECT_EQ(ClassifyProduce(grpc::Status(StatusCode::CANCELLED, ""), LeaderHint{}), AttemptClass::kUnknown);
  EXPECT_EQ(ClassifyProduce(grpc::Status(StatusCode::ABORTED, ""), LeaderHint{}), AttemptClass::kNotApplied);
}

TEST(RpcOutcomeTest, OtherCodesAreFinal) {
  for (StatusCode c : {StatusCode::INVALID_ARGUMENT, StatusCode::INTERNAL, StatusCode::RESOURCE_EXHAUSTED,
                       StatusCode::OUT_OF_RANGE, StatusCode::PERMISSION_DENIED}) {
    EXPECT_EQ(ClassifyProduce(grpc::Status(c, ""), FromMember()), AttemptClass::kFinal) << c;
  }
  EXPECT_EQ(ClassifyProduce(grpc::Status::OK, LeaderHint{}), AttemptClass::kOk);
}

TEST(RpcOutcomeTest, FromGrpcKeepsTheCodeAndAddsContext) {
  common::Status s = FromGrpc(grpc::Status(StatusCode::OUT_OF_RANGE, "offset 9 is outside [1, 5]"), "consume from a:1");
  EXPECT_EQ(s.code(), common::Code::kOutOfRange);
  EXPECT_EQ(s.message(), "consume from a:1: offset 9 is outside [1, 5]");
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "x").ok());
  EXPECT_EQ(FromGrpc(grpc::Status(StatusCode::UNAUTHENTICATED, "no"), "x").code(), common::Code::kPermissionDenied);
}

TEST(RpcOutcomeTest, RetryableReadCodes) {
  EXPECT_TRUE(RetryableRead(common::Code::kUnavailable));
  EXPECT_TRUE(RetryableRead(common::Code::kDeadlineExceeded));
  EXPECT_TRUE(RetryableRead(common::Code::kInternal));
  EXPECT_TRUE(RetryableRead(common::Code::kDataLoss));
  EXPECT_FALSE(RetryableRead(common::Code::kOutOfRange));
  EXPECT_FALSE(RetryableRead(common::Code::kInvalidArgument));
}

}  // namespace
}  // namespace replog
