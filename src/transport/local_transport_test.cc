#include "transport/local_transport.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

namespace transport {
namespace {

using raft::Message;
using raft::MessageType;

// Records what reaches it; tests wait for a count with a generous deadline.
class RecordingInbox final : public Inbox {
 public:
  void Deliver(std::vector<Message> msgs) override {
    std::lock_guard<std::mutex> l(mu_);
    for (Message& m : msgs) msgs_.push_back(std::move(m));
    cv_.notify_all();
  }
  void ReportUnreachable(NodeId peer) override {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back("unreachable " + std::to_string(peer));
    cv_.notify_all();
  }
  void ReportSnapshot(NodeId peer, bool failed) override {
    std::lock_guard<std::mutex> l(mu_);
    events_.push_back(std::string(failed ? "snapshot failed " : "snapshot ok ") + std::to_string(peer));
    cv_.notify_all();
  }

  bool WaitMessages(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return msgs_.size() >= n; });
  }
  bool WaitEvents(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(10), [&] { return events_.size() >= n; });
  }
  std::vector<Message> messages() {
    std::lock_guard<std::mutex> l(mu_);
    return msgs_;
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> msgs_;
  std::vector<std::string> events_;
};

Message App(NodeId from, NodeId to, uint64_t index) {
  return Message{.type = MessageType::kApp, .from = from, .to = to, .index = index};
}

Message Snap(NodeId from, NodeId to, uint64_t index) {
  Message m{.type = MessageType::kSnap, .from = from, .to = to};
  m.snapshot = raft::Snapshot{.meta = {.index = index, .term = 1}, .data = "state"};
  return m;
}

class LocalTransportTest : public ::testing::Test {
 protected:
  LocalTransportTest() {
    for (NodeId id = 1; id <= 3; ++id) {
      t_[id] = std::make_unique<LocalTransport>(net_, id, "n" + std::to_string(id));
      EXPECT_TRUE(t_[id]->Register(7, &in_[id]).ok());
    }
    for (NodeId a = 1; a <= 3; ++a) {
      for (NodeId b = 1; b <= 3; ++b) t_[a]->SetPeer(b, "n" + std::to_string(b));
    }
  }

  common::RealClock clock_;
  LocalNetwork net_{clock_};
  RecordingInbox in_[4];
  std::map<NodeId, std::unique_ptr<LocalTransport>> t_;
};

TEST_F(LocalTransportTest, DeliversInOrderPerDestination) {
  for (uint64_t i = 1; i <= 500; ++i) t_[1]->Send(7, {App(1, 2, i), App(1, 3, i)});
  ASSERT_TRUE(in_[2].WaitMessages(500));
  ASSERT_TRUE(in_[3].WaitMessages(500));
  std::vector<Message> got = in_[2].messages();
  for (uint64_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].index, i + 1);
    EXPECT_EQ(got[i].to, 2u);
  }
  EXPECT_EQ(net_.delivered(), 1000u);
}

TEST_F(LocalTransportTest, RegisteringAGroupTwiceFails) {
  RecordingInbox other;
  EXPECT_EQ(t_[1]->Register(7, &other).code(), common::Code::kFailedPrecondition);
  EXPECT_TRUE(t_[1]->Register(8, &other).ok());
}

TEST_F(LocalTransportTest, IsolatedNodeGetsNothingUntilHealed) {
  net_.Isolate(2);
  t_[1]->Send(7, {App(1, 2, 1)});
  t_[2]->Send(7, {App(2, 3, 9)});
  // Delivery is in queue order: once this one arrived, the others were handled.
  t_[1]->Send(7, {App(1, 3, 1)});
  ASSERT_TRUE(in_[3].WaitMessages(1));
  net_.Heal();
  t_[1]->Send(7, {App(1, 2, 2)});
  ASSERT_TRUE(in_[2].WaitMessages(1));
  EXPECT_EQ(in_[2].messages()[0].index, 2u);  // the one sent while isolated was lost
  t_[1]->Send(7, {App(1, 3, 3)});
  ASSERT_TRUE(in_[3].WaitMessages(2));
  EXPECT_EQ(in_[3].messages()[0].from, 1u);
  EXPECT_EQ(in_[3].messages()[1].index, 3u);
  EXPECT_EQ(net_.dropped(), 2u);
}

TEST_F(LocalTransportTest, DropBetweenCutsOneLinkBothWays) {
  net_.DropBetween(1, 2);
  t_[1]->Send(7, {App(1, 2, 1)});
  t_[2]->Send(7, {App(2, 1, 1)});
  t_[2]->Send(7, {App(2, 3, 1)});
  t_[1]->Send(7, {App(1, 3, 2)});
  ASSERT_TRUE(in_[3].WaitMessages(2));  // in queue order: the dropped ones were handled
  EXPECT_TRUE(in_[1].messages().empty());
  EXPECT_TRUE(in_[2].messages().empty());
}

TEST_F(LocalTransportTest, SnapshotIsDeliveredWholeAndReported) {
  t_[1]->Send(7, {App(1, 2, 1), Snap(1, 2, 10), App(1, 2, 11)});
  ASSERT_TRUE(in_[2].WaitMessages(3));
  ASSERT_TRUE(in_[1].WaitEvents(1));
  std::vector<Message> got = in_[2].messages();
  ASSERT_TRUE(got[1].snapshot.has_value());
  EXPECT_EQ(got[1].snapshot->data, "state");
  EXPECT_EQ(got[2].index, 11u);
  EXPECT_EQ(in_[1].events(), std::vector<std::string>{"snapshot ok 2"});
}

TEST_F(LocalTransportTest, SnapshotToIsolatedNodeFails) {
  net_.Isolate(3);
  t_[1]->Send(7, {Snap(1, 3, 10)});
  ASSERT_TRUE(in_[1].WaitEvents(2));
  EXPECT_EQ(in_[1].events(), (std::vector<std::string>{"snapshot failed 3", "unreachable 3"}));
}

TEST_F(LocalTransportTest, UnknownPeerIsReportedUnreachable) {
  t_[1]->RemovePeer(3);
  t_[1]->Send(7, {App(1, 3, 1), App(1, 3, 2), App(1, 2, 1)});
  ASSERT_TRUE(in_[1].WaitEvents(1));
  ASSERT_TRUE(in_[2].WaitMessages(1));
  EXPECT_EQ(in_[1].events(), std::vector<std::string>{"unreachable 3"});
}

TEST_F(LocalTransportTest, DetachedTransportIsUnreachable) {
  t_[3].reset();
  t_[1]->Send(7, {App(1, 3, 1)});
  ASSERT_TRUE(in_[1].WaitEvents(1));
  EXPECT_EQ(in_[1].events(), std::vector<std::string>{"unreachable 3"});
}

TEST_F(LocalTransportTest, NothingReachesAnUnregisteredInbox) {
  t_[2]->Unregister(7);
  t_[1]->Send(7, {App(1, 2, 1), App(1, 3, 1)});
  ASSERT_TRUE(in_[3].WaitMessages(1));
  // Delivery is in order: what was queued before the message to 3 is done.
  EXPECT_TRUE(in_[2].messages().empty());
  EXPECT_EQ(net_.dropped(), 1u);
}

TEST_F(LocalTransportTest, DelayKeepsOrder) {
  net_.SetDelay(2'000'000);
  t_[1]->Send(7, {App(1, 2, 1)});
  net_.SetDelay(0);
  t_[1]->Send(7, {App(1, 2, 2)});
  ASSERT_TRUE(in_[2].WaitMessages(2));
  EXPECT_EQ(in_[2].messages()[0].index, 1u);
  EXPECT_EQ(in_[2].messages()[1].index, 2u);
}

}  // namespace
}  // namespace transport
