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

}  // namespace
}  // namespace cluster_testing
