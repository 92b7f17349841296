#include "transport/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace transport {
namespace {

using raft::EntryType;
using raft::Message;
using raft::MessageType;

constexpr MessageType kNetworkTypes[] = {
    MessageType::kProp,         MessageType::kApp,          MessageType::kAppResp,
    MessageType::kVote,         MessageType::kVoteResp,     MessageType::kPreVote,
    MessageType::kPreVoteResp,  MessageType::kSnap,         MessageType::kHeartbeat,
    MessageType::kHeartbeatResp, MessageType::kTransferLeader, MessageType::kTimeoutNow,
    MessageType::kReadIndex,    MessageType::kReadIndexResp,
};

constexpr MessageType kLocalTypes[] = {
    MessageType::kHup,         MessageType::kBeat,       MessageType::kCheckQuorum,
    MessageType::kUnreachable, MessageType::kSnapStatus, MessageType::kForgetLeader,
};

raft::SnapshotMeta FullMeta() {
  return raft::SnapshotMeta{.index = 77,
                            .term = 5,
                            .conf_state = {.voters = {1, 2, 3},
                                           .learners = {4},
                                           .voters_outgoing = {1, 2, 5},
                                           .learners_next = {5},
                                           .auto_leave = true}};
}

// Every field set to a distinct, non-default value.
Message FullMessage(MessageType type) {
  Message m{.type = type,
            .from = 1,
            .to = 2,
            .term = 9,
            .log_term = 8,
            .index = 100,
            .entries = {{.index = 101, .term = 8, .type = EntryType::kNormal, .data = "abc"},
                        {.index = 102, .term = 9, .type = EntryType::kNoop, .data = ""},
                        {.index = 103, .term = 9, .type = EntryType::kConfChange, .data = std::string("\0x\xff", 3)}},
            .commit = 99,
            .reject = true,
            .reject_hint = 42,
            .context = "ctx"};
  if (type == MessageType::kSnap) m.snapshot = raft::Snapshot{.meta = FullMeta()};
  return m;
}

TEST(CodecTest, EveryNetworkMessageTypeRoundTrips) {
  for (MessageType type : kNetworkTypes) {
    const Message m = FullMessage(type);
    replog::v1::RaftMessage wire;
    EncodeMessage(m, &wire);
    auto copied = DecodeMessage(wire);
    ASSERT_TRUE(copied.has_value()) << raft::MessageTypeName(type) << ": " << copied.error().ToString();
    EXPECT_EQ(*copied, m) << raft::MessageTypeName(type);

    // The moving overloads give the same result.
    Message source = m;
    replog::v1::RaftMessage moved_wire;
    EncodeMessage(std::move(source), &moved_wire);
    auto moved = DecodeMessage(std::move(moved_wire));
    ASSERT_TRUE(moved.has_value());
    EXPECT_EQ(*moved, m) << raft::MessageTypeName(type);
  }
}

TEST(CodecTest, WireBytesRoundTrip) {
  const Message m = FullMessage(MessageType::kApp);
  replog::v1::RaftMessage wire;
  EncodeMessage(m, &wire);
  replog::v1::RaftMessage parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire.SerializeAsString()));
  auto decoded = DecodeMessage(parsed);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, m);
}

TEST(CodecTest, DefaultMessageRoundTrips) {
  const Message m{.type = MessageType::kHeartbeat};
  replog::v1::RaftMessage wire;
  EncodeMessage(m, &wire);
  auto decoded = DecodeMessage(wire);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, m);
}

TEST(CodecTest, SnapshotDataIsLeftOut) {
  Message m = FullMessage(MessageType::kSnap);
  m.snapshot->data = "state machine bytes";
  replog::v1::RaftMessage wire;
  EncodeMessage(m, &wire);
  EXPECT_TRUE(wire.has_snapshot());
  EXPECT_EQ(wire.SerializeAsString().find("state machine bytes"), std::string::npos);
  auto decoded = DecodeMessage(wire);
  ASSERT_TRUE(decoded.has_value());
  ASSERT_TRUE(decoded->snapshot.has_value());
  EXPECT_EQ(decoded->snapshot->meta, FullMeta());
  EXPECT_TRUE(decoded->snapshot->data.empty());
}

TEST(CodecTest, EncodingOverwritesAReusedMessage) {
  replog::v1::RaftMessage wire;
  EncodeMessage(FullMessage(MessageType::kSnap), &wire);
  const Message small{.type = MessageType::kVote, .from = 3, .to = 4, .term = 1};
  EncodeMessage(small, &wire);
  auto decoded = DecodeMessage(wire);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, small);
}

TEST(CodecTest, SnapshotMetaAndConfStateRoundTrip) {
  replog::v1::RaftSnapshotMeta wire;
  EncodeSnapshotMeta(FullMeta(), &wire);
  EXPECT_EQ(DecodeSnapshotMeta(wire), FullMeta());
  replog::v1::RaftConfState cs;
  EncodeConfState(raft::ConfState{}, &cs);
  EXPECT_EQ(DecodeConfState(cs), raft::ConfState{});
}

TEST(CodecTest, UnknownMessageTypeIsInvalidArgument) {
  for (uint32_t type : {static_cast<uint32_t>(MessageType::kReadIndexResp) + 1, 255u, 256u, 0xffffffffu}) {
    replog::v1::RaftMessage wire;
    EncodeMessage(FullMessage(MessageType::kApp), &wire);
    wire.set_type(type);
    auto decoded = DecodeMessage(wire);
    ASSERT_FALSE(decoded.has_value()) << type;
    EXPECT_EQ(decoded.error().code(), common::Code::kInvalidArgument) << type;
  }
}

TEST(CodecTest, LocalMessageTypesAreRefused) {
  for (MessageType type : kLocalTypes) {
    replog::v1::RaftMessage wire;
    EncodeMessage(Message{.type = type, .from = 1, .to = 2}, &wire);
    auto decoded = DecodeMessage(wire);
    ASSERT_FALSE(decoded.has_value()) << raft::MessageTypeName(type);
    EXPECT_EQ(decoded.error().code(), common::Code::kInvalidArgument);
  }
}

TEST(CodecTest, UnknownEntryTypeIsInvalidArgument) {
  replog::v1::RaftMessage wire;
  EncodeMessage(FullMessage(MessageType::kApp), &wire);
  wire.mutable_entries(1)->set_type(static_cast<uint32_t>(EntryType::kConfChange) + 1);
  auto decoded = DecodeMessage(wire);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code(), common::Code::kInvalidArgument);

  replog::v1::RaftEntry entry;
  entry.set_type(1000);
  auto e = DecodeEntry(entry);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), common::Code::kInvalidArgument);
}

TEST(CodecTest, SnapshotFlagMustMatchTheType) {
  replog::v1::RaftMessage snap_without;
  EncodeMessage(FullMessage(MessageType::kSnap), &snap_without);
  snap_without.set_has_snapshot(false);
  EXPECT_FALSE(DecodeMessage(snap_without).has_value());

  replog::v1::RaftMessage app_with;
  EncodeMessage(FullMessage(MessageType::kApp), &app_with);
  app_with.set_has_snapshot(true);
  EXPECT_FALSE(DecodeMessage(app_with).has_value());
}

TEST(CodecTest, GarbageBytesNeverCrash) {
  // Whatever parses as a RaftMessage decodes or is refused; nothing aborts.
  std::string bytes;
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 2000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    bytes.assign(reinterpret_cast<const char*>(&x), sizeof x);
    bytes += std::to_string(i);
    replog::v1::RaftMessage wire;
    if (!wire.ParseFromString(bytes)) continue;
    (void)DecodeMessage(wire).has_value();
  }
}

}  // namespace
}  // namespace transport
