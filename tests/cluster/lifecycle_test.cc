// replogd's life: SIGTERM shuts a member down cleanly (exit code 0, a
// tailing stream on it ends with OK) and a restart with the same flags
// reopens the same data; bad flags, a data directory in use and a damaged
// members file end the process at once with a message a user can act on.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "process.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TEST(ClusterLifecycleTest, SigtermShutsDownCleanly) {
  ClusterOptions options;
  options.name = "sigterm";
  auto started = StartWithClient(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  replog::Client& client = *started->client;
  std::vector<Ack> acks;
  for (int i = 0; i < 200; i++) {
    replog::Record r;
    r.value = "s-" + std::to_string(i);
    auto res = client.Produce({r});
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    acks.push_back(Ack{r.value, res->offsets.at(0), res->retried_after_unknown_outcome});
  }

  // A tailing consumer on a follower: SIGTERM must end its stream with OK.
  const uint64_t follower = started->leader % 3 + 1;
  auto stub = cluster.Stub(follower);
  grpc::ClientContext ctx;
  replog::v1::ConsumeRequest req;
  auto reader = stub->ConsumeStream(&ctx, req);
  replog::v1::ConsumeResponse resp;
  ASSERT_TRUE(reader->Read(&resp)) << "the follower's stream gave nothing";

  std::vector<uint64_t> order = {follower};
  for (uint64_t id : cluster.ids()) {
    if (id != follower) order.push_back(id);
  }
  for (uint64_t id : order) {
    const int64_t t0 = cluster.clock().NowNanos();
    auto exit = cluster.Terminate(id, 10'000);
    ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
    std::printf("[ sigterm  ] member %llu: %s after %.0f ms\n", static_cast<unsigned long long>(id),
                exit->ToString().c_str(), Ms(cluster.clock().NowNanos() - t0));
    EXPECT_EQ(exit->signal, 0) << "member " << id << "\n" << cluster.LogTail(id);
    EXPECT_EQ(exit->code, 0) << "member " << id << "\n" << cluster.LogTail(id);
    if (id == follower) {
      while (reader->Read(&resp)) {
      }
      grpc::Status end = reader->Finish();
      EXPECT_TRUE(end.ok()) << "the stream on a member shut down by SIGTERM ended with " << end.error_code() << " "
                            << end.error_message();
    }
  }

  // Every member holds exactly the acknowledged records, each once and at
  // its offset, through the offset all of them have committed.
  auto expect_exactly = [&](const std::string& when) {
    auto log = ReadCommittedLogs(cluster, cluster.ids(), MaxOffset(acks), 15'000);
    ASSERT_TRUE(log.has_value()) << when << ": " << log.error().ToString();
    for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "lost " << when << ": " << m;
    for (const std::string& m : RepeatedValues(*log)) ADD_FAILURE() << when << ": " << m;
    EXPECT_EQ(log->size(), acks.size()) << when;
  };

  for (uint64_t id : cluster.ids()) ASSERT_TRUE(cluster.Restart(id).ok());
  auto again = cluster.WaitForLeader(15'000);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  expect_exactly("across a clean restart");

  const uint64_t max_acked = MaxOffset(acks);
  replog::Record after;
  after.value = "after-restart";
  auto res = client.Produce({after});
  ASSERT_TRUE(res.has_value()) << res.error().ToString();
  EXPECT_GT(res->offsets.at(0), max_acked);
  acks.push_back(Ack{after.value, res->offsets.at(0), res->retried_after_unknown_outcome});
  expect_exactly("after the restart");
}

struct BadRun {
  std::string what;
  std::vector<std::string> args;
  std::vector<std::string> any_of;  // the output names at least one of these (lower case)
};

void ExpectClearFailure(const BadRun& run, const std::string& work_dir) {
  auto out = RunReplogd(run.args, work_dir, 10'000);
  ASSERT_TRUE(out.has_value()) << run.what << ": " << out.error().ToString();
  std::string first_line = out->output.substr(0, out->output.find('\n'));
  std::printf("[ bad flag ] %s: %s; says: %s\n", run.what.c_str(), out->status.ToString().c_str(),
              first_line.c_str());
  EXPECT_EQ(out->status.signal, 0) << run.what << ": crashed instead of refusing:\n" << out->output;
  EXPECT_NE(out->status.code, 0) << run.what << ": exited 0:\n" << out->output;
  const std::string text = Lower(out->output);
  const bool named = std::any_of(run.any_of.begin(), run.any_of.end(),
                                 [&](const std::string& w) { return text.find(w) != std::string::npos; });
  EXPECT_TRUE(named) << run.what << ": the message names none of the expected words:\n" << out->output;
}

TEST(ClusterLifecycleTest, BadFlagsGiveClearErrors) {
  ClusterOptions options;
  options.name = "flags";
  options.members = 1;
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  auto ports = FreeLoopbackPorts(1);
  ASSERT_TRUE(ports.has_value()) << ports.error().ToString();
  const std::string addr = "127.0.0.1:" + std::to_string(ports->at(0));
  const std::string dir = cluster.dir();
  const std::string fresh = dir + "/fresh";

  const std::vector<BadRun> runs = {
      {"no --id", {"--data-dir", fresh, "--listen", addr, "--initial-members", "1=" + addr}, {"id"}},
      {"--id 0", {"--id", "0", "--data-dir", fresh, "--initial-members", "1=" + addr}, {"id"}},
      {"malformed --initial-members",
       {"--id", "1", "--data-dir", fresh, "--initial-members", "1=" + addr + ",two"},
       {"initial-members", "initial_members"}},
      {"--initial-members without this member",
       {"--id", "4", "--data-dir", fresh, "--listen", addr, "--initial-members", "1=" + addr},
       {"initial-members", "initial_members", "member"}},
      {"an unknown flag", {"--id", "1", "--bogus-flag", "x"}, {"bogus-flag"}},
      {"no --data-dir", {"--id", "1", "--initial-members", "1=" + addr}, {"data-dir", "data_dir"}},
      {"a data directory locked by a running member",
       {"--id", "1", "--data-dir", dir + "/data/1", "--listen", addr, "--initial-members", "1=" + addr},
       {"lock"}},
  };
  for (const BadRun& run : runs) ExpectClearFailure(run, dir);

  // The member whose directory was tried is unharmed.
  EXPECT_TRUE(cluster.Running(1)) << cluster.LogTail(1);
  auto servers = cluster.GetServers(1, 2'000);
  EXPECT_TRUE(servers.has_value()) << servers.error().ToString();
}

// The members file (<data_dir>/members, written at a join; docs/cluster.md)
// is read at every start: a damaged one stops the member at once with an
// error naming the file, and the others go on.
TEST(ClusterLifecycleTest, DamagedMembersFileStopsTheStartNamingTheFile) {
  ClusterOptions options;
  options.name = "members-file";
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  auto joined = cluster.Join(cluster.ids());
  ASSERT_TRUE(joined.has_value()) << joined.error().ToString();
  const uint64_t id = *joined;
  // A joiner writes the file before it serves.
  ASSERT_TRUE(cluster.WaitUntil([&] { return cluster.GetServers(id, 200).has_value(); }, 15'000))
      << cluster.LogTail(id);
  auto stopped = cluster.Terminate(id);
  ASSERT_TRUE(stopped.has_value()) << stopped.error().ToString();

  // A torn write: the file loses its final newline.
  const std::string path = cluster.dir() + "/data/" + std::to_string(id) + "/members";
  const std::string text = ReadWholeFile(path);
  ASSERT_FALSE(text.empty()) << "no members file at " << path;
  std::ofstream(path, std::ios::trunc) << text.substr(0, text.size() - 1);

  ASSERT_TRUE(cluster.Restart(id).ok());
  auto exit = cluster.WaitExited(id, 10'000);
  ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
  const std::string launch = cluster.LastLaunchLog(id);
  const std::string said = launch.substr(launch.find('\n') + 1);  // after the launch line
  EXPECT_EQ(exit->signal, 0) << "crashed instead of refusing:\n" << said;
  EXPECT_NE(exit->code, 0) << said;
  EXPECT_NE(said.find(path), std::string::npos) << "the error does not name " << path << ":\n" << said;
  auto leader = cluster.WaitForLeader(5'000);
  EXPECT_TRUE(leader.has_value()) << leader.error().ToString();
}

}  // namespace
}  // namespace cluster_testing
