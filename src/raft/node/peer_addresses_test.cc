#include "raft/node/peer_addresses.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace raft
