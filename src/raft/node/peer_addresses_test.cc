#include "raft/node/peer_addresses.h"

#include <gtest/gtest.h>

#include "raft/core/conf_change.h"

namespace raft {
namespace {

TEST(PeerAddressesTest, RoundTrips) {
  std::map<NodeId, std::string> a{{1, "127.0.0.1:7001"}, {42, ""}, {7, "host:1"}};
  auto d = DecodePeerAddresses(EncodePeerAddresses(a));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, a);
}

TEST(PeerAddressesTest, EmptyContextIsNoAddresses) {
  auto d = DecodePeerAddresses("");
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->empty());
}

TEST(PeerAddressesTest, RejectsOtherFormatsAndTruncation) {
  EXPECT_EQ(DecodePeerAddresses("hello").error().code(), common::Code::kDataLoss);
  std::string e = EncodePeerAddresses({{1, "abc"}});
  for (size_t n = 5; n < e.size(); ++n) {
    EXPECT_EQ(DecodePeerAddresses(e.substr(0, n)).error().code(), common::Code::kDataLoss) << n;
  }
}

Entry ConfChangeEntry(std::vector<ConfChangeItem> items, const std::map<NodeId, std::string>& added) {
  ConfChange cc;
  cc.changes = std::move(items);
  cc.context = EncodePeerAddresses(added);
  Entry e;
  e.type = EntryType::kConfChange;
  e.index = 7;
  e.data = EncodeConfChange(cc);
  return e;
}

TEST(PeerAddressesTest, UpdateFollowsAddsAndRemovesOfConfChangesOnly) {
  std::map<NodeId, std::string> book{{1, "a:1"}, {2, "b:2"}};
  UpdatePeerAddresses(ConfChangeEntry({{ConfChangeType::kAddLearner, 4}}, {{4, "d:4"}}), book);
  EXPECT_EQ(book, (std::map<NodeId, std::string>{{1, "a:1"}, {2, "b:2"}, {4, "d:4"}}));
  UpdatePeerAddresses(ConfChangeEntry({{ConfChangeType::kRemove, 2}}, {}), book);
  EXPECT_EQ(book, (std::map<NodeId, std::string>{{1, "a:1"}, {4, "d:4"}}));
  Entry normal;
  normal.type = EntryType::kNormal;
  normal.data = EncodeConfChange(ConfChange{.changes = {{ConfChangeType::kRemove, 1}}});
  UpdatePeerAddresses(normal, book);
  Entry broken = ConfChangeEntry({}, {});
  broken.data = "junk";
  UpdatePeerAddresses(broken, book);
  EXPECT_EQ(book.size(), 2u);
}

}  // namespace
}  // namespace raft
