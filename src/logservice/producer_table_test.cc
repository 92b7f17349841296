#include "logservice/producer_table.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace logservice {
namespace {

using ::testing::HasSubstr;

SeqCheck New() { return SeqCheck{}; }
SeqCheck Dup(uint64_t offset) { return SeqCheck{.verdict = SeqVerdict::kDuplicate, .offset = offset}; }
SeqCheck Forgotten() { return SeqCheck{.verdict = SeqVerdict::kForgotten}; }
SeqCheck OutOfOrder(uint64_t expected) { return SeqCheck{.verdict = SeqVerdict::kOutOfOrder, .expected = expected}; }
SeqCheck Unknown() { return SeqCheck{.verdict = SeqVerdict::kUnknownProducer, .expected = 0}; }

std::string Encode(const ProducerTable& t) {
  std::string out;
  t.EncodeTo(&out);
  return out;
}

TEST(ProducerTableTest, NewProducerStartsAtSequenceZero) {
  ProducerTable t;
  EXPECT_EQ(t.Check(7, 0), New());
  EXPECT_EQ(t.Check(7, 1), Unknown());
  EXPECT_EQ(t.Store(7, 1, 10), Unknown());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Store(7, 0, 10), New());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Check(7, 1), New());
}

TEST(ProducerTableTest, DuplicateReturnsTheOriginalOffset) {
  ProducerTable t;
  for (uint64_t s = 0; s < 3; ++s) ASSERT_EQ(t.Store(7, s, 10 + s), New());  // one request: offsets 10..12
  ASSERT_EQ(t.Store(7, 3, 20), New());                                       // another: offset 20
  EXPECT_EQ(t.Store(7, 0, 30), Dup(10));
  EXPECT_EQ(t.Store(7, 2, 31), Dup(12));
  EXPECT_EQ(t.Store(7, 3, 32), Dup(20));
  EXPECT_EQ(t.Check(7, 4), New());  // duplicates did not move `next`
  // Another producer's sequences are its own.
  EXPECT_EQ(t.Store(8, 0, 40), New());
  EXPECT_EQ(t.Check(8, 0), Dup(40));
  EXPECT_EQ(t.Check(7, 0), Dup(10));
}

TEST(ProducerTableTest, AGapIsOutOfOrderAndNamesTheExpectedSequence) {
  ProducerTable t;
  ASSERT_EQ(t.Store(7, 0, 1), New());
  ASSERT_EQ(t.Store(7, 1, 2), New());
  EXPECT_EQ(t.Store(7, 5, 3), OutOfOrder(2));
  EXPECT_EQ(t.Check(7, 2), New());  // the refused record changed nothing
  EXPECT_EQ(t.Store(7, 2, 4), New());
}

TEST(ProducerTableTest, OnlyTheLastRunsAreRemembered) {
  ProducerTable t(ProducerTableLimits{.max_runs = 2, .max_producers = 10});
  // Run 1: sequences 0..1 at 10..11. Run 2: 2 at 20. Run 3: 3..4 at 30..31.
  ASSERT_EQ(t.Store(7, 0, 10), New());
  ASSERT_EQ(t.Store(7, 1, 11), New());
  ASSERT_EQ(t.Store(7, 2, 20), New());
  EXPECT_EQ(t.Check(7, 0), Dup(10));
  ASSERT_EQ(t.Store(7, 3, 30), New());
  ASSERT_EQ(t.Store(7, 4, 31), New());
  EXPECT_EQ(t.Check(7, 0), Forgotten());  // stored, but its run fell out of the window
  EXPECT_EQ(t.Check(7, 1), Forgotten());
  EXPECT_EQ(t.Check(7, 2), Dup(20));
  EXPECT_EQ(t.Check(7, 4), Dup(31));
  EXPECT_EQ(t.Store(7, 1, 40), Forgotten());
  EXPECT_EQ(t.Check(7, 5), New());
}

TEST(ProducerTableTest, BackToBackRequestsShareOneRun) {
  ProducerTable t(ProducerTableLimits{.max_runs = 1, .max_producers = 10});
  for (uint64_t s = 0; s < 100; ++s) ASSERT_EQ(t.Store(7, s, 1000 + s), New());
  EXPECT_EQ(t.Check(7, 0), Dup(1000));  // one run of 100: nothing forgotten
  EXPECT_EQ(t.Check(7, 99), Dup(1099));
  ASSERT_EQ(t.Store(7, 100, 2000), New());  // offset does not follow: a new run replaces it
  EXPECT_EQ(t.Check(7, 99), Forgotten());
  EXPECT_EQ(t.Check(7, 100), Dup(2000));
}

TEST(ProducerTableTest, TheLeastRecentlyActiveProducerIsForgottenFirst) {
  ProducerTable t(ProducerTableLimits{.max_runs = 4, .max_producers = 2});
  ASSERT_EQ(t.Store(1, 0, 10), New());
  ASSERT_EQ(t.Store(2, 0, 11), New());
  ASSERT_EQ(t.Store(1, 1, 12), New());  // 1 is now the most recently active
  ASSERT_EQ(t.Store(2, 0, 13), Dup(11));  // a duplicate is not activity
  ASSERT_EQ(t.Store(3, 0, 14), New());  // full: 2 goes
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Check(2, 1), Unknown());
  EXPECT_EQ(t.Check(2, 0), New());  // a forgotten producer looks new at 0 (the documented limit)
  EXPECT_EQ(t.Check(1, 1), Dup(12));
  EXPECT_EQ(t.Check(3, 0), Dup(14));
  ASSERT_EQ(t.Store(4, 0, 15), New());  // then 1 goes
  EXPECT_EQ(t.Check(1, 2), Unknown());
  EXPECT_EQ(t.Check(3, 1), New());
}

// A table with several producers whose rings wrapped, and one eviction.
ProducerTable Busy(ProducerTableLimits limits) {
  ProducerTable t(limits);
  uint64_t offset = 1;
  uint64_t next[6] = {};
  for (int round = 0; round < 7; ++round) {
    const uint64_t producers = round == 6 ? 5 : 4;  // 5 comes last and pushes 1 out
    for (uint64_t p = 1; p <= producers; ++p) {
      for (int i = 0; i < 2; ++i) EXPECT_EQ(t.Store(p, next[p]++, offset++).verdict, SeqVerdict::kNew);
      offset += p;  // other entries in between
    }
  }
  return t;
}

TEST(ProducerTableTest, EncodingRoundTripsToAnEqualTable) {
  const ProducerTableLimits limits{.max_runs = 3, .max_producers = 4};
  ProducerTable a = Busy(limits);
  const std::string bytes = Encode(a);
  ProducerTable b(limits);
  std::string_view in = bytes;
  ASSERT_TRUE(b.DecodeFrom(&in).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(Encode(b), bytes);
  EXPECT_EQ(b.size(), a.size());
  // Same answers now, and after the same further calls (eviction order too).
  for (uint64_t p = 0; p <= 6; ++p) {
    for (uint64_t s = 0; s < 16; ++s) EXPECT_EQ(a.Check(p, s), b.Check(p, s)) << p << " " << s;
  }
  EXPECT_EQ(a.Store(9, 0, 1000), b.Store(9, 0, 1000));
  EXPECT_EQ(a.Store(10, 0, 1001), b.Store(10, 0, 1001));
  EXPECT_EQ(Encode(a), Encode(b));
}

TEST(ProducerTableTest, DecodeRefusesOtherLimits) {
  const std::string bytes = Encode(Busy({.max_runs = 3, .max_producers = 4}));
  ProducerTable b(ProducerTableLimits{.max_runs = 4, .max_producers = 4});
  std::string_view in = bytes;
  common::Status s = b.DecodeFrom(&in);
  EXPECT_EQ(s.code(), common::Code::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("every member must use the same"));
}

TEST(ProducerTableTest, DecodeRefusesEveryTruncationAndLeavesTheTableAlone) {
  const ProducerTableLimits limits{.max_runs = 3, .max_producers = 4};
  const std::string bytes = Encode(Busy(limits));
  ProducerTable b(limits);
  ASSERT_EQ(b.Store(42, 0, 1), New());
  const std::string before = Encode(b);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string_view in(bytes.data(), n);
    common::Status s = b.DecodeFrom(&in);
    ASSERT_EQ(s.code(), common::Code::kDataLoss) << n;
  }
  EXPECT_EQ(Encode(b), before);
}

TEST(ProducerTableTest, DecodeRefusesInconsistentRuns) {
  ProducerTable a(ProducerTableLimits{.max_runs = 3, .max_producers = 4});
  ASSERT_EQ(a.Store(7, 0, 10), New());
  ASSERT_EQ(a.Store(7, 1, 20), New());
  std::string bytes = Encode(a);
  // Header 12 bytes; producer: id 8, next 8, runs 4; runs of 24 bytes.
  std::string bad_next = bytes;
  bad_next[12 + 8] = 5;  // next 5, but the newest run ends at 2
  std::string bad_order = bytes;
  bad_order[12 + 20 + 24 + 8] = 5;  // the second run at offset 5, before the first's end
  std::string zero_id = bytes;
  zero_id[12] = 0;
  for (const std::string& b : {bad_next, bad_order, zero_id}) {
    ProducerTable t(a.limits());
    std::string_view in = b;
    EXPECT_EQ(t.DecodeFrom(&in).code(), common::Code::kDataLoss);
  }
}

}  // namespace
}  // namespace logservice
