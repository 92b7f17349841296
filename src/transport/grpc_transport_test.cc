// GrpcTransport over real gRPC on 127.0.0.1 (ports chosen by the kernel).
// A network component: these tests use real time, but only to wait on
// condition variables with a deadline, never to sleep.

#include "transport/grpc_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

namespace transport {
namespace {

using namespace std::chrono_literals;
using raft::Message;
using raft::MessageType;

constexpr auto kWait = 3s;

// Records what reaches it; tests wait on it.
class RecordingInbox final : public Inbox {
 public:
  void Deliver(std::vector<Message> msgs) override {
    std::lock_guard lock(mu_);
    for (Message& m : msgs) delivered_.push_back(std::move(m));
    cv_.notify_all();
  }
  void ReportUnreachable(NodeId peer) override {
    std::lock_guard lock(mu_);
    unreachable_.push_back(peer);
    cv_.notify_all();
  }
  void ReportSnapshot(NodeId peer, bool failed) override {
    std::lock_guard lock(mu_);
    snapshots_.emplace_back(peer, failed);
    cv_.notify_all();
  }

  // Waits until pred() holds (under the lock) or kWait passes.
  template <typename Pred>
  bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(); });
  }
  bool WaitDelivered(size_t n, std::chrono::milliseconds timeout = kWait) {
    return WaitUntil([&] { return delivered_.size() >= n; }, timeout);
  }
  bool WaitUnreachable(NodeId peer, std::chrono::milliseconds timeout = kWait) {
    return WaitUntil(
        [&] {
          for (NodeId p : unreachable_) {
            if (p == peer) return true;
          }
          return false;
        },
        timeout);
  }
  bool WaitSnapshotReport() {
    return WaitUntil([&] { return !snapshots_.empty(); });
  }

  std::vector<Message> delivered() {
    std::lock_guard lock(mu_);
    return delivered_;
  }
  std::vector<std::pair<NodeId, bool>> snapshots() {
    std::lock_guard lock(mu_);
    return snapshots_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> delivered_;
  std::vector<NodeId> unreachable_;
  std::vector<std::pair<NodeId, bool>> snapshots_;
};

GrpcTransportOptions Options(NodeId self) {
  GrpcTransportOptions o;
  o.self = self;
  o.seed = self;
  return o;
}

// A transport with its own gRPC server, as a process would have.
class TestNode {
 public:
  // port 0: the kernel picks one.
  explicit TestNode(GrpcTransportOptions options, int port = 0)
      : transport_(std::make_unique<GrpcTransport>(options)) {
    grpc::ServerBuilder builder;
    GrpcTransport::ConfigureServerBuilder(options, &builder);
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(transport_->service());
    server_ = builder.BuildAndStart();
    CHECK(server_ != nullptr && port_ > 0);
  }
  ~TestNode() { Stop(); }

  // The documented order: transport first, then the server.
  void Stop() {
    if (!server_) return;
    transport_->Shutdown();
    server_->Shutdown();
    server_.reset();
  }

  GrpcTransport& transport() { return *transport_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  std::unique_ptr<GrpcTransport> transport_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

Message App(NodeId from, NodeId to, uint64_t index, std::string data = "x") {
  return Message{.type = MessageType::kApp,
                 .from = from,
                 .to = to,
                 .term = 3,
                 .log_term = 3,
                 .index = index,
                 .entries = {{.index = index + 1, .term = 3, .data = std::move(data)}},
                 .commit = index};
}

// A port on which nothing listens (bound, then closed).
int DeadPort() {
  TestNode probe(Options(99));
  return probe.port();
}

TEST(GrpcTransportTest, MessagesArriveInOrderPerGroup) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b, inbox_c;
  TestNode a(Options(1)), b(Options(2)), c(Options(3));
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  ASSERT_TRUE(c.transport().Register(1, &inbox_c).ok());
  a.transport().SetPeer(2, b.address());
  a.transport().SetPeer(3, c.address());

  constexpr int kMessages = 2000;
  for (int i = 0; i < kMessages; i += 10) {
    std::vector<Message> msgs;
    for (int j = i; j < i + 10; ++j) {
      msgs.push_back(App(1, 2, j));
      msgs.push_back(App(1, 3, j));
    }
    a.transport().Send(1, std::move(msgs));
  }
  ASSERT_TRUE(inbox_b.WaitDelivered(kMessages));
  ASSERT_TRUE(inbox_c.WaitDelivered(kMessages));
  for (RecordingInbox* inbox : {&inbox_b, &inbox_c}) {
    const auto got = inbox->delivered();
    ASSERT_EQ(got.size(), size_t{kMessages});
    for (int i = 0; i < kMessages; ++i) {
      EXPECT_EQ(got[i], App(1, got[0].to, i)) << i;
    }
  }
  EXPECT_EQ(b.transport().stats().messages_received, size_t{kMessages});
  a.Stop();  // joins the senders: their counts are final
  EXPECT_EQ(a.transport().stats().messages_sent, 2u * kMessages);
}

TEST(GrpcTransportTest, TwoGroupsOverOneStreamAreRoutedApart) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox group1, group2;
  TestNode a(Options(1)), b(Options(2));
  ASSERT_TRUE(b.transport().Register(1, &group1).ok());
  ASSERT_TRUE(b.transport().Register(2, &group2).ok());
  a.transport().SetPeer(2, b.address());
  for (int i = 0; i < 100; ++i) {
    a.transport().Send(1, {App(1, 2, i, "g1")});
    a.transport().Send(2, {App(1, 2, i, "g2")});
  }
  ASSERT_TRUE(group1.WaitDelivered(100));
  ASSERT_TRUE(group2.WaitDelivered(100));
  const auto got1 = group1.delivered();
  const auto got2 = group2.delivered();
  ASSERT_EQ(got1.size(), 100u);
  ASSERT_EQ(got2.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got1[i], App(1, 2, i, "g1"));
    EXPECT_EQ(got2[i], App(1, 2, i, "g2"));
  }
}

TEST(GrpcTransportTest, LargeSnapshotArrivesWholeAndIsReported) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_b;
  TestNode a(Options(1)), b(Options(2));
  ASSERT_TRUE(a.transport().Register(7, &inbox_a).ok());
  ASSERT_TRUE(b.transport().Register(7, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());

  std::string data(5 * (1 << 20) + 12345, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
  Message snap{.type = MessageType::kSnap, .from = 1, .to = 2, .term = 4};
  snap.snapshot = raft::Snapshot{.meta = {.index = 500, .term = 4, .conf_state = {.voters = {1, 2, 3}}},
                                 .data = data};
  const Message expected = snap;
  a.transport().Send(7, {std::move(snap)});

  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  EXPECT_EQ(inbox_b.delivered()[0], expected);
  ASSERT_TRUE(inbox_a.WaitSnapshotReport());
  EXPECT_EQ(inbox_a.snapshots(), (std::vector<std::pair<NodeId, bool>>{{2, false}}));
  EXPECT_EQ(b.transport().stats().snapshots_received, 1u);
}

TEST(GrpcTransportTest, SnapshotToDeadPeerReportsFailed) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a;
  TestNode a(Options(1));
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  a.transport().SetPeer(2, "127.0.0.1:" + std::to_string(DeadPort()));
  Message snap{.type = MessageType::kSnap, .from = 1, .to = 2, .term = 4};
  snap.snapshot = raft::Snapshot{.meta = {.index = 5, .term = 4}, .data = std::string(3 << 20, 's')};
  a.transport().Send(1, {std::move(snap)});
  ASSERT_TRUE(inbox_a.WaitSnapshotReport());
  EXPECT_EQ(inbox_a.snapshots(), (std::vector<std::pair<NodeId, bool>>{{2, true}}));
}

TEST(GrpcTransportTest, SnapshotOverTheReceiversLimitFails) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_b;
  GrpcTransportOptions small = Options(2);
  small.max_snapshot_bytes = 1 << 20;
  TestNode a(Options(1)), b(small);
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  Message snap{.type = MessageType::kSnap, .from = 1, .to = 2, .term = 4};
  snap.snapshot = raft::Snapshot{.meta = {.index = 5, .term = 4}, .data = std::string(3 << 20, 's')};
  a.transport().Send(1, {std::move(snap)});
  ASSERT_TRUE(inbox_a.WaitSnapshotReport());
  EXPECT_EQ(inbox_a.snapshots(), (std::vector<std::pair<NodeId, bool>>{{2, true}}));
  EXPECT_TRUE(inbox_b.delivered().empty());
}

TEST(GrpcTransportTest, PeerThatStartsLateGetsMessagesAfterReconnect) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a;
  RecordingInbox inbox_b;
  GrpcTransportOptions options = Options(1);
  options.backoff_initial_ms = 20;
  options.backoff_max_ms = 100;
  TestNode a(options);
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  const int port = DeadPort();
  a.transport().SetPeer(2, "127.0.0.1:" + std::to_string(port));

  a.transport().Send(1, {App(1, 2, 0)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));

  TestNode b(Options(2), port);
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  // Raft resends (heartbeats, probes) until one gets through.
  bool arrived = false;
  for (int i = 1; i < 100 && !arrived; ++i) {
    a.transport().Send(1, {App(1, 2, i)});
    arrived = inbox_b.WaitDelivered(1, 50ms);
  }
  ASSERT_TRUE(arrived);
  EXPECT_GE(a.transport().stats().stream_failures, 1u);
  // Once through, the stream carries what follows, in order.
  const uint64_t first = inbox_b.delivered()[0].index;
  for (uint64_t i = 1000; i < 1010; ++i) a.transport().Send(1, {App(1, 2, i)});
  ASSERT_TRUE(inbox_b.WaitDelivered(11));
  const auto got = inbox_b.delivered();
  EXPECT_EQ(got[0].index, first);
  EXPECT_EQ(got.back().index, 1009u);
}

TEST(GrpcTransportTest, PeerRestartedOnTheSamePortGetsMessages) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b;
  RecordingInbox inbox_b2;
  TestNode a(Options(1));
  auto b = std::make_unique<TestNode>(Options(2));
  const int port = b->port();
  ASSERT_TRUE(b->transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b->address());
  for (uint64_t i = 0; i < 3; ++i) {
    a.transport().Send(1, {App(1, 2, i)});
    ASSERT_TRUE(inbox_b.WaitDelivered(i + 1));
  }
  b.reset();  // the process dies; a's stream breaks

  b = std::make_unique<TestNode>(Options(2), port);
  ASSERT_TRUE(b->transport().Register(1, &inbox_b2).ok());
  bool arrived = false;
  for (uint64_t i = 3; i < 100 && !arrived; ++i) {
    a.transport().Send(1, {App(1, 2, i)});
    arrived = inbox_b2.WaitDelivered(1, 50ms);
  }
  EXPECT_TRUE(arrived);
}

// A TCP listener that never accepts: connections hang before HTTP/2 starts,
// like a stopped process.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CHECK(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    CHECK(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(GrpcTransportTest, FullQueueDropsAndReports) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a;
  GrpcTransportOptions options = Options(1);
  options.max_queue_messages = 4;
  options.connect_timeout_ms = 10'000;  // the stuck connection outlives the test
  TestNode a(options);
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  BlackHole hole;
  a.transport().SetPeer(2, hole.address());
  // 1 MiB cannot pass a connection that never reads (HTTP/2 flow control
  // admits 64 KiB), so the queue fills whatever the timing.
  for (int i = 0; i < 100; ++i) a.transport().Send(1, {App(1, 2, i, std::string(10'000, 'q'))});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
  EXPECT_GT(a.transport().stats().dropped_queue_full, 0u);
  // Shutdown cancels the stuck stream rather than waiting for it.
  const auto start = std::chrono::steady_clock::now();
  a.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(GrpcTransportTest, ByteLimitDropsAndReports) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_b;
  GrpcTransportOptions options = Options(1);
  options.max_queue_bytes = 1000;
  TestNode a(options), b(Options(2));
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  a.transport().Send(1, {App(1, 2, 0, std::string(5000, 'b')), App(1, 2, 1)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  EXPECT_EQ(inbox_b.delivered()[0].index, 1u);
  EXPECT_EQ(a.transport().stats().dropped_queue_full, 1u);
}

TEST(GrpcTransportTest, BigBacklogIsSplitUnderTheMessageSizeLimit) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b;
  GrpcTransportOptions options_a = Options(1);
  GrpcTransportOptions options_b = Options(2);
  options_a.max_message_bytes = options_b.max_message_bytes = 256 << 10;
  TestNode a(options_a), b(options_b);
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  std::vector<Message> msgs;
  for (int i = 0; i < 200; ++i) msgs.push_back(App(1, 2, i, std::string(10'000, 'm')));
  a.transport().Send(1, std::move(msgs));
  ASSERT_TRUE(inbox_b.WaitDelivered(200));
  const auto got = inbox_b.delivered();
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i].index, static_cast<uint64_t>(i));
  a.Stop();
  EXPECT_GE(a.transport().stats().batches_sent, 8u);
}

TEST(GrpcTransportTest, MessageOverGrpcsDefaultLimitPasses) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b;
  // gRPC refuses more than 4 MiB by default; ConfigureServerBuilder raises it.
  TestNode a(Options(1)), b(Options(2));
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  const Message big = App(1, 2, 0, std::string(6 << 20, 'B'));
  a.transport().Send(1, {big});
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  EXPECT_EQ(inbox_b.delivered()[0], big);
}

TEST(GrpcTransportTest, OversizeMessageIsDroppedAndReported) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_b;
  GrpcTransportOptions options = Options(1);
  options.max_message_bytes = 64 << 10;
  TestNode a(options), b(Options(2));
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  a.transport().Send(1, {App(1, 2, 0, std::string(100 << 10, 'o')), App(1, 2, 1)});
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
  EXPECT_EQ(inbox_b.delivered()[0].index, 1u);
  EXPECT_EQ(a.transport().stats().dropped_oversize, 1u);
}

TEST(GrpcTransportTest, UnknownGroupIsDroppedAndCounted) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b;
  TestNode a(Options(1)), b(Options(2));
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  a.transport().SetPeer(2, b.address());
  a.transport().Send(9, {App(1, 2, 0), App(1, 2, 1)});
  a.transport().Send(1, {App(1, 2, 2)});
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  EXPECT_EQ(inbox_b.delivered()[0].index, 2u);
  // Same stream, earlier batch: counted before the later one was delivered.
  EXPECT_EQ(b.transport().stats().dropped_unknown_group, 2u);
}

TEST(GrpcTransportTest, UnregisteredGroupGetsNothingMore) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b, marker;
  TestNode a(Options(1)), b(Options(2));
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  ASSERT_TRUE(b.transport().Register(2, &marker).ok());
  EXPECT_EQ(b.transport().Register(1, &marker).code(), common::Code::kFailedPrecondition);
  a.transport().SetPeer(2, b.address());
  a.transport().Send(1, {App(1, 2, 0)});
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  b.transport().Unregister(1);
  a.transport().Send(1, {App(1, 2, 1)});
  a.transport().Send(2, {App(1, 2, 2)});
  ASSERT_TRUE(marker.WaitDelivered(1));
  EXPECT_EQ(inbox_b.delivered().size(), 1u);
  EXPECT_EQ(b.transport().stats().dropped_unknown_group, 1u);
}

TEST(GrpcTransportTest, UnknownPeerIsReported) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a;
  TestNode a(Options(1));
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  Message snap{.type = MessageType::kSnap, .from = 1, .to = 5};
  snap.snapshot = raft::Snapshot{.meta = {.index = 5, .term = 1}};
  a.transport().Send(1, {App(1, 4, 0), std::move(snap)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(4));
  ASSERT_TRUE(inbox_a.WaitSnapshotReport());
  EXPECT_EQ(inbox_a.snapshots(), (std::vector<std::pair<NodeId, bool>>{{5, true}}));
  EXPECT_EQ(a.transport().stats().dropped_no_peer, 2u);
}

TEST(GrpcTransportTest, BatchForAnotherNodeIsRefused) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_c;
  TestNode a(Options(1)), c(Options(3));
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  ASSERT_TRUE(c.transport().Register(1, &inbox_c).ok());
  a.transport().SetPeer(2, c.address());  // node 2's address now answers as node 3
  for (int i = 0; i < 20 && !inbox_a.WaitUnreachable(2, 50ms); ++i) a.transport().Send(1, {App(1, 2, i)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
  EXPECT_TRUE(inbox_c.delivered().empty());
}

TEST(GrpcTransportTest, ChangedAddressIsUsed) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_b, inbox_b2;
  RecordingInbox inbox_a;
  TestNode a(Options(1)), b(Options(2)), b2(Options(2));
  ASSERT_TRUE(b.transport().Register(1, &inbox_b).ok());
  ASSERT_TRUE(b2.transport().Register(1, &inbox_b2).ok());
  a.transport().SetPeer(2, b.address());
  a.transport().Send(1, {App(1, 2, 0)});
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  a.transport().SetPeer(2, b2.address());
  a.transport().Send(1, {App(1, 2, 1)});
  ASSERT_TRUE(inbox_b2.WaitDelivered(1));
  EXPECT_EQ(inbox_b2.delivered()[0].index, 1u);
  a.transport().RemovePeer(2);
  ASSERT_TRUE(a.transport().Register(1, &inbox_a).ok());
  a.transport().Send(1, {App(1, 2, 2)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
}

TEST(GrpcTransportTest, ShutdownWithOpenStreamsIsPrompt) {
  // Declared first: they must outlive the transports delivering to them.
  RecordingInbox inbox_a, inbox_b;
  auto a = std::make_unique<TestNode>(Options(1));
  auto b = std::make_unique<TestNode>(Options(2));
  ASSERT_TRUE(a->transport().Register(1, &inbox_a).ok());
  ASSERT_TRUE(b->transport().Register(1, &inbox_b).ok());
  a->transport().SetPeer(2, b->address());
  b->transport().SetPeer(1, a->address());
  a->transport().Send(1, {App(1, 2, 0)});
  b->transport().Send(1, {App(2, 1, 0)});
  ASSERT_TRUE(inbox_a.WaitDelivered(1));
  ASSERT_TRUE(inbox_b.WaitDelivered(1));
  // Streams are open both ways; the server's Shutdown (no deadline) must not
  // wait on them. Run it aside so that a hang fails instead of blocking.
  auto stopped = std::async(std::launch::async, [&] { b->Stop(); });
  ASSERT_EQ(stopped.wait_for(1s), std::future_status::ready);
  // The survivor notices: its messages to b are reported unreachable.
  for (int i = 1; i < 50 && !inbox_a.WaitUnreachable(2, 50ms); ++i) a->transport().Send(1, {App(1, 2, i)});
  ASSERT_TRUE(inbox_a.WaitUnreachable(2));
  stopped = std::async(std::launch::async, [&] { a->Stop(); });
  ASSERT_EQ(stopped.wait_for(1s), std::future_status::ready);
}

}  // namespace
}  // namespace transport
