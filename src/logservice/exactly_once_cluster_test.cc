// Exactly-once produce through the real service: three members in one
// process (raft::Node on a LocalNetwork, DurableStorage on MemFs, the
// LogStateMachine), each serving replog.v1.Log on an in-process gRPC
// channel. A retry of the same (producer id, sequence) across a leader change
// gets the original offsets, and consumers on every member, including one
// that restarted and rebuilt its table from the log, see each record once.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock.h"
#include "logservice/log_service.h"
#include "logservice/log_state_machine.h"
#include "logservice/produce_outcome.h"
#include "logservice/record_codec.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "replog/v1/log.grpc.pb.h"
#include "testing/mem_fs.h"
#include "transport/local_transport.h"

namespace logservice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using raft::NodeId;

constexpr int64_t kMs = 1'000'000;
constexpr auto kPoll = std::chrono::milliseconds(2);
constexpr auto kWait = std::chrono::seconds(20);

struct Member {
  NodeId id = raft::kNoNode;
  std::unique_ptr<replog_testing::MemFs> fs = std::make_unique<replog_testing::MemFs>();
  std::unique_ptr<transport::LocalTransport> transport;
  std::unique_ptr<raft::DurableStorage> storage;
  std::unique_ptr<LogStateMachine> sm;
  std::unique_ptr<raft::Node> node;
  std::unique_ptr<LogService> service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<replog::v1::Log::Stub> stub;
  bool halted = false;
};

class Cluster {
 public:
  explicit Cluster(int n) {
    raft::ConfState initial;
    for (NodeId id = 1; id <= static_cast<NodeId>(n); ++id) initial.voters.push_back(id);
    for (NodeId id : initial.voters) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->transport = std::make_unique<transport::LocalTransport>(net_, id, Address(id));
      auto storage = raft::DurableStorage::Open(*m->fs, "/log", StorageOptions());
      EXPECT_TRUE(storage.has_value());
      if (storage.has_value()) {
        EXPECT_TRUE((*storage)->Bootstrap(initial).ok());
      }
      members_[id] = std::move(m);
    }
    for (NodeId id : initial.voters) EXPECT_TRUE(Start(id).ok());
  }
  ~Cluster() {
    for (auto& [id, m] : members_) Stop(id);
    for (auto& [id, m] : members_) m->transport.reset();
  }

  Member& member(NodeId id) { return *members_.at(id); }
  replog::v1::Log::Stub& stub(NodeId id) { return *members_.at(id)->stub; }
  std::vector<NodeId> running() const {
    std::vector<NodeId> out;
    for (const auto& [id, m] : members_) {
      if (m->node && !m->halted) out.push_back(id);
    }
    return out;
  }

  // Opens the member's storage, starts its node on a new state machine
  // (which the node rebuilds from the log) and serves it.
  common::Status Start(NodeId id) {
    Member& m = member(id);
    ASSIGN_OR_RETURN(m.storage, raft::DurableStorage::Open(*m.fs, "/log", StorageOptions()));
    m.sm = std::make_unique<LogStateMachine>();
    raft::NodeOptions o;
    o.raft.id = id;
    o.raft.election_tick = 10;
    o.raft.heartbeat_tick = 1;
    o.tick_ns = 5 * kMs;
    o.default_timeout_ns = 10'000 * kMs;
    for (const auto& [pid, pm] : members_) o.peers[pid] = Address(pid);
    ASSIGN_OR_RETURN(m.node, raft::Node::Start(o, *m.storage, *m.transport, *m.sm, clock_));
    m.service = std::make_unique<LogService>(*m.node, *m.storage, *m.sm, clock_);
    grpc::ServerBuilder builder;
    builder.RegisterService(m.service.get());
    m.server = builder.BuildAndStart();
    if (!m.server) return common::InternalError("cannot start the in-process gRPC server");
    m.stub = replog::v1::Log::NewStub(m.server->InProcessChannel(grpc::ChannelArguments()));
    return common::Status::Ok();
  }

  // Stops serving, in the order of server::Server::Shutdown (pending
  // produces end first); the gRPC server object stays, refusing calls, so
  // that a client thread may still be calling it.
  void Halt(NodeId id) {
    Member& m = member(id);
    if (!m.node || m.halted) return;
    m.halted = true;
    m.service->BeginShutdown();
    m.node->Shutdown();
    m.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    m.server->Wait();
  }
  // Halt, then frees everything but the member's files.
  void Stop(NodeId id) {
    Member& m = member(id);
    if (!m.node) return;
    Halt(id);
    m.stub.reset();
    m.server.reset();
    m.service.reset();
    m.node.reset();
    m.sm.reset();
    m.storage.reset();
    m.halted = false;
  }

  // The leader the running members not in `exclude` agree on; kNoNode
  // after the wait.
  NodeId WaitForLeader(const std::set<NodeId>& exclude = {}) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      NodeId leader = raft::kNoNode;
      bool agree = true;
      for (NodeId id : running()) {
        if (exclude.contains(id)) continue;
        const raft::LeaderHint hint = member(id).node->leader_hint();
        if (leader == raft::kNoNode) leader = hint.id;
        agree = agree && hint.id == leader;
      }
      if (agree && leader != raft::kNoNode && !exclude.contains(leader) && member(leader).node &&
          member(leader).node->GetStatus().role == raft::Role::kLeader) {
        return leader;
      }
      std::this_thread::sleep_for(kPoll);
    }
    return raft::kNoNode;
  }

  // Waits until every running member applied all of `leader`'s log.
  bool WaitQuiet(NodeId leader) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      const uint64_t last = member(leader).node->GetStatus().last_index;
      bool all = true;
      for (NodeId id : running()) all = all && member(id).node->applied() >= last;
      if (all && member(leader).node->GetStatus().last_index == last) return true;
      std::this_thread::sleep_for(kPoll);
    }
    return false;
  }

  static std::string Address(NodeId id) { return "node-" + std::to_string(id); }

 private:
  static storage::Options StorageOptions() {
    storage::Options so;
    so.preallocate = false;
    so.max_segment_entries = 1024;
    return so;
  }

  common::RealClock clock_;
  transport::LocalNetwork net_{clock_};
  std::map<NodeId, std::unique_ptr<Member>> members_;
};

replog::v1::ProduceRequest Request(uint64_t producer, uint64_t sequence, const std::vector<std::string>& values) {
  replog::v1::ProduceRequest req;
  req.set_producer_id(producer);
  req.set_sequence(sequence);
  for (const std::string& v : values) req.add_records()->set_value(v);
  return req;
}

struct Answer {
  grpc::Status status;
  std::vector<uint64_t> offsets;
  std::string expected_sequence;  // trailing metadata, if any
};

Answer Produce(replog::v1::Log::Stub& stub, const replog::v1::ProduceRequest& req, int64_t timeout_ms = 10'000) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  replog::v1::ProduceResponse resp;
  Answer a;
  a.status = stub.Produce(&ctx, req, &resp);
  a.offsets.assign(resp.offsets().begin(), resp.offsets().end());
  auto it = ctx.GetServerTrailingMetadata().find(kExpectedSequenceKey);
  if (it != ctx.GetServerTrailingMetadata().end()) a.expected_sequence = std::string(it->second.data(), it->second.size());
  return a;
}

// Retries `req` on whichever member leads until it is answered by one.
Answer ProduceOnLeader(Cluster& c, const replog::v1::ProduceRequest& req) {
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  Answer a;
  while (std::chrono::steady_clock::now() < deadline) {
    const NodeId leader = c.WaitForLeader();
    if (leader == raft::kNoNode) break;
    a = Produce(c.stub(leader), req);
    if (a.status.error_code() != grpc::StatusCode::UNAVAILABLE && a.status.error_code() != grpc::StatusCode::ABORTED) {
      return a;
    }
  }
  return a;
}

// Every record member `id` serves, as (offset, value).
std::vector<std::pair<uint64_t, std::string>> ConsumeAll(Cluster& c, NodeId id) {
  std::vector<std::pair<uint64_t, std::string>> out;
  uint64_t from = 0;
  for (;;) {
    grpc::ClientContext ctx;
    replog::v1::ConsumeRequest req;
    req.set_from_offset(from);
    req.set_max_records(3);  // several reads, so that skipped entries fall at read boundaries too
    replog::v1::ConsumeResponse resp;
    grpc::Status s = c.stub(id).Consume(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    if (!s.ok()) return out;
    for (const auto& r : resp.records()) out.emplace_back(r.offset(), r.value());
    if (resp.records_size() == 0 || resp.next_offset() > resp.committed_offset()) return out;
    from = resp.next_offset();
  }
}

TEST(ExactlyOnceClusterTest, RetryAcrossALeaderChangeReturnsTheOriginalOffsets) {
  Cluster c(3);
  const NodeId first = c.WaitForLeader();
  ASSERT_NE(first, raft::kNoNode);
  const auto req = Request(77, 0, {"a", "b", "c"});
  Answer original = Produce(c.stub(first), req);
  ASSERT_TRUE(original.status.ok()) << original.status.error_message();
  ASSERT_EQ(original.offsets.size(), 3u);
  ASSERT_TRUE(c.WaitQuiet(first));

  c.Stop(first);
  const NodeId second = c.WaitForLeader({first});
  ASSERT_NE(second, raft::kNoNode);
  ASSERT_NE(second, first);

  // The new leader knows what the old one committed: the retry is answered
  // with the original offsets.
  Answer retry = ProduceOnLeader(c, req);
  ASSERT_TRUE(retry.status.ok()) << retry.status.error_message();
  EXPECT_EQ(retry.offsets, original.offsets);

  // A retry that raced its original (proposed before the new leader's table
  // had it) is decided at apply: the same offsets, and its entries are
  // skipped.
  std::vector<std::string> commands;
  for (int i = 0; i < req.records_size(); ++i) commands.push_back(EncodeRecord(req.records(i), 1, StampOf(req, i)));
  auto raced = c.member(second).node->ApplyBatch(commands).get();
  ASSERT_TRUE(raced.has_value()) << raced.error().ToString();
  EXPECT_GT(raced->front().index, original.offsets.back());
  ProduceOutcome raced_outcome = OutcomeOf(KeyOf(req), *raced, c.member(second).sm->limits());
  ASSERT_TRUE(raced_outcome.status.ok());
  EXPECT_EQ(raced_outcome.offsets, original.offsets);

  // The producer goes on; a gap is refused naming the expected sequence.
  Answer next = ProduceOnLeader(c, Request(77, 3, {"d"}));
  ASSERT_TRUE(next.status.ok()) << next.status.error_message();
  ASSERT_EQ(next.offsets.size(), 1u);
  Answer gap = ProduceOnLeader(c, Request(77, 9, {"x"}));
  EXPECT_EQ(gap.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(gap.status.error_message(), HasSubstr("expects sequence 4"));
  EXPECT_EQ(gap.expected_sequence, "4");

  // The old leader comes back and rebuilds its table from the log.
  ASSERT_TRUE(c.Start(first).ok());
  const NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, raft::kNoNode);
  ASSERT_TRUE(c.WaitQuiet(leader));
  const std::vector<std::pair<uint64_t, std::string>> want{
      {original.offsets[0], "a"}, {original.offsets[1], "b"}, {original.offsets[2], "c"}, {next.offsets[0], "d"}};
  const std::string table = c.member(leader).sm->TakeSnapshot().data;
  for (NodeId id : c.running()) {
    EXPECT_EQ(ConsumeAll(c, id), want) << "member " << id;
    EXPECT_EQ(c.member(id).sm->TakeSnapshot().data, table) << "member " << id;
  }
  // Asked of the restarted member itself, the retry still gets the original.
  Answer again = Produce(c.stub(first), req);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.offsets, original.offsets);
}

TEST(ExactlyOnceClusterTest, ProduceStreamRetriesGetTheOriginalOffsets) {
  Cluster c(3);
  const NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, raft::kNoNode);
  grpc::ClientContext ctx;
  auto stream = c.stub(leader).ProduceStream(&ctx);
  // Pipelined: 0..1, 2..3, then the first again and a gap.
  std::vector<replog::v1::ProduceRequest> reqs{Request(5, 0, {"a", "b"}), Request(5, 2, {"c", "d"}),
                                               Request(5, 0, {"a", "b"}), Request(5, 7, {"z"})};
  for (size_t i = 0; i < reqs.size(); ++i) {
    reqs[i].set_request_id(i + 1);
    ASSERT_TRUE(stream->Write(reqs[i]));
  }
  stream->WritesDone();
  std::map<uint64_t, replog::v1::ProduceResponse> by_id;
  replog::v1::ProduceResponse resp;
  while (stream->Read(&resp)) by_id[resp.request_id()] = resp;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(by_id.size(), 4u);
  ASSERT_EQ(by_id[1].error_code(), 0) << by_id[1].error_message();
  ASSERT_EQ(by_id[2].error_code(), 0) << by_id[2].error_message();
  ASSERT_EQ(by_id[3].error_code(), 0) << by_id[3].error_message();
  EXPECT_EQ(std::vector<uint64_t>(by_id[3].offsets().begin(), by_id[3].offsets().end()),
            std::vector<uint64_t>(by_id[1].offsets().begin(), by_id[1].offsets().end()));
  EXPECT_EQ(by_id[4].error_code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(by_id[4].expected_sequence(), 4u);
  ASSERT_TRUE(c.WaitQuiet(leader));
  for (NodeId id : c.running()) {
    std::vector<std::string> values;
    for (const auto& [offset, value] : ConsumeAll(c, id)) values.push_back(value);
    EXPECT_THAT(values, ElementsAre("a", "b", "c", "d")) << "member " << id;
  }
}

// The leader stops while a produce is in flight: its outcome is unknown to
// the producer, and the entries may or may not have been committed. The
// retry on the next leader is stored once either way, and its answer names
// where consumers find the records.
TEST(ExactlyOnceClusterTest, RetryAfterAnUnknownOutcomeIsStoredOnce) {
  Cluster c(3);
  std::mt19937 rng(12345);
  std::vector<std::pair<uint64_t, std::string>> want;
  for (uint64_t round = 0; round < 6; ++round) {
    const NodeId leader = c.WaitForLeader();
    ASSERT_NE(leader, raft::kNoNode);
    const auto req = Request(100 + round, 0, {"r" + std::to_string(round) + "a", "r" + std::to_string(round) + "b"});
    Answer first;
    raft::Node& node = *c.member(leader).node;
    const uint64_t before = node.GetStatus().last_index;
    replog::v1::Log::Stub& stub = c.stub(leader);
    std::atomic<bool> answered{false};
    std::thread producer([&] {
      first = Produce(stub, req);
      answered.store(true);
    });
    // Halt only once the leader has the proposal in its log (an in-process
    // gRPC channel must not start calls to a server that is shut down),
    // then at a random point of its replication.
    while (!answered.load() && node.GetStatus().last_index < before + 2) std::this_thread::sleep_for(kPoll / 20);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 400));
    c.Halt(leader);
    producer.join();
    c.Stop(leader);
    Answer retry = ProduceOnLeader(c, req);
    ASSERT_TRUE(retry.status.ok()) << retry.status.error_message();
    if (first.status.ok()) {
      EXPECT_EQ(retry.offsets, first.offsets);
    }
    std::printf("round %lu: first answer %d, retry offsets %lu %lu\n", static_cast<unsigned long>(round),
                static_cast<int>(first.status.error_code()), static_cast<unsigned long>(retry.offsets[0]),
                static_cast<unsigned long>(retry.offsets[1]));
    want.emplace_back(retry.offsets[0], req.records(0).value());
    want.emplace_back(retry.offsets[1], req.records(1).value());
    ASSERT_TRUE(c.Start(leader).ok());
  }
  const NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, raft::kNoNode);
  ASSERT_TRUE(c.WaitQuiet(leader));
  for (NodeId id : c.running()) EXPECT_EQ(ConsumeAll(c, id), want) << "member " << id;
}

}  // namespace
}  // namespace logservice
