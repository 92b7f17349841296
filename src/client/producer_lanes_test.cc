#include "client/producer_lanes.h"

#include <gtest/gtest.h>

#include <limits>

namespace replog {
namespace {

using End = ProducerLanes::End;

TEST(ProducerLanesTest, CallsAtOnceGetDistinctNonZeroIds) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(1);
  ProducerLane b = lanes.Acquire(1);
  EXPECT_NE(a.producer_id, 0u);
  EXPECT_NE(b.producer_id, 0u);
  EXPECT_NE(a.producer_id, b.producer_id);
  EXPECT_EQ(a.next_sequence, 0u);
  EXPECT_EQ(lanes.created(), 2u);
}

TEST(ProducerLanesTest, AStoredCallAdvancesTheLaneAndItIsReused) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(3);
  lanes.Release(a, 3, End::kAdvance);
  ProducerLane again = lanes.Acquire(1);
  EXPECT_EQ(again.producer_id, a.producer_id);
  EXPECT_EQ(again.next_sequence, 3u);
  EXPECT_EQ(lanes.created(), 1u);
}

TEST(ProducerLanesTest, ACallThatStoredNothingLeavesTheSequence) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(2);
  lanes.Release(a, 2, End::kAdvance);
  ProducerLane b = lanes.Acquire(5);
  lanes.Release(b, 5, End::kUnchanged);
  ProducerLane c = lanes.Acquire(1);
  EXPECT_EQ(c.producer_id, a.producer_id);
  EXPECT_EQ(c.next_sequence, 2u);
}

TEST(ProducerLanesTest, ARetiredLaneIsNeverHandedOutAgain) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(1);
  lanes.Release(a, 1, End::kRetire);
  EXPECT_EQ(lanes.idle(), 0u);
  EXPECT_EQ(lanes.retired(), 1u);
  for (int i = 0; i < 100; i++) {
    ProducerLane b = lanes.Acquire(1);
    EXPECT_NE(b.producer_id, a.producer_id);
    lanes.Release(b, 1, End::kRetire);
  }
}

TEST(ProducerLanesTest, AcquireNewSkipsTheIdleLanes) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(1);
  lanes.Release(a, 1, End::kAdvance);
  ProducerLane b = lanes.AcquireNew();
  EXPECT_NE(b.producer_id, a.producer_id);
  EXPECT_EQ(b.next_sequence, 0u);
  EXPECT_EQ(lanes.idle(), 1u);
  EXPECT_EQ(lanes.created(), 2u);
}

TEST(ProducerLanesTest, ALaneWhoseSequencesWouldOverflowIsRetired) {
  ProducerLanes lanes(7);
  ProducerLane a = lanes.Acquire(1);
  a.next_sequence = std::numeric_limits<uint64_t>::max() - 10;
  lanes.Release(a, 1, End::kUnchanged);
  ProducerLane b = lanes.Acquire(10);
  EXPECT_NE(b.producer_id, a.producer_id);
  EXPECT_EQ(b.next_sequence, 0u);
  EXPECT_EQ(lanes.retired(), 1u);
}

TEST(ProducerLanesTest, ASeedFixesTheIdsAndZeroDrawsOne) {
  EXPECT_EQ(ProducerLanes(42).Acquire(1).producer_id, ProducerLanes(42).Acquire(1).producer_id);
  EXPECT_NE(ProducerLanes(0).Acquire(1).producer_id, ProducerLanes(0).Acquire(1).producer_id);
}

}  // namespace
}  // namespace replog
