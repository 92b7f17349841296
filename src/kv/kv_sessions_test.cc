#include "kv/kv_sessions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kv {
namespace {

using ::testing::HasSubstr;

TEST(KvSessionsTest, EachWriteOnceRetriesGetTheFirstResponse) {
  KvSessions t(SessionLimits{.max_clients = 10, .max_responses = 2});
  EXPECT_EQ(t.Check(7, 0).verdict, SessionVerdict::kNew);
  EXPECT_EQ(t.Check(7, 1), (SessionCheck{.verdict = SessionVerdict::kUnknownClient, .expected = 0}));
  ASSERT_TRUE(t.Record(7, 0, 10, "r0"));
  EXPECT_FALSE(t.Record(7, 0, 11, "again"));  // not new: nothing changes
  ASSERT_TRUE(t.Record(7, 1, 12, "r1"));
  EXPECT_EQ(t.Check(7, 0), (SessionCheck{.verdict = SessionVerdict::kDuplicate, .response = "r0"}));
  EXPECT_EQ(t.Check(7, 1).response, "r1");
  EXPECT_EQ(t.Check(7, 3), (SessionCheck{.verdict = SessionVerdict::kOutOfOrder, .expected = 2}));
  ASSERT_TRUE(t.Record(7, 2, 13, "r2"));
  // Two responses kept: the oldest is gone, but it was applied.
  EXPECT_EQ(t.Check(7, 0).verdict, SessionVerdict::kForgotten);
  EXPECT_EQ(t.Check(7, 2).response, "r2");
  // Revisions must grow.
  EXPECT_FALSE(t.Record(8, 0, 13, "x"));
  EXPECT_EQ(t.size(), 1u);
}

TEST(KvSessionsTest, TheLeastRecentlyActiveClientIsForgottenFirst) {
  KvSessions t(SessionLimits{.max_clients = 2, .max_responses = 4});
  ASSERT_TRUE(t.Record(1, 0, 1, "a"));
  ASSERT_TRUE(t.Record(2, 0, 2, "b"));
  ASSERT_TRUE(t.Record(1, 1, 3, "c"));  // 1 is now the more recent
  ASSERT_TRUE(t.Record(3, 0, 4, "d"));  // full: 2 goes
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Check(2, 1).verdict, SessionVerdict::kUnknownClient);
  EXPECT_EQ(t.Check(1, 1).response, "c");
  EXPECT_EQ(t.Check(3, 0).response, "d");
}

TEST(KvSessionsTest, EncodingRoundTripsAndRefusesDamageOrOtherLimits) {
  const SessionLimits limits{.max_clients = 3, .max_responses = 2};
  KvSessions a(limits);
  uint64_t rev = 1;
  for (uint64_t seq = 0; seq < 4; ++seq) {
    for (uint64_t client : {5, 9, 2}) {
      ASSERT_TRUE(a.Record(client, seq, rev, "resp" + std::to_string(rev)));
      ++rev;
    }
  }
  std::string bytes;
  a.EncodeTo(&bytes);
  KvSessions b(limits);
  std::string_view in = bytes;
  ASSERT_TRUE(b.DecodeFrom(&in).ok());
  EXPECT_TRUE(in.empty());
  std::string again;
  b.EncodeTo(&again);
  EXPECT_EQ(again, bytes);
  EXPECT_EQ(b.Check(9, 3), a.Check(9, 3));
  EXPECT_EQ(b.Check(9, 1).verdict, SessionVerdict::kForgotten);

  KvSessions other(SessionLimits{.max_clients = 4, .max_responses = 2});
  in = bytes;
  EXPECT_EQ(other.DecodeFrom(&in).code(), common::Code::kFailedPrecondition);
  for (size_t n = 0; n < bytes.size(); ++n) {
    KvSessions c(limits);
    ASSERT_TRUE(c.Record(1, 0, 1, "keep"));
    std::string_view cut = std::string_view(bytes).substr(0, n);
    EXPECT_EQ(c.DecodeFrom(&cut).code(), common::Code::kDataLoss) << "cut at " << n;
    EXPECT_EQ(c.Check(1, 0).response, "keep");
  }
  std::string unordered = bytes;  // client #0's last revision past client #1's
  unordered[16 + 16] = 100;
  in = unordered;
  EXPECT_THAT(b.DecodeFrom(&in).message(), HasSubstr("not in order of activity"));
}

}  // namespace
}  // namespace kv
