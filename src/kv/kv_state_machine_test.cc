#include "kv/kv_state_machine.h"

#include <gtest/gtest.h>

#include "raft/core/conf_change.h"
#include "raft/node/peer_addresses.h"

namespace kv {
namespace {

using common::Status;

raft::Entry CommandEntry(uint64_t index, const KvCommand& c) {
  raft::Entry e;
  e.type = raft::EntryType::kNormal;
  e.index = index;
  e.term = 1;
  e.data = EncodeCommand(c);
  return e;
}

KvResult ApplyOrDie(KvStateMachine& sm, uint64_t index, const KvCommand& c) {
  common::Result<KvResult> r = DecodeResult(sm.Apply(CommandEntry(index, c)));
  EXPECT_TRUE(r.has_value());
  return r.has_value() ? *r : KvResult{};
}

KvCommand Put(std::string key, std::string value, uint64_t client = 0, uint64_t seq = 0) {
  return KvCommand{.op = KvOp::kPut, .client_id = client, .sequence = seq, .key = std::move(key),
                   .value = std::move(value)};
}

TEST(KvStateMachineTest, WritesCarryTheirEntryIndexAsRevision) {
  KvStateMachine sm;
  EXPECT_EQ(ApplyOrDie(sm, 3, Put("a", "1")).revision, 3u);
  KvResult second = ApplyOrDie(sm, 5, Put("a", "2"));
  ASSERT_TRUE(second.previous.has_value());
  EXPECT_EQ(second.previous->value, "1");
  uint64_t at = 0;
  std::optional<KvValue> v = sm.Get("a", &at);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(at, 5u);
  EXPECT_EQ(*v, (KvValue{.value = "2", .create_revision = 3, .mod_revision = 5, .version = 2}));
  KvResult del = ApplyOrDie(sm, 6, KvCommand{.op = KvOp::kDelete, .key = "a"});
  EXPECT_TRUE(del.previous.has_value());
  EXPECT_FALSE(sm.Get("a", &at).has_value());
  EXPECT_FALSE(ApplyOrDie(sm, 7, KvCommand{.op = KvOp::kDelete, .key = "a"}).previous.has_value());
}

TEST(KvStateMachineTest, CompareAndSetWritesOnlyWhenTheCompareHolds) {
  KvStateMachine sm;
  KvCommand create{.op = KvOp::kCas, .key = "k", .value = "1",
                   .compare = {.kind = KvCompare::Kind::kModRevision, .mod_revision = 0}};
  EXPECT_EQ(ApplyOrDie(sm, 1, create).code, KvResultCode::kOk);
  KvResult again = ApplyOrDie(sm, 2, create);  // exists now
  EXPECT_EQ(again.code, KvResultCode::kCompareFailed);
  ASSERT_TRUE(again.previous.has_value());
  EXPECT_EQ(again.previous->mod_revision, 1u);
  KvCommand swap{.op = KvOp::kCas, .key = "k", .value = "2",
                 .compare = {.kind = KvCompare::Kind::kValue, .value = "1"}};
  EXPECT_EQ(ApplyOrDie(sm, 3, swap).code, KvResultCode::kOk);
  EXPECT_EQ(ApplyOrDie(sm, 4, swap).code, KvResultCode::kCompareFailed);
  KvCommand remove{.op = KvOp::kCas, .key = "k", .cas_delete = true,
                   .compare = {.kind = KvCompare::Kind::kModRevision, .mod_revision = 3}};
  EXPECT_EQ(ApplyOrDie(sm, 5, remove).code, KvResultCode::kOk);
  uint64_t at = 0;
  EXPECT_FALSE(sm.Get("k", &at).has_value());
}

TEST(KvStateMachineTest, ASessionWriteAppliesOnceAndItsRetryGetsTheSameAnswer) {
  KvStateMachine sm;
  const std::string first = sm.Apply(CommandEntry(10, Put("a", "1", 99, 0)));
  const std::string retry = sm.Apply(CommandEntry(11, Put("a", "1", 99, 0)));
  EXPECT_EQ(first, retry);
  uint64_t at = 0;
  EXPECT_EQ(sm.Get("a", &at)->mod_revision, 10u);
  EXPECT_EQ(at, 11u);
  KvResult gap = ApplyOrDie(sm, 12, Put("a", "3", 99, 5));
  EXPECT_EQ(gap.code, KvResultCode::kOutOfOrder);
  EXPECT_EQ(gap.expected_sequence, 1u);
  EXPECT_EQ(ApplyOrDie(sm, 13, Put("b", "1", 100, 4)).code, KvResultCode::kUnknownClient);
  EXPECT_EQ(sm.GetStats().keys, 1u);
}

TEST(KvStateMachineTest, AMalformedEntryChangesNothing) {
  KvStateMachine sm;
  raft::Entry junk;
  junk.index = 4;
  junk.data = "junk";
  EXPECT_EQ(DecodeResult(sm.Apply(junk))->code, KvResultCode::kMalformed);
  EXPECT_EQ(ApplyOrDie(sm, 5, Put("", "x")).code, KvResultCode::kMalformed);
  EXPECT_EQ(sm.GetStats().keys, 0u);
  EXPECT_EQ(sm.applied(), 5u);
}

TEST(KvStateMachineTest, SnapshotRestoresTheSameStateOnAnotherMember) {
  KvStateMachine a;
  ApplyOrDie(a, 1, Put("x", "1", 7, 0));
  ApplyOrDie(a, 2, Put("y", "2"));
  raft::ConfChange cc{.changes = {{raft::ConfChangeType::kAddLearner, 4}},
                      .context = raft::EncodePeerAddresses({{4, "host:4"}})};
  raft::Entry change{.index = 3, .term = 1, .type = raft::EntryType::kConfChange, .data = raft::EncodeConfChange(cc)};
  a.ApplyControl(change);
  raft::Snapshot snap;
  snap.meta.index = 3;
  snap.data = a.SnapshotData();

  KvStateMachine b;
  ASSERT_TRUE(b.Restore(snap).ok());
  EXPECT_EQ(b.applied(), 3u);
  EXPECT_EQ(b.GetStats().hash, a.GetStats().hash);
  EXPECT_EQ(b.PeerAddresses(), (std::map<raft::NodeId, std::string>{{4, "host:4"}}));
  // The session came along: a retry of client 7's write is still a duplicate.
  EXPECT_EQ(b.Apply(CommandEntry(4, Put("x", "1", 7, 0))), a.Apply(CommandEntry(4, Put("x", "1", 7, 0))));
  EXPECT_EQ(b.GetStats().hash, a.GetStats().hash);
}

TEST(KvStateMachineTest, ABrokenSnapshotIsRefusedAndChangesNothing) {
  KvStateMachine sm;
  ApplyOrDie(sm, 1, Put("x", "1"));
  const KvStats before = sm.GetStats();
  std::string good = sm.SnapshotData();
  for (std::string bad : {std::string("junk"), good.substr(0, good.size() - 1), good + "x"}) {
    raft::Snapshot snap;
    snap.meta.index = 9;
    snap.data = bad;
    Status s = sm.Restore(snap);
    EXPECT_EQ(s.code(), common::Code::kDataLoss) << s.ToString();
    EXPECT_NE(s.message().find("index 9"), std::string::npos);
  }
  EXPECT_EQ(sm.GetStats().hash, before.hash);
  EXPECT_EQ(sm.applied(), 1u);
}

TEST(KvStateMachineTest, InitialSnapshotIsTheEmptyStore) {
  KvStateMachine sm;
  ApplyOrDie(sm, 1, Put("x", "1"));
  raft::Snapshot snap;
  snap.meta.index = 1;
  snap.data = KvStateMachine::InitialSnapshot();
  ASSERT_TRUE(sm.Restore(snap).ok());
  EXPECT_EQ(sm.GetStats().keys, 0u);
  EXPECT_EQ(sm.GetStats().hash, KvStateMachine().GetStats().hash);
}

TEST(KvStateMachineTest, RangeCanLeaveValuesOut) {
  KvStateMachine sm;
  ApplyOrDie(sm, 1, Put("a/1", "one"));
  ApplyOrDie(sm, 2, Put("a/2", "two"));
  ApplyOrDie(sm, 3, Put("b", "three"));
  uint64_t at = 0;
  KvRange r = sm.Range("a/", KvMap::PrefixEnd("a/"), 0, true, &at);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[1].first, "a/2");
  EXPECT_TRUE(r.items[1].second.value.empty());
  EXPECT_EQ(r.items[1].second.mod_revision, 2u);
  EXPECT_EQ(at, 3u);
}

}  // namespace
}  // namespace kv
