#include "logservice/retention.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "logservice/log_command.h"
#include "logservice/record_codec.h"
#include "raft/core/conf_change.h"
#include "raft/node/peer_addresses.h"
#include "testing/mem_fs.h"

namespace logservice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using storage::SegmentInfo;

// ---- RetentionTarget ----

std::vector<SegmentInfo> Segs(std::vector<uint64_t> bytes) {
  std::vector<SegmentInfo> out;
  uint64_t first = 1;
  for (size_t i = 0; i < bytes.size(); ++i) {
    out.push_back(SegmentInfo{.first_index = first, .last_index = first + 9, .bytes = bytes[i],
                              .sealed = i + 1 < bytes.size()});
    first += 10;
  }
  return out;
}

std::optional<int64_t> NoAge(const SegmentInfo&) { return std::nullopt; }

TEST(RetentionTargetTest, SizeDropsOldestSealedSegmentsUntilUnderTheLimit) {
  RetentionPolicy p{.max_bytes = 250};
  // 100 x 4 = 400 bytes: the first two go (200 left), the third would leave 100.
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 0, UINT64_MAX), 20u);
  p.max_bytes = 1000;
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 0, UINT64_MAX), 0u);
  // The segment being written never goes, however large.
  p.max_bytes = 10;
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 0, UINT64_MAX), 30u);
  EXPECT_EQ(RetentionTarget(Segs({5000}), NoAge, p, 0, UINT64_MAX), 0u);
}

TEST(RetentionTargetTest, NeverPastTheLimitAndOnlyWholeSegments) {
  RetentionPolicy p{.max_bytes = 10};
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 0, 25), 20u);
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 0, 9), 0u);
}

TEST(RetentionTargetTest, AgeDropsSegmentsWhoseNewestRecordIsOlderThanTheLimit) {
  RetentionPolicy p{.max_age_ms = 1000};
  std::map<uint64_t, int64_t> newest{{10, 100}, {20, 500}, {30, 4000}};
  auto age = [&](const SegmentInfo& s) -> std::optional<int64_t> {
    auto it = newest.find(s.last_index);
    return it == newest.end() ? std::nullopt : std::optional<int64_t>(it->second);
  };
  EXPECT_EQ(RetentionTarget(Segs({1, 1, 1, 1}), age, p, 1200, UINT64_MAX), 10u);
  EXPECT_EQ(RetentionTarget(Segs({1, 1, 1, 1}), age, p, 2000, UINT64_MAX), 20u);
  // A young segment stops the prefix even if an older-looking one follows.
  newest[20] = 1900;
  newest[30] = 0;
  EXPECT_EQ(RetentionTarget(Segs({1, 1, 1, 1}), age, p, 2000, UINT64_MAX), 10u);
  // Unknown age: never too old.
  newest.erase(10);
  EXPECT_EQ(RetentionTarget(Segs({1, 1, 1, 1}), age, p, 99999, UINT64_MAX), 0u);
}

TEST(RetentionTargetTest, EitherLimitIsEnough) {
  RetentionPolicy p{.max_bytes = 250, .max_age_ms = 1000};
  auto old_first_three = [](const SegmentInfo& s) -> std::optional<int64_t> { return s.last_index <= 30 ? 0 : 5000; };
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), old_first_three, p, 5000, UINT64_MAX), 30u);
  EXPECT_EQ(RetentionTarget(Segs({100, 100, 100, 100}), NoAge, p, 5000, UINT64_MAX), 20u);
}

// ---- CompactLogGroup ----

std::string Record(const std::string& value, std::optional<ProducerStamp> stamp = std::nullopt) {
  replog::v1::Record r;
  r.set_value(value);
  return EncodeRecord(r, 1, stamp);
}

class CompactTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Options o;
    o.max_segment_entries = 8;
    auto s = raft::DurableStorage::Open(fs_, "/g", o);
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    storage_ = std::move(*s);
    ASSERT_TRUE(storage_->Bootstrap(raft::ConfState{.voters = {1, 2, 3}}).ok());
  }
  void Add(raft::EntryType type, std::string data) {
    const uint64_t index = storage_->LastIndex() + 1;
    raft::Entry e{index, 1, type, std::move(data)};
    raft::Ready rd;
    rd.entries.push_back(e);
    rd.hard_state = raft::HardState{1, 0, index};
    rd.must_sync = true;
    ASSERT_TRUE(storage_->Persist(rd).ok());
    if (type == raft::EntryType::kNormal) {
      live_.Apply(e);
    } else {
      live_.ApplyControl(e);
    }
  }
  void AddLearner(raft::NodeId id, const std::string& address) {
    raft::ConfChange cc;
    cc.changes.push_back({raft::ConfChangeType::kAddLearner, id});
    cc.context = raft::EncodePeerAddresses({{id, address}});
    Add(raft::EntryType::kConfChange, raft::EncodeConfChange(cc));
  }

  replog_testing::MemFs fs_;
  std::unique_ptr<raft::DurableStorage> storage_;
  LogStateMachine live_;
};

TEST_F(CompactTest, SnapshotAtThePurgePointCarriesTableConfigAndAddresses) {
  Add(raft::EntryType::kNoop, "");
  for (uint64_t s = 0; s < 5; ++s) Add(raft::EntryType::kNormal, Record("a", ProducerStamp{7, s}));  // 2..6
  Add(raft::EntryType::kNormal, Record("dup", ProducerStamp{7, 2}));                                 // 7: skipped
  AddLearner(4, "127.0.0.1:7004");                                                                    // 8
  Add(raft::EntryType::kNormal, EncodeLogCommand({.purge_to = 3}));                                  // 9
  for (int i = 0; i < 10; ++i) Add(raft::EntryType::kNormal, Record("b"));                          // 10..19
  Add(raft::EntryType::kNormal, Record("dup", ProducerStamp{7, 3}));                                 // 20: skipped
  for (int i = 0; i < 9; ++i) Add(raft::EntryType::kNormal, Record("b"));                           // 21..29
  ASSERT_EQ(live_.SkippedIn(1, 30), (std::vector<uint64_t>{7, 20}));

  ASSERT_TRUE(CompactLogGroup(*storage_, live_, 12).ok());
  EXPECT_EQ(storage_->FirstIndex(), 13u);
  // The live state machine forgot the skipped entry that was purged, and
  // only that one: entry 20 must stay hidden from readers.
  EXPECT_EQ(live_.SkippedIn(1, 30), std::vector<uint64_t>{20});
  auto snap = storage_->GetSnapshot();
  ASSERT_TRUE(snap.has_value()) << snap.error().ToString();
  EXPECT_EQ(snap->meta.index, 12u);
  EXPECT_EQ(*storage_->Term(12), snap->meta.term);
  EXPECT_THAT(snap->meta.conf_state.voters, ElementsAre(1, 2, 3));
  EXPECT_THAT(snap->meta.conf_state.learners, ElementsAre(4));

  // A member restoring it knows what the live one knows at 12.
  LogStateMachine restored;
  ASSERT_TRUE(restored.Restore(*snap).ok());
  EXPECT_EQ(restored.applied_index(), 12u);
  SeqCheck c = restored.Check(ProducerStamp{7, 1});
  EXPECT_EQ(c.verdict, SeqVerdict::kDuplicate);
  EXPECT_EQ(c.offset, 3u);
  EXPECT_EQ(restored.Check(ProducerStamp{7, 5}).verdict, SeqVerdict::kNew);
  EXPECT_EQ(restored.PeerAddresses(), (std::map<raft::NodeId, std::string>{{4, "127.0.0.1:7004"}}));
  EXPECT_TRUE(restored.SkippedIn(1, 13).empty());  // below the first offset

  // Done already: nothing changes. Past the end: an error.
  ASSERT_TRUE(CompactLogGroup(*storage_, live_, 12).ok());
  ASSERT_TRUE(CompactLogGroup(*storage_, live_, 10).ok());
  EXPECT_EQ(storage_->FirstIndex(), 13u);
  common::Status past = CompactLogGroup(*storage_, live_, 30);
  EXPECT_EQ(past.code(), common::Code::kOutOfRange);

  // A second compaction starts from the first snapshot.
  Add(raft::EntryType::kNormal, Record("c", ProducerStamp{7, 5}));  // 30
  ASSERT_TRUE(CompactLogGroup(*storage_, live_, 30).ok());
  auto again = storage_->GetSnapshot();
  ASSERT_TRUE(again.has_value());
  LogStateMachine second;
  ASSERT_TRUE(second.Restore(*again).ok());
  EXPECT_EQ(second.Check(ProducerStamp{7, 5}).offset, 30u);
  EXPECT_EQ(second.Check(ProducerStamp{7, 1}).offset, 3u);
  EXPECT_THAT(again->meta.conf_state.learners, ElementsAre(4));
  // The same state as the live one at 30 (which forgot what was purged).
  EXPECT_EQ(second.TakeSnapshot().data, live_.TakeSnapshot().data);
}

TEST_F(CompactTest, SurvivesReopen) {
  for (int i = 0; i < 20; ++i) Add(raft::EntryType::kNormal, Record("x", ProducerStamp{3, uint64_t(i)}));
  ASSERT_TRUE(CompactLogGroup(*storage_, live_, 16).ok());
  storage_.reset();
  auto s = raft::DurableStorage::Open(fs_, "/g");
  ASSERT_TRUE(s.has_value()) << s.error().ToString();
  EXPECT_EQ((*s)->FirstIndex(), 17u);
  EXPECT_EQ((*s)->snapshot_meta()->index, 16u);
}

// ---- The retain handler ----

TEST(LogStateMachineRetainTest, RetainCommandsReachTheHandlerAndAreNotRecords) {
  LogStateMachine sm;
  std::vector<std::pair<uint64_t, uint64_t>> seen;
  sm.SetRetainHandler([&](uint64_t purge_to, uint64_t index) { seen.emplace_back(purge_to, index); });
  EXPECT_EQ(sm.Apply(raft::Entry{5, 1, raft::EntryType::kNormal, EncodeLogCommand({.purge_to = 3})}), "");
  // Not before its own index; malformed ones are ignored.
  sm.Apply(raft::Entry{6, 1, raft::EntryType::kNormal, EncodeLogCommand({.purge_to = 6})});
  sm.Apply(raft::Entry{7, 1, raft::EntryType::kNormal, std::string("\0\x09", 2)});
  EXPECT_THAT(seen, ElementsAre(std::pair<uint64_t, uint64_t>{3, 5}));
  EXPECT_EQ(sm.applied_index(), 7u);
}

}  // namespace
}  // namespace logservice
