#include "logservice/log_state_machine.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/coding.h"
#include "logservice/record_codec.h"
#include "raft/core/conf_change.h"
#include "raft/node/peer_addresses.h"

namespace logservice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Payload(const std::string& value, std::optional<ProducerStamp> stamp = std::nullopt) {
  replog::v1::Record r;
  r.set_value(value);
  return EncodeRecord(r, 1, stamp);
}

raft::Entry Normal(uint64_t index, std::string data) {
  raft::Entry e;
  e.index = index;
  e.term = 1;
  e.type = raft::EntryType::kNormal;
  e.data = std::move(data);
  return e;
}

SeqCheck Verdict(const std::string& applied) {
  auto c = DecodeApplyResult(applied);
  EXPECT_TRUE(c.has_value());
  return c.has_value() ? *c : SeqCheck{.verdict = SeqVerdict::kForgotten};
}

// A log as a list of entries: records with and without stamps, duplicates,
// a gap, and control entries in between.
std::vector<raft::Entry> SomeLog() {
  std::vector<raft::Entry> log;
  uint64_t i = 0;
  auto add = [&](std::string data) { log.push_back(Normal(++i, std::move(data))); };
  auto control = [&] {
    raft::Entry e;
    e.index = ++i;
    e.term = 1;
    e.type = raft::EntryType::kNoop;
    log.push_back(e);
  };
  control();
  add(Payload("plain"));
  for (uint64_t s = 0; s < 3; ++s) add(Payload("p7-" + std::to_string(s), ProducerStamp{7, s}));
  add(Payload("p8-0", ProducerStamp{8, 0}));
  add(Payload("p7-1 again", ProducerStamp{7, 1}));  // duplicate
  control();
  add(Payload("p8-5", ProducerStamp{8, 5}));  // gap
  add(Payload("p9-3", ProducerStamp{9, 3}));  // unknown producer
  add(Payload("p7-3", ProducerStamp{7, 3}));
  return log;
}

void ApplyAll(LogStateMachine& sm, const std::vector<raft::Entry>& log, std::vector<std::string>* results = nullptr) {
  for (const raft::Entry& e : log) {
    if (e.type == raft::EntryType::kNormal) {
      std::string r = sm.Apply(e);
      if (results != nullptr) results->push_back(std::move(r));
    } else {
      sm.ApplyControl(e);
    }
  }
}

raft::Snapshot SnapshotOf(const LogStateMachine& sm) {
  LogStateMachine::SnapshotData d = sm.TakeSnapshot();
  raft::Snapshot s;
  s.meta.index = d.index;
  s.meta.term = 1;
  s.data = std::move(d.data);
  return s;
}

TEST(LogStateMachineTest, DecidesEachStampedRecordAndSkipsTheOnesNotStored) {
  LogStateMachine sm;
  std::vector<std::string> results;
  ApplyAll(sm, SomeLog(), &results);
  // Entries 2..6, 8..10 are normal; results in that order.
  ASSERT_EQ(results.size(), 9u);
  EXPECT_EQ(results[0], "");  // no stamp
  EXPECT_EQ(results[1], "");  // p7-0 stored at 3
  EXPECT_EQ(results[4], "");  // p8-0 stored at 6
  EXPECT_EQ(Verdict(results[5]), (SeqCheck{.verdict = SeqVerdict::kDuplicate, .offset = 4}));
  EXPECT_EQ(Verdict(results[6]), (SeqCheck{.verdict = SeqVerdict::kOutOfOrder, .expected = 1}));
  EXPECT_EQ(Verdict(results[7]), (SeqCheck{.verdict = SeqVerdict::kUnknownProducer, .expected = 0}));
  EXPECT_EQ(results[8], "");  // p7-3 stored at 11
  EXPECT_THAT(sm.SkippedIn(1, 12), ElementsAre(7u, 9u, 10u));
  EXPECT_THAT(sm.SkippedIn(8, 10), ElementsAre(9u));
  EXPECT_THAT(sm.SkippedIn(11, 100), IsEmpty());
  EXPECT_EQ(sm.applied_index(), 11u);
  EXPECT_EQ(sm.producers(), 2u);
  EXPECT_EQ(sm.Check(ProducerStamp{7, 2}), (SeqCheck{.verdict = SeqVerdict::kDuplicate, .offset = 5}));
  EXPECT_EQ(sm.Check(ProducerStamp{7, 4}), SeqCheck{});
}

TEST(LogStateMachineTest, ApplyResultsRoundTrip) {
  for (const SeqCheck& c : {SeqCheck{}, SeqCheck{.verdict = SeqVerdict::kDuplicate, .offset = 1ULL << 40},
                            SeqCheck{.verdict = SeqVerdict::kForgotten},
                            SeqCheck{.verdict = SeqVerdict::kOutOfOrder, .expected = 99},
                            SeqCheck{.verdict = SeqVerdict::kUnknownProducer}}) {
    auto back = DecodeApplyResult(EncodeApplyResult(c));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, c);
  }
  EXPECT_TRUE(EncodeApplyResult(SeqCheck{}).empty());  // the common answer costs nothing
  EXPECT_EQ(DecodeApplyResult("applied:x").error().code(), common::Code::kInternal);
  EXPECT_EQ(DecodeApplyResult(std::string(1, '\x01')).error().code(), common::Code::kInternal);
}

TEST(LogStateMachineTest, ReplayingTheSameLogGivesTheSameState) {
  // A restarted member re-applies the committed entries from the start (no
  // snapshot yet): it must end with the very same table and skipped list.
  LogStateMachine before, after_restart;
  ApplyAll(before, SomeLog());
  ApplyAll(after_restart, SomeLog());
  EXPECT_EQ(before.TakeSnapshot().data, after_restart.TakeSnapshot().data);
  EXPECT_EQ(before.TakeSnapshot().index, 11u);
}

TEST(LogStateMachineTest, SnapshotRoundTripsAndReplayFromItMatchesAFullReplay) {
  const std::vector<raft::Entry> log = SomeLog();
  LogStateMachine full;
  ApplyAll(full, log);
  // Snapshot after entry 7, restore elsewhere, apply the rest.
  LogStateMachine first_half;
  ApplyAll(first_half, std::vector<raft::Entry>(log.begin(), log.begin() + 7));
  raft::Snapshot snap = SnapshotOf(first_half);
  ASSERT_EQ(snap.meta.index, 7u);
  LogStateMachine restored;
  ASSERT_TRUE(restored.Restore(snap).ok());
  EXPECT_EQ(restored.TakeSnapshot().data, snap.data);
  EXPECT_EQ(restored.applied_index(), 7u);
  EXPECT_THAT(restored.SkippedIn(0, 100), ElementsAre(7u));
  ApplyAll(restored, std::vector<raft::Entry>(log.begin() + 7, log.end()));
  EXPECT_EQ(restored.TakeSnapshot().data, full.TakeSnapshot().data);
}

TEST(LogStateMachineTest, RestoreReplacesTheState) {
  LogStateMachine a, b;
  ApplyAll(a, SomeLog());
  ASSERT_EQ(b.Apply(Normal(1, Payload("x", ProducerStamp{99, 0}))), "");
  ASSERT_TRUE(b.Restore(SnapshotOf(a)).ok());
  EXPECT_EQ(b.Check(ProducerStamp{99, 1}).verdict, SeqVerdict::kUnknownProducer);
  EXPECT_EQ(b.TakeSnapshot().data, a.TakeSnapshot().data);
}

TEST(LogStateMachineTest, RestoreRefusesBadDataAndKeepsTheState) {
  LogStateMachine src;
  ApplyAll(src, SomeLog());
  const raft::Snapshot good = SnapshotOf(src);
  LogStateMachine sm;
  ASSERT_EQ(sm.Apply(Normal(1, Payload("x", ProducerStamp{5, 0}))), "");
  const std::string before = sm.TakeSnapshot().data;

  raft::Snapshot empty = good;
  empty.data.clear();
  common::Status s = sm.Restore(empty);
  EXPECT_EQ(s.code(), common::Code::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("index 11"));

  raft::Snapshot version = good;
  common::EncodeFixed32(version.data.data() + 4, 3);
  s = sm.Restore(version);
  EXPECT_EQ(s.code(), common::Code::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("format version 3"));

  raft::Snapshot other_index = good;
  other_index.meta.index = 12;
  EXPECT_EQ(sm.Restore(other_index).code(), common::Code::kFailedPrecondition);

  LogStateMachine other_limits(ProducerTableLimits{.max_runs = 5, .max_producers = 10});
  EXPECT_EQ(other_limits.Restore(good).code(), common::Code::kFailedPrecondition);

  for (size_t n = 0; n < good.data.size(); ++n) {
    raft::Snapshot cut = good;
    cut.data.resize(n);
    EXPECT_EQ(sm.Restore(cut).code(), common::Code::kDataLoss) << n;
  }
  raft::Snapshot longer = good;
  longer.data += "x";
  EXPECT_EQ(sm.Restore(longer).code(), common::Code::kDataLoss);
  raft::Snapshot unordered = good;  // skipped list: 7, 9, 10, then no addresses (4 bytes)
  common::EncodeFixed64(unordered.data.data() + unordered.data.size() - 12, 8);
  EXPECT_EQ(sm.Restore(unordered).code(), common::Code::kDataLoss);

  EXPECT_EQ(sm.TakeSnapshot().data, before);
  EXPECT_EQ(sm.applied_index(), 1u);
}

TEST(LogStateMachineTest, MembersAddressesFollowMembershipChangesAndSnapshots) {
  LogStateMachine sm;
  auto change = [&](uint64_t index, raft::ConfChangeType type, raft::NodeId id, std::string address) {
    raft::ConfChange cc;
    cc.changes.push_back({type, id});
    if (!address.empty()) cc.context = raft::EncodePeerAddresses({{id, address}});
    sm.ApplyControl(raft::Entry{index, 1, raft::EntryType::kConfChange, raft::EncodeConfChange(cc)});
  };
  change(1, raft::ConfChangeType::kAddLearner, 4, "h:4");
  change(2, raft::ConfChangeType::kAddLearner, 5, "h:5");
  change(3, raft::ConfChangeType::kRemove, 4, "");
  change(4, raft::ConfChangeType::kAddVoter, 5, "h:55");
  using Map = std::map<raft::NodeId, std::string>;
  EXPECT_EQ(sm.PeerAddresses(), (Map{{5, "h:55"}}));
  EXPECT_EQ(sm.applied_index(), 4u);
  LogStateMachine restored;
  ASSERT_TRUE(restored.Restore(SnapshotOf(sm)).ok());
  EXPECT_EQ(restored.PeerAddresses(), (Map{{5, "h:55"}}));

  // Format version 1 (no addresses) is still read.
  raft::Snapshot v1 = SnapshotOf(sm);
  common::EncodeFixed32(v1.data.data() + 4, 1);
  v1.data.resize(v1.data.size() - (4 + 12 + 4));  // count, id and length, "h:55"
  LogStateMachine old;
  ASSERT_TRUE(old.Restore(v1).ok());
  EXPECT_TRUE(old.PeerAddresses().empty());
}

TEST(LogStateMachineTest, ForgetSkippedBelowDropsOnlyThePurgedOnes) {
  LogStateMachine sm;
  ApplyAll(sm, SomeLog());
  sm.ForgetSkippedBelow(9);
  EXPECT_THAT(sm.SkippedIn(0, 100), ElementsAre(9u, 10u));
  LogStateMachine restored;
  ASSERT_TRUE(restored.Restore(SnapshotOf(sm)).ok());
  EXPECT_THAT(restored.SkippedIn(0, 100), ElementsAre(9u, 10u));
}

}  // namespace
}  // namespace logservice
