// KV.WriteStream and KV.ReadStream on a real cluster: pipelined writes of
// every kind come back once each with their ids, in commit order; a bad
// request or a session error gets an error response without breaking the
// stream; a follower answers every write with UNAVAILABLE and the leader
// hint; a KV leader that shuts down ends its streams and applies none of the
// writes it left unanswered. Pipelined reads of both kinds come back once
// each with their ids from the leader and a follower, a linearizable one
// seeing every write acknowledged before it; a member that shuts down ends
// its read streams with UNAVAILABLE.

#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster_harness.h"
#include "kv_ops.h"
#include "rpc/leader_hint.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

using replog::v1::KvReadRequest;
using replog::v1::KvReadResponse;
using replog::v1::KvWriteRequest;
using replog::v1::KvWriteResponse;

KvWriteRequest Put(uint64_t id, const std::string& key, const std::string& value, uint64_t client = 0,
                   uint64_t sequence = 0) {
  KvWriteRequest req;
  req.set_request_id(id);
  req.mutable_put()->set_key(key);
  req.mutable_put()->set_value(value);
  if (client != 0) {
    req.mutable_put()->mutable_session()->set_client_id(client);
    req.mutable_put()->mutable_session()->set_sequence(sequence);
  }
  return req;
}

TEST(ClusterKvWriteStreamTest, PipelinedWritesOfEveryKindComeBackOnceWithTheirIdsAndErrorsKeepTheStream) {
  ClusterOptions options;
  options.name = "kv-stream";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = KvLeader(cluster);
  ASSERT_NE(leader, 0u);

  grpc::ClientContext ctx;
  auto stream = KvStub(cluster, leader)->WriteStream(&ctx);
  std::vector<KvWriteRequest> reqs;
  for (uint64_t id = 1; id <= 100; ++id) reqs.push_back(Put(id, "k" + std::to_string(id), "v" + std::to_string(id)));
  KvWriteRequest del;
  del.set_request_id(101);
  del.mutable_delete_()->set_key("k1");
  reqs.push_back(del);
  KvWriteRequest cas_ok;  // k2 holds v2
  cas_ok.set_request_id(102);
  cas_ok.mutable_compare_and_set()->set_key("k2");
  cas_ok.mutable_compare_and_set()->mutable_compare()->set_value("v2");
  cas_ok.mutable_compare_and_set()->set_value("swapped");
  reqs.push_back(cas_ok);
  KvWriteRequest cas_fail = cas_ok;  // k3 holds v3, not v2
  cas_fail.set_request_id(103);
  cas_fail.mutable_compare_and_set()->set_key("k3");
  reqs.push_back(cas_fail);
  KvWriteRequest none;  // no write at all
  none.set_request_id(104);
  reqs.push_back(none);
  reqs.push_back(Put(105, "", "empty key"));
  reqs.push_back(Put(106, "s", "first", 77, 0));
  reqs.push_back(Put(107, "s", "not applied: a retry of 106", 77, 0));
  reqs.push_back(Put(108, "s", "a gap", 77, 5));
  for (const KvWriteRequest& r : reqs) ASSERT_TRUE(stream->Write(r));
  ASSERT_TRUE(stream->WritesDone());
  std::map<uint64_t, KvWriteResponse> answers;
  std::vector<uint64_t> order;
  KvWriteResponse resp;
  while (stream->Read(&resp)) {
    EXPECT_TRUE(answers.emplace(resp.request_id(), resp).second) << "request " << resp.request_id() << " twice";
    order.push_back(resp.request_id());
  }
  const grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(answers.size(), reqs.size());

  // Committed writes come back in commit order: their revisions grow.
  uint64_t last_revision = 0;
  for (uint64_t id : order) {
    const KvWriteResponse& a = answers[id];
    if (a.error_code() != 0) continue;
    const uint64_t revision = a.has_put()               ? a.put().revision()
                              : a.has_delete_()         ? a.delete_().revision()
                              : a.has_compare_and_set() ? a.compare_and_set().revision()
                                                        : 0;
    ASSERT_NE(revision, 0u) << "request " << id << " answered OK without a result";
    // A retry answered from the session table repeats its first revision.
    if (id != 107) {
      EXPECT_GT(revision, last_revision) << "request " << id;
      last_revision = revision;
    }
  }
  for (uint64_t id = 1; id <= 100; ++id) {
    ASSERT_EQ(answers[id].error_code(), 0) << answers[id].error_message();
    ASSERT_TRUE(answers[id].has_put());
  }
  EXPECT_TRUE(answers[101].delete_().deleted());
  EXPECT_EQ(answers[101].delete_().previous().value(), "v1");
  EXPECT_TRUE(answers[102].compare_and_set().succeeded());
  EXPECT_FALSE(answers[103].compare_and_set().succeeded());
  EXPECT_EQ(answers[103].compare_and_set().current().value(), "v3");
  EXPECT_EQ(answers[104].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(answers[104].error_message().find("no write"), std::string::npos) << answers[104].error_message();
  EXPECT_EQ(answers[105].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(answers[105].error_message().find("key is empty"), std::string::npos) << answers[105].error_message();
  ASSERT_EQ(answers[106].error_code(), 0) << answers[106].error_message();
  ASSERT_EQ(answers[107].error_code(), 0) << answers[107].error_message();
  EXPECT_EQ(answers[107].put().revision(), answers[106].put().revision());
  EXPECT_EQ(answers[108].error_code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(answers[108].expected_sequence(), 1u) << answers[108].error_message();

  auto map = KvDump(cluster, leader);
  ASSERT_TRUE(map.has_value()) << map.error().ToString();
  EXPECT_EQ(map->count("k1"), 0u);
  EXPECT_EQ((*map)["k2"], "swapped");
  EXPECT_EQ((*map)["k3"], "v3");
  EXPECT_EQ((*map)["k100"], "v100");
  EXPECT_EQ((*map)["s"], "first");
}

TEST(ClusterKvWriteStreamTest, AFollowerAnswersEveryWriteUnavailableWithTheLeaderHint) {
  ClusterOptions options;
  options.name = "kv-stream-follower";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = KvLeader(cluster);
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == cluster.ids()[0] ? cluster.ids()[1] : cluster.ids()[0];

  grpc::ClientContext ctx;
  auto stream = KvStub(cluster, follower)->WriteStream(&ctx);
  for (uint64_t id = 1; id <= 10; ++id) ASSERT_TRUE(stream->Write(Put(id, "f" + std::to_string(id), "v")));
  ASSERT_TRUE(stream->WritesDone());
  KvWriteResponse resp;
  int answered = 0;
  while (stream->Read(&resp)) {
    ++answered;
    EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE)) << resp.error_message();
    EXPECT_EQ(resp.leader_id(), leader);
    EXPECT_EQ(resp.leader_address(), cluster.Address(leader));
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(answered, 10);
  auto map = KvDump(cluster, leader);
  ASSERT_TRUE(map.has_value()) << map.error().ToString();
  EXPECT_EQ(map->count("f1"), 0u);
}

TEST(ClusterKvWriteStreamTest, AKvLeaderThatShutsDownEndsItsStreamsAndAppliesNothingItLeftUnanswered) {
  ClusterOptions options;
  options.name = "kv-stream-shutdown";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  uint64_t leader = 0;
  // The stream is up once the leader has answered request 1; on a loaded
  // machine the leadership may move first (request 1 refused, not applied).
  std::unique_ptr<grpc::ClientContext> ctx_holder;
  std::unique_ptr<grpc::ClientReaderWriter<KvWriteRequest, KvWriteResponse>> stream;
  KvWriteResponse resp;
  for (int attempt = 1;; ++attempt) {
    leader = KvLeader(cluster);
    ASSERT_NE(leader, 0u);
    ctx_holder = std::make_unique<grpc::ClientContext>();
    stream = KvStub(cluster, leader)->WriteStream(ctx_holder.get());
    ASSERT_TRUE(stream->Write(Put(1, "w1", "v")));
    ASSERT_TRUE(stream->Read(&resp));
    if (resp.error_code() == 0) break;
    ASSERT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE)) << resp.error_message();
    ASSERT_LT(attempt, 5) << "no KV leader kept its leadership: " << resp.error_message();
    stream->WritesDone();
    stream->Finish();
  }
  grpc::ClientContext& ctx = *ctx_holder;
  std::map<uint64_t, KvWriteResponse> answers{{1, resp}};

  constexpr uint64_t kMaxRequests = 50'000;
  std::atomic<uint64_t> written{1};
  std::thread writer([&] {
    for (uint64_t id = 2; id <= kMaxRequests && stream->Write(Put(id, "w" + std::to_string(id), "v")); ++id) {
      written = id;
    }
  });
  std::thread terminator([&] {
    cluster.WaitUntil([&] { return written.load() >= 200; }, 5'000, 1);
    auto exit = cluster.Terminate(leader);
    EXPECT_TRUE(exit.has_value()) << exit.error().ToString();
  });
  while (stream->Read(&resp)) {
    EXPECT_TRUE(answers.emplace(resp.request_id(), resp).second) << "request " << resp.request_id() << " twice";
  }
  writer.join();
  terminator.join();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  // The member's own end carries the hint; a reset connection (the client
  // still writing when the member closed its socket) drops what the member
  // sent last, and requests it left unanswered then have an unknown outcome.
  const bool member_ended = ctx.GetServerTrailingMetadata().count(rpc::kLeaderIdKey) > 0;

  std::vector<uint64_t> rest;
  for (uint64_t id : cluster.ids()) {
    if (id != leader) rest.push_back(id);
  }
  const uint64_t next = KvLeader(cluster, rest);
  ASSERT_NE(next, 0u);
  // The new leader applies every write the old one acknowledged once an
  // entry of its own term commits; a put through it is one.
  ASSERT_TRUE(KvPut(cluster, "after", "x", 10'000).has_value());
  auto map = KvDump(cluster, next);
  ASSERT_TRUE(map.has_value()) << map.error().ToString();
  uint64_t unanswered = 0;
  for (uint64_t id = 1; id <= written.load(); ++id) {
    const std::string key = "w" + std::to_string(id);
    auto it = answers.find(id);
    if (it == answers.end()) {
      unanswered++;
      if (member_ended) {
        EXPECT_EQ(map->count(key), 0u) << "request " << id << " was left unanswered but applied";
      }
    } else if (it->second.error_code() == 0) {
      EXPECT_EQ(map->count(key), 1u) << "request " << id << " was acknowledged but is not in the map";
    } else if (it->second.error_code() == static_cast<int>(grpc::StatusCode::UNAVAILABLE)) {
      EXPECT_EQ(map->count(key), 0u) << "request " << id << " was refused but applied";
    }  // DEADLINE_EXCEEDED: its outcome is unknown
  }
  std::cout << "written " << written.load() << ", answered " << answers.size() << ", unanswered " << unanswered
            << "; the end: " << (member_ended ? "the member's status" : status.error_message()) << "\n";
}

KvReadRequest Get(uint64_t id, const std::string& key,
                  replog::v1::ReadConsistency consistency = replog::v1::LINEARIZABLE) {
  KvReadRequest req;
  req.set_request_id(id);
  req.mutable_get()->set_key(key);
  req.mutable_get()->set_consistency(consistency);
  return req;
}

// Writes its requests, half-closes, and reads every answer by id.
std::map<uint64_t, KvReadResponse> ReadAll(replog::v1::KV::Stub& stub, const std::vector<KvReadRequest>& reqs,
                                           grpc::Status* status) {
  grpc::ClientContext ctx;
  auto stream = stub.ReadStream(&ctx);
  for (const KvReadRequest& r : reqs) EXPECT_TRUE(stream->Write(r));
  EXPECT_TRUE(stream->WritesDone());
  std::map<uint64_t, KvReadResponse> answers;
  KvReadResponse resp;
  while (stream->Read(&resp)) {
    EXPECT_TRUE(answers.emplace(resp.request_id(), resp).second) << "request " << resp.request_id() << " twice";
  }
  *status = stream->Finish();
  return answers;
}

TEST(ClusterKvReadStreamTest, PipelinedReadsOfBothKindsComeBackOnceWithTheirIdsFromTheLeaderAndAFollower) {
  ClusterOptions options;
  options.name = "kv-read-stream";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = KvLeader(cluster);
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == cluster.ids()[0] ? cluster.ids()[1] : cluster.ids()[0];
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(KvPut(cluster, "r" + std::to_string(i), "v" + std::to_string(i)).has_value());
  }

  for (uint64_t member : {leader, follower}) {
    SCOPED_TRACE("member " + std::to_string(member));
    // Acknowledged just before the reads: each linearizable read sees it.
    ASSERT_TRUE(KvPut(cluster, "r0", "latest " + std::to_string(member)).has_value());
    std::vector<KvReadRequest> reqs;
    for (uint64_t id = 1; id <= 100; ++id) {
      reqs.push_back(Get(id, "r" + std::to_string(id % 20), id % 2 == 0 ? replog::v1::LINEARIZABLE : replog::v1::LOCAL));
    }
    reqs.push_back(Get(101, "absent"));
    KvReadRequest scan;
    scan.set_request_id(102);
    scan.mutable_scan()->set_prefix("r1");
    scan.mutable_scan()->set_limit(5);
    reqs.push_back(scan);
    reqs.push_back(Get(103, ""));  // an empty key
    KvReadRequest none;            // no read at all
    none.set_request_id(104);
    reqs.push_back(none);
    reqs.push_back(Get(105, "r1", static_cast<replog::v1::ReadConsistency>(7)));
    reqs.push_back(Get(106, "r0"));

    grpc::Status status;
    std::map<uint64_t, KvReadResponse> answers = ReadAll(*KvStub(cluster, member), reqs, &status);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(answers.size(), reqs.size());
    for (uint64_t id = 1; id <= 100; ++id) {
      const KvReadResponse& a = answers[id];
      ASSERT_EQ(a.error_code(), 0) << id << ": " << a.error_message();
      ASSERT_TRUE(a.has_get()) << id;
      EXPECT_TRUE(a.get().found()) << id;
      if (id % 20 != 0) {
        EXPECT_EQ(a.get().kv().value(), "v" + std::to_string(id % 20)) << id;
      }
      EXPECT_GT(a.get().revision(), 0u) << id;
    }
    // A linearizable read sees the put acknowledged before the stream.
    EXPECT_EQ(answers[106].get().kv().value(), "latest " + std::to_string(member));
    ASSERT_EQ(answers[101].error_code(), 0) << answers[101].error_message();
    EXPECT_FALSE(answers[101].get().found());
    ASSERT_EQ(answers[102].error_code(), 0) << answers[102].error_message();
    EXPECT_EQ(answers[102].scan().kvs_size(), 5);  // of r1 and r10..r19: the limit cuts it
    EXPECT_TRUE(answers[102].scan().more());
    EXPECT_EQ(answers[102].scan().kvs(0).key(), "r1");
    EXPECT_EQ(answers[103].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(answers[103].error_message().find("key is empty"), std::string::npos) << answers[103].error_message();
    EXPECT_EQ(answers[104].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(answers[104].error_message().find("no read"), std::string::npos) << answers[104].error_message();
    EXPECT_EQ(answers[105].error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_NE(answers[105].error_message().find("consistency"), std::string::npos) << answers[105].error_message();
  }
}

TEST(ClusterKvReadStreamTest, AMemberThatShutsDownEndsItsReadStreamsUnavailable) {
  ClusterOptions options;
  options.name = "kv-read-stream-shutdown";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = KvLeader(cluster);
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == cluster.ids()[0] ? cluster.ids()[1] : cluster.ids()[0];
  ASSERT_TRUE(KvPut(cluster, "k", "v").has_value());

  grpc::ClientContext ctx;
  auto stream = KvStub(cluster, follower)->ReadStream(&ctx);
  constexpr uint64_t kMaxRequests = 200'000;
  std::atomic<uint64_t> written{0};
  std::thread writer([&] {
    for (uint64_t id = 1; id <= kMaxRequests && stream->Write(Get(id, "k")); ++id) written = id;
  });
  std::atomic<uint64_t> ok{0};
  // Stopped with reads in flight, once some were served.
  std::thread terminator([&] {
    cluster.WaitUntil([&] { return ok.load() >= 50; }, 10'000, 1);
    auto exit = cluster.Terminate(follower);
    EXPECT_TRUE(exit.has_value()) << exit.error().ToString();
  });
  KvReadResponse resp;
  while (stream->Read(&resp)) {
    if (resp.error_code() == 0) {
      ++ok;
      EXPECT_EQ(resp.get().kv().value(), "v");
    } else {
      // Reads the member took before it stopped may fail as it stops.
      EXPECT_EQ(resp.error_code(), static_cast<int>(grpc::StatusCode::UNAVAILABLE)) << resp.error_message();
    }
  }
  writer.join();
  terminator.join();
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_GE(ok.load(), 50u);
  std::cout << "written " << written.load() << ", answered OK " << ok.load() << "\n";
}

}  // namespace
}  // namespace cluster_testing
