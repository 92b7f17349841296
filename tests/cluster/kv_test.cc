// The key-value store on real processes (issue 6): snapshots and purges
// survive a restart of every member with the same map on each, and a member
// wiped and re-added catches up through a snapshot while writes go on.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster_harness.h"
#include "kv_ops.h"
#include "rpc/leader_hint.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

// Small snapshots, so that a few thousand writes take several.
const std::vector<std::string> kSnapshotArgs = {"--kv-snapshot-entries", "200", "--kv-trailing-entries", "50"};

// Puts distinct keys "<prefix><n>" one after another until stopped, and
// remembers what was acknowledged.
class KvWriter {
 public:
  KvWriter(Cluster& cluster, std::string prefix) : cluster_(cluster), prefix_(std::move(prefix)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~KvWriter() { Stop(); }

  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  bool WaitAcked(size_t more, int64_t timeout_ms) {
    const size_t target = acked() + more;
    return cluster_.WaitUntil([&] { return acked() >= target; }, timeout_ms);
  }
  size_t acked() const {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  std::map<std::string, std::string> Acked() const {
    std::lock_guard lock(mu_);
    return acked_;
  }

 private:
  void Run() {
    for (int n = 0; !stop_.load(); ++n) {
      const std::string key = prefix_ + std::to_string(n);
      const std::string value = "v" + std::to_string(n) + std::string(200, 'x');
      if (KvPut(cluster_, key, value, 15'000, &leader_).has_value()) {
        std::lock_guard lock(mu_);
        acked_[key] = value;
      }
    }
  }

  Cluster& cluster_;
  const std::string prefix_;
  std::string leader_;  // the writer thread's
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::map<std::string, std::string> acked_;
  std::thread thread_;
};

// Every acknowledged key holds its value on member `id`.
void ExpectHolds(Cluster& cluster, uint64_t id, const std::map<std::string, std::string>& acked) {
  auto dump = KvDump(cluster, id);
  ASSERT_TRUE(dump.has_value()) << dump.error().ToString();
  size_t missing = 0;
  for (const auto& [key, value] : acked) {
    auto it = dump->find(key);
    if (it == dump->end() || it->second != value) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "member " << id << " lacks " << missing << " of " << acked.size()
                         << " acknowledged keys";
}

TEST(ClusterKvTest, RestartOfEveryMemberAfterSnapshotsRestoresTheSameMap) {
  ClusterOptions options;
  options.name = "kv-restart";
  options.extra_args = kSnapshotArgs;
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const std::vector<uint64_t> ids = cluster.ids();

  std::map<std::string, std::string> want;
  for (int n = 0; n < 1500; ++n) {
    const std::string key = "k" + std::to_string(n % 300);  // overwrites, so the map is not the log
    const std::string value = "v" + std::to_string(n);
    auto put = KvPut(cluster, key, value);
    ASSERT_TRUE(put.has_value()) << put.error().ToString();
    want[key] = value;
  }
  // Every member snapshots on its own (the policy looks once a second).
  ASSERT_TRUE(cluster.WaitUntil(
      [&] {
        for (uint64_t id : ids) {
          auto st = KvStatus(cluster, id);
          if (!st.has_value() || st->snapshot_index() == 0 || st->first_index() <= 1) return false;
        }
        return true;
      },
      10'000))
      << "not every member took a snapshot and purged\n"
      << cluster.AllLogTails();
  auto before = WaitSameKvState(cluster, ids, 10'000);
  ASSERT_TRUE(before.has_value()) << before.error().ToString();
  EXPECT_EQ(before->keys(), 300u);

  for (uint64_t id : ids) ASSERT_TRUE(cluster.Terminate(id).has_value());
  for (uint64_t id : ids) ASSERT_TRUE(cluster.Restart(id).ok());
  auto after = WaitSameKvState(cluster, ids, 20'000);
  ASSERT_TRUE(after.has_value()) << after.error().ToString() << "\n" << cluster.AllLogTails();
  // A new leader's no-op moved the applied index; the map is the same.
  EXPECT_GE(after->applied_index(), before->applied_index());
  EXPECT_EQ(after->hash(), before->hash());
  for (uint64_t id : ids) {
    auto st = KvStatus(cluster, id);
    ASSERT_TRUE(st.has_value());
    EXPECT_GT(st->snapshot_index(), 0u) << "member " << id;
    ExpectHolds(cluster, id, want);
  }
  auto put = KvPut(cluster, "after", "restart");
  ASSERT_TRUE(put.has_value()) << put.error().ToString();
  EXPECT_GT(*put, after->applied_index());
}

TEST(ClusterKvTest, AWipedMemberRejoinsAndCatchesUpThroughASnapshotWhileWritesContinue) {
  ClusterOptions options;
  options.name = "kv-rejoin";
  options.extra_args = kSnapshotArgs;
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const std::vector<uint64_t> ids = cluster.ids();
  // A member other than the log's leader (the KV group's may be any).
  const uint64_t wiped = started->leader == ids[0] ? ids[1] : ids[0];
  std::vector<uint64_t> via;
  for (uint64_t id : ids) {
    if (id != wiped) via.push_back(id);
  }

  KvWriter writer(cluster, "w");
  ASSERT_TRUE(writer.WaitAcked(600, 30'000)) << cluster.AllLogTails();
  ASSERT_TRUE(cluster.Kill(wiped).ok());
  ASSERT_TRUE(writer.WaitAcked(300, 30'000)) << "the other two stopped serving\n" << cluster.AllLogTails();
  ASSERT_TRUE(cluster.Rejoin(wiped, via, {.replace = true}).ok());
  ASSERT_TRUE(writer.WaitAcked(600, 30'000)) << cluster.AllLogTails();
  writer.Stop();

  auto same = WaitSameKvState(cluster, ids, 30'000);
  ASSERT_TRUE(same.has_value()) << same.error().ToString() << "\n" << cluster.AllLogTails();
  auto st = KvStatus(cluster, wiped);
  ASSERT_TRUE(st.has_value());
  EXPECT_GT(st->first_index(), 2u) << "member " << wiped << "'s KV log should begin after the snapshot it installed";
  std::ifstream log(cluster.LogPath(wiped));
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("removed an earlier member"), std::string::npos) << cluster.LogTail(wiped, 60);
  for (uint64_t id : ids) ExpectHolds(cluster, id, writer.Acked());
}

TEST(ClusterKvTest, BadRequestsGetClearErrorsAndARetriedWriteAppliesOnce) {
  ClusterOptions options;
  options.name = "kv-errors";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  const uint64_t leader = KvLeader(cluster);
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == cluster.ids()[0] ? cluster.ids()[1] : cluster.ids()[0];
  auto call = [&](uint64_t id, auto method, const auto& req, auto* resp) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 5'000);
    grpc::Status s = (KvStub(cluster, id).get()->*method)(&ctx, req, resp);
    return std::make_pair(s, rpc::ReadLeaderHint(ctx));
  };

  replog::v1::PutRequest empty_key;
  replog::v1::PutResponse put;
  auto [bad, bad_hint] = call(leader, &replog::v1::KV::Stub::Put, empty_key, &put);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("key is empty"), std::string::npos) << bad.error_message();

  replog::v1::CompareAndSetRequest no_compare;
  no_compare.set_key("k");
  replog::v1::CompareAndSetResponse cas;
  auto [nc, nc_hint] = call(leader, &replog::v1::KV::Stub::CompareAndSet, no_compare, &cas);
  EXPECT_EQ(nc.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << nc.error_message();

  // A follower refuses writes and names the KV group's leader.
  replog::v1::PutRequest req;
  req.set_key("k");
  req.set_value("v1");
  req.mutable_session()->set_client_id(77);
  req.mutable_session()->set_sequence(0);
  auto [refused, hint] = call(follower, &replog::v1::KV::Stub::Put, req, &put);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(hint.id, leader);
  EXPECT_EQ(hint.address, cluster.Address(leader));

  // The same (client, sequence) twice: one write, one revision.
  auto [first, h1] = call(leader, &replog::v1::KV::Stub::Put, req, &put);
  ASSERT_TRUE(first.ok()) << first.error_message();
  const uint64_t revision = put.revision();
  req.set_value("v2");  // a retry carries the same request; a different value shows it is not applied
  auto [again, h2] = call(leader, &replog::v1::KV::Stub::Put, req, &put);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(put.revision(), revision);
  auto value = KvGetLocal(cluster, leader, "k");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->value_or("absent"), "v1");

  // A gap in the sequence names the one expected.
  req.mutable_session()->set_sequence(5);
  grpc::ClientContext ctx;
  SetDeadline(ctx, 5'000);
  grpc::Status gap = KvStub(cluster, leader)->Put(&ctx, req, &put);
  EXPECT_EQ(gap.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(gap.error_message().find("next expected sequence is 1"), std::string::npos) << gap.error_message();
  const auto& trailers = ctx.GetServerTrailingMetadata();
  auto expected = trailers.find("replog-expected-sequence");
  ASSERT_NE(expected, trailers.end());
  EXPECT_EQ(std::string(expected->second.data(), expected->second.size()), "1");

  // Linearizable reads on a follower see the write; a scan by prefix too.
  replog::v1::GetRequest get;
  get.set_key("k");
  replog::v1::GetResponse got;
  auto [read, rh] = call(follower, &replog::v1::KV::Stub::Get, get, &got);
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_TRUE(got.found());
  EXPECT_EQ(got.kv().value(), "v1");
  EXPECT_EQ(got.kv().mod_revision(), revision);
  EXPECT_GE(got.revision(), revision);
}

}  // namespace
}  // namespace cluster_testing
