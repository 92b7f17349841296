// Observability in a 3-member cluster in one process: each member runs the
// log group (DurableStorage on MemFs, LogStateMachine, LogService on an
// in-process gRPC server with the gRPC metrics interceptor) and a KV group,
// all with metrics in the member's own registry, and serves /metrics over
// real HTTP on 127.0.0.1. A scrape during a produce run shows the produce
// and fsync histograms counting and every member naming the real leader.

#include "server/observability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include "common/clock.h"
#include "kv/kv_state_machine.h"
#include "logservice/log_service.h"
#include "logservice/log_state_machine.h"
#include "metrics/exposition_parse.h"
#include "metrics/grpc_metrics.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "replog/v1/log.grpc.pb.h"
#include "testing/mem_fs.h"
#include "transport/local_transport.h"

namespace server {
namespace {

using raft::NodeId;

constexpr int64_t kMs = 1'000'000;
constexpr transport::GroupId kLogGroup = 1;
constexpr transport::GroupId kKvGroup = 2;

std::string Address(NodeId id) { return "node-" + std::to_string(id); }

struct Member {
  NodeId id = raft::kNoNode;
  replog_testing::MemFs fs;
  metrics::Registry registry;
  std::unique_ptr<transport::LocalTransport> transport;
  std::unique_ptr<raft::DurableStorage> log_storage;
  std::unique_ptr<raft::DurableStorage> kv_storage;
  logservice::LogStateMachine log_sm;
  kv::KvStateMachine kv_sm;
  std::unique_ptr<raft::Node> log_node;
  std::unique_ptr<raft::Node> kv_node;
  std::unique_ptr<logservice::LogService> service;
  std::unique_ptr<metrics::GrpcMetrics> grpc_metrics;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<replog::v1::Log::Stub> stub;
  std::unique_ptr<Observability> observability;
};

class ObservabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raft::ConfState initial{.voters = {1, 2, 3}};
    for (NodeId id : initial.voters) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->transport = std::make_unique<transport::LocalTransport>(net_, id, Address(id));
      m->log_storage = OpenStorage(*m, "log");
      m->kv_storage = OpenStorage(*m, "kv");
      ASSERT_TRUE(m->log_storage->Bootstrap(initial).ok());
      ASSERT_TRUE(m->kv_storage->Bootstrap(initial).ok());
      members_[id] = std::move(m);
    }
    for (auto& [id, m] : members_) ASSERT_NO_FATAL_FAILURE(Start(*m));
  }

  void TearDown() override {
    for (auto& [id, m] : members_) {
      if (m->observability) m->observability->Stop();
      if (m->service) m->service->BeginShutdown();
      if (m->kv_node) m->kv_node->Shutdown();
      if (m->log_node) m->log_node->Shutdown();
      if (m->server) m->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    }
    members_.clear();
  }

  std::unique_ptr<raft::DurableStorage> OpenStorage(Member& m, const std::string& group) {
    storage::Options o;
    o.preallocate = false;  // MemFs: no 64 MiB of zeros to copy
    o.max_segment_entries = 1024;
    o.metrics = &m.registry;
    o.metrics_clock = &clock_;
    o.metrics_group = group;
    auto s = raft::DurableStorage::Open(m.fs, "/" + group, o);
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return s.has_value() ? std::move(*s) : nullptr;
  }

  raft::NodeOptions NodeOptionsOf(Member& m, transport::GroupId group, const std::string& name) {
    raft::NodeOptions o;
    o.group = group;
    o.raft.id = m.id;
    o.raft.election_tick = 10;
    o.raft.heartbeat_tick = 1;
    o.tick_ns = 5 * kMs;
    for (const auto& [pid, pm] : members_) o.peers[pid] = Address(pid);
    o.metrics = &m.registry;
    o.group_name = name;
    return o;
  }

  void Start(Member& m) {
    auto log_node = raft::Node::Start(NodeOptionsOf(m, kLogGroup, "log"), *m.log_storage, *m.transport, m.log_sm,
                                      clock_);
    ASSERT_TRUE(log_node.has_value()) << log_node.error().ToString();
    m.log_node = std::move(*log_node);
    auto kv_node = raft::Node::Start(NodeOptionsOf(m, kKvGroup, "kv"), *m.kv_storage, *m.transport, m.kv_sm, clock_);
    ASSERT_TRUE(kv_node.has_value()) << kv_node.error().ToString();
    m.kv_node = std::move(*kv_node);
    m.service = std::make_unique<logservice::LogService>(*m.log_node, *m.log_storage, m.log_sm, clock_,
                                                         logservice::LogServiceOptions{.metrics = &m.registry});
    m.grpc_metrics = std::make_unique<metrics::GrpcMetrics>(m.registry, clock_);
    grpc::ServerBuilder builder;
    builder.RegisterService(m.service.get());
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(m.grpc_metrics->NewInterceptorFactory());
    builder.experimental().SetInterceptorCreators(std::move(creators));
    m.server = builder.BuildAndStart();
    ASSERT_NE(m.server, nullptr);
    m.stub = replog::v1::Log::NewStub(m.server->InProcessChannel(grpc::ChannelArguments()));
    m.observability = std::make_unique<Observability>(m.registry, *m.log_node, "log", *m.kv_node, "kv",
                                                      ObservabilityOptions{.listen_address = "127.0.0.1:0"});
    common::Status s = m.observability->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // The member every member of `group` follows, once they agree; kNoNode
  // after 20 s.
  NodeId AgreedLeader(bool kv) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      NodeId leader = raft::kNoNode;
      bool agree = true;
      for (auto& [id, m] : members_) {
        const raft::NodeStatus st = (kv ? m->kv_node : m->log_node)->GetStatus();
        if (st.leader == raft::kNoNode || (leader != raft::kNoNode && st.leader != leader)) agree = false;
        leader = st.leader;
      }
      if (agree && members_.at(leader)->log_node) return leader;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return raft::kNoNode;
  }

  static metrics::Exposition Scrape(Member& m) {
    httplib::Client client("127.0.0.1", m.observability->port());
    httplib::Result res = client.Get("/metrics");
    EXPECT_TRUE(res) << "GET /metrics on member " << m.id;
    if (!res) return {};
    EXPECT_EQ(res->status, 200);
    common::Result<metrics::Exposition> e = metrics::ParseExposition(res->body);
    EXPECT_TRUE(e.has_value()) << e.error().ToString();
    return e.has_value() ? std::move(*e) : metrics::Exposition{};
  }

  static double ValueOf(const metrics::Exposition& e, std::string_view name, const metrics::Labels& labels = {}) {
    const metrics::Sample* s = e.Find(name, labels);
    return s == nullptr ? -1 : s->value;
  }

  static int ReadyzStatus(Member& m) {
    httplib::Client client("127.0.0.1", m.observability->port());
    httplib::Result res = client.Get("/readyz");
    return res ? res->status : -1;
  }

  common::RealClock clock_;
  transport::LocalNetwork net_{clock_};
  std::map<NodeId, std::unique_ptr<Member>> members_;
};

TEST_F(ObservabilityTest, AScrapeDuringAProduceRunShowsProduceAndFsyncAndTheLeader) {
  const NodeId leader = AgreedLeader(/*kv=*/false);
  ASSERT_NE(leader, raft::kNoNode);
  Member& lm = *members_.at(leader);

  constexpr int kRequests = 200;
  std::atomic<int> acked{0};
  std::thread producer([&] {
    for (int i = 0; i < kRequests; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      replog::v1::ProduceRequest req;
      req.add_records()->set_value("record-" + std::to_string(i));  // 8 to 10 bytes
      replog::v1::ProduceResponse resp;
      if (lm.stub->Produce(&ctx, req, &resp).ok()) acked.fetch_add(1);
    }
  });
  while (acked.load() < 20) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const metrics::Exposition during = Scrape(lm);
  const int acked_then = acked.load();
  producer.join();

  EXPECT_GT(ValueOf(during, "replog_produce_seconds_count"), 0);
  EXPECT_GT(ValueOf(during, "replog_storage_fsync_seconds_count", {{"group", "log"}}), 0);
  EXPECT_GT(ValueOf(during, "replog_raft_append_seconds_count", {{"group", "log"}}), 0);
  EXPECT_GE(ValueOf(during, "replog_produced_records_total"), 20);
  EXPECT_LE(ValueOf(during, "replog_produced_records_total"), acked_then + 1);
  EXPECT_EQ(ValueOf(during, "replog_raft_leader_id", {{"group", "log"}}), leader);
  EXPECT_EQ(ValueOf(during, "replog_raft_role", {{"group", "log"}, {"role", "leader"}}), 1);

  // Afterwards, every acknowledged produce is counted, on the leader only.
  ASSERT_EQ(acked.load(), kRequests);
  const metrics::Exposition after = Scrape(lm);
  EXPECT_EQ(ValueOf(after, "replog_produce_seconds_count"), kRequests);
  EXPECT_EQ(ValueOf(after, "replog_produced_records_total"), kRequests);
  EXPECT_EQ(ValueOf(after, "replog_grpc_requests_total", {{"method", "/replog.v1.Log/Produce"}, {"code", "OK"}}),
            kRequests);
  EXPECT_GE(ValueOf(after, "replog_raft_commit_index", {{"group", "log"}}), kRequests);
  for (auto& [id, m] : members_) {
    const metrics::Exposition e = id == leader ? after : Scrape(*m);
    EXPECT_EQ(ValueOf(e, "replog_raft_leader_id", {{"group", "log"}}), leader) << "member " << id;
    EXPECT_EQ(ValueOf(e, "replog_raft_node_id", {{"group", "log"}}), id);
    EXPECT_GE(ValueOf(e, "replog_raft_leader_changes_total", {{"group", "log"}}), 1) << "member " << id;
    EXPECT_GT(ValueOf(e, "replog_raft_apply_seconds_count", {{"group", "log"}}), 0) << "member " << id;
    EXPECT_GT(ValueOf(e, "replog_storage_fsync_seconds_count", {{"group", "log"}}), 0) << "member " << id;
    if (id == leader) continue;
    EXPECT_EQ(ValueOf(e, "replog_produce_seconds_count"), 0) << "member " << id;
    EXPECT_EQ(ValueOf(e, "replog_raft_role", {{"group", "log"}, {"role", "follower"}}), 1) << "member " << id;
    EXPECT_EQ(e.Find("replog_raft_follower_match_index", {{"group", "log"}}), nullptr) << "only the leader reports";
    // The leader's view of this follower.
    const double match = ValueOf(after, "replog_raft_follower_match_index", {{"group", "log"}, {"peer", std::to_string(id)}});
    const double lag = ValueOf(after, "replog_raft_follower_lag_entries", {{"group", "log"}, {"peer", std::to_string(id)}});
    EXPECT_GE(match, 0) << "member " << id;
    EXPECT_EQ(match + lag, ValueOf(after, "replog_raft_last_index", {{"group", "log"}}));
  }
}

TEST_F(ObservabilityTest, ConsumedRecordsAndSnapshotsAreCounted) {
  const NodeId leader = AgreedLeader(/*kv=*/false);
  ASSERT_NE(leader, raft::kNoNode);
  Member& lm = *members_.at(leader);
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    replog::v1::ProduceRequest req;
    req.add_records()->set_value("12345");
    replog::v1::ProduceResponse resp;
    ASSERT_TRUE(lm.stub->Produce(&ctx, req, &resp).ok());
  }
  grpc::ClientContext ctx;
  replog::v1::ConsumeRequest req;
  req.set_from_offset(0);
  replog::v1::ConsumeResponse resp;
  ASSERT_TRUE(lm.stub->Consume(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.records_size(), 3);

  const NodeId kv_leader = AgreedLeader(/*kv=*/true);
  ASSERT_NE(kv_leader, raft::kNoNode);
  std::promise<common::Result<uint64_t>> done;
  members_.at(kv_leader)->kv_node->SnapshotAsync(0, [&done](common::Result<uint64_t> r) { done.set_value(r); });
  common::Result<uint64_t> snap = done.get_future().get();
  ASSERT_TRUE(snap.has_value()) << snap.error().ToString();

  const metrics::Exposition e = Scrape(lm);
  EXPECT_EQ(ValueOf(e, "replog_consumed_records_total"), 3);
  EXPECT_EQ(ValueOf(e, "replog_consumed_bytes_total"), 15);
  EXPECT_EQ(ValueOf(e, "replog_produced_bytes_total"), 15);
  const metrics::Exposition kv = Scrape(*members_.at(kv_leader));
  EXPECT_EQ(ValueOf(kv, "replog_raft_snapshot_save_seconds_count", {{"group", "kv"}}), 1);
  EXPECT_EQ(ValueOf(kv, "replog_raft_snapshot_save_seconds_count", {{"group", "log"}}), 0);
}

TEST_F(ObservabilityTest, ReadyOnceBothGroupsHaveALeaderAndNotWhenOneIsStopped) {
  ASSERT_NE(AgreedLeader(/*kv=*/false), raft::kNoNode);
  ASSERT_NE(AgreedLeader(/*kv=*/true), raft::kNoNode);
  for (auto& [id, m] : members_) {
    EXPECT_TRUE(m->observability->Ready().ok()) << m->observability->Ready().ToString();
    EXPECT_EQ(ReadyzStatus(*m), 200) << "member " << id;
  }
  // A member alone (the others' nodes stopped) loses its leader.
  Member& lone = *members_.at(1);
  for (NodeId id : {2, 3}) {
    members_.at(id)->kv_node->Shutdown();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (lone.observability->Ready().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const common::Status s = lone.observability->Ready();
  EXPECT_EQ(s.code(), common::Code::kUnavailable);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("group kv: no leader known"));
  EXPECT_EQ(ReadyzStatus(lone), 503);
}

}  // namespace
}  // namespace server
