// replog::Client reads against a fake cluster: Consume's member choice and
// errors, ConsumeStream's tailing and reconnection.

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "client/client.h"
#include "client/fake_log_service.h"

namespace replog {
namespace {

using common::Code;
using testing::FakeCluster;

std::unique_ptr<Client> MustConnect(const FakeCluster& fake, common::Clock* clock = nullptr) {
  ClientOptions o;
  o.bootstrap_addresses = fake.addresses();
  o.clock = clock;
  auto c = Client::Connect(o);
  EXPECT_TRUE(c.has_value()) << c.status().ToString();
  return c.has_value() ? std::move(*c) : nullptr;
}

// Appends records "v<first>".."v<last>" (offsets first..last on a fresh fake).
void Fill(FakeCluster& fake, int first, int last) {
  std::vector<Record> records;
  for (int i = first; i <= last; i++) records.push_back(Record{.value = "v" + std::to_string(i)});
  fake.Append(records);
}

TEST(ClientConsumeTest, ConsumeSpreadsOverTheFollowers) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  auto client = MustConnect(fake);
  for (int i = 0; i < 4; i++) {
    auto b = client->Consume(1);
    ASSERT_TRUE(b.has_value()) << b.status().ToString();
    EXPECT_EQ(b->records.size(), 10u);
    EXPECT_NE(b->served_by, fake.address(1));
  }
  EXPECT_EQ(fake.consumes(1), 0u);
  EXPECT_EQ(fake.consumes(2), 2u);
  EXPECT_EQ(fake.consumes(3), 2u);
}

TEST(ClientConsumeTest, ConsumeReturnsRecordsAndOffsets) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  auto client = MustConnect(fake);
  auto b = client->Consume(4, ConsumeOptions{.max_records = 3});
  ASSERT_TRUE(b.has_value()) << b.status().ToString();
  ASSERT_EQ(b->records.size(), 3u);
  EXPECT_EQ(b->records[0].offset, 4u);
  EXPECT_EQ(b->records[0].value, "v4");
  EXPECT_EQ(b->next_offset, 7u);
  EXPECT_EQ(b->first_offset, 1u);
  EXPECT_EQ(b->committed_offset, 10u);
}

TEST(ClientConsumeTest, ConsumeFromTheLeaderWhenAsked) {
  FakeCluster fake(3);
  Fill(fake, 1, 3);
  auto client = MustConnect(fake);
  auto b = client->Consume(1, ConsumeOptions{.read_from = ReadFrom::kLeader});
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->served_by, fake.address(1));
}

TEST(ClientConsumeTest, ConsumeFallsBackToTheLeaderWhenFollowersAreDown) {
  FakeCluster fake(3);
  Fill(fake, 1, 3);
  common::ManualClock clock;
  auto client = MustConnect(fake, &clock);
  fake.Stop(2);
  fake.Stop(3);
  auto b = client->Consume(1);
  ASSERT_TRUE(b.has_value()) << b.status().ToString();
  EXPECT_EQ(b->served_by, fake.address(1));
}

TEST(ClientConsumeTest, ConsumeOutOfRangeKeepsTheServersMessage) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  auto client = MustConnect(fake);
  auto b = client->Consume(100);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), Code::kOutOfRange);
  EXPECT_NE(b.error().message().find("outside [1, 11]"), std::string::npos) << b.error().message();
}

TEST(ClientConsumeTest, ConsumeAsksTheLeaderWhenAFollowerLags) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  fake.SetMemberEnd(2, 3);
  fake.SetMemberEnd(3, 3);
  auto client = MustConnect(fake);
  auto b = client->Consume(8);
  ASSERT_TRUE(b.has_value()) << b.status().ToString();
  EXPECT_EQ(b->served_by, fake.address(1));
  EXPECT_EQ(b->records.front().offset, 8u);
}

TEST(ClientConsumeTest, ConsumeFromOneAddressDoesNotFallBack) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  fake.SetMemberEnd(3, 3);
  auto client = MustConnect(fake);
  auto ok = client->Consume(1, ConsumeOptions{.address = fake.address(3)});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->served_by, fake.address(3));
  EXPECT_EQ(ok->records.size(), 3u);
  auto b = client->Consume(8, ConsumeOptions{.address = fake.address(3)});
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code(), Code::kOutOfRange);
  EXPECT_EQ(fake.consumes(1), 0u);
}

// Collects the offsets a stream delivers until it has `want`, then stops it.
struct Collector {
  size_t want = 0;
  std::vector<uint64_t> offsets;
  std::vector<std::string> served_by;
  bool operator()(const ConsumeBatch& b) {
    for (const Record& r : b.records) offsets.push_back(r.offset);
    if (!b.records.empty()) served_by.push_back(b.served_by);
    return offsets.size() < want;
  }
};

std::vector<uint64_t> Range(uint64_t first, uint64_t last) {
  std::vector<uint64_t> v;
  for (uint64_t i = first; i <= last; i++) v.push_back(i);
  return v;
}

TEST(ClientConsumeTest, ConsumeStreamDeliversUntilTheCallbackStops) {
  FakeCluster fake(3);
  Fill(fake, 1, 5);
  auto client = MustConnect(fake);
  Collector c{.want = 5};
  common::Status s = client->ConsumeStream(1, {}, std::ref(c));
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.offsets, Range(1, 5));
  EXPECT_NE(c.served_by.front(), fake.address(1));  // a follower
}

TEST(ClientConsumeTest, ConsumeStreamReconnectsFromTheNextOffset) {
  FakeCluster fake(3);
  Fill(fake, 1, 10);
  common::ManualClock clock;
  auto client = MustConnect(fake, &clock);
  // Both followers break their stream after 4 records; the leader serves the rest.
  fake.BreakNextStream(2, 4, grpc::StatusCode::UNAVAILABLE);
  fake.BreakNextStream(3, 4, grpc::StatusCode::INTERNAL);
  Collector c{.want = 10};
  common::Status s = client->ConsumeStream(1, {}, std::ref(c));
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.offsets, Range(1, 10));  // each record once, in order
  EXPECT_EQ(fake.streams(1) + fake.streams(2) + fake.streams(3), 3u);
}

TEST(ClientConsumeTest, ConsumeStreamMovesOnWhenAMemberEndsItsStream) {
  FakeCluster fake(3);
  Fill(fake, 1, 3);
  auto client = MustConnect(fake);
  Collector c{.want = 6};
  bool stopped = false;
  common::Status s = client->ConsumeStream(1, {}, [&](const ConsumeBatch& b) {
    bool more = c(b);
    if (!stopped && !b.records.empty()) {
      // The member serving us shuts down (its stream ends with OK); the
      // log grows meanwhile.
      stopped = true;
      fake.Stop(b.served_by == fake.address(2) ? 2 : 3);
      Fill(fake, 4, 6);
    }
    return more;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.offsets, Range(1, 6));
  ASSERT_EQ(c.served_by.size(), 2u);
  EXPECT_NE(c.served_by[0], c.served_by[1]);
}

TEST(ClientConsumeTest, ConsumeStreamTailsNewRecords) {
  FakeCluster fake(3);
  Fill(fake, 1, 2);
  auto client = MustConnect(fake);
  std::promise<void> caught_up;
  Collector c{.want = 4};
  std::thread reader([&] {
    bool signalled = false;
    common::Status s = client->ConsumeStream(1, {}, [&](const ConsumeBatch& b) {
      bool more = c(b);
      if (!signalled && c.offsets.size() == 2) {
        signalled = true;
        caught_up.set_value();
      }
      return more;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
  });
  caught_up.get_future().wait();
  Fill(fake, 3, 4);
  reader.join();
  EXPECT_EQ(c.offsets, Range(1, 4));
}

TEST(ClientConsumeTest, ConsumeStreamEndsWhenStopIsRequested) {
  FakeCluster fake(3);
  Fill(fake, 1, 1);
  auto client = MustConnect(fake);
  std::stop_source stop;
  std::promise<void> streaming;
  std::promise<common::Status> done;
  std::thread reader([&] {
    done.set_value(client->ConsumeStream(
        1, {},
        [&](const ConsumeBatch&) {
          streaming.set_value();
          return true;  // then waits for records that never come
        },
        stop.get_token()));
  });
  streaming.get_future().wait();
  stop.request_stop();
  common::Status s = done.get_future().get();
  reader.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(ClientConsumeTest, ConsumeStreamOutOfRangeIsReturned) {
  FakeCluster fake(3);
  Fill(fake, 1, 3);
  auto client = MustConnect(fake);
  common::Status s = client->ConsumeStream(50, {}, [](const ConsumeBatch&) { return true; });
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();
  EXPECT_NE(s.message().find("outside [1, 4]"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace replog
