// The metrics endpoint of real replogd processes (issue 7): scraped during a
// produce run, every member shows the right leader and non-zero fsync
// histograms, the leader a non-zero produce histogram; /healthz and /readyz
// answer.

#include <httplib.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "metrics/exposition_parse.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

struct Scrape {
  int status = 0;
  std::string body;
};

Scrape Get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(2);
  httplib::Result res = client.Get(path);
  if (!res) return {};
  return {res->status, res->body};
}

double Value(const metrics::Exposition& e, const std::string& name, const metrics::Labels& labels) {
  const metrics::Sample* s = e.Find(name, labels);
  return s == nullptr ? -1 : s->value;
}

TEST(ClusterMetricsTest, AScrapeDuringAProduceRunShowsProduceFsyncAndTheLeader) {
  auto ports = FreeLoopbackPorts(3);
  ASSERT_TRUE(ports.has_value()) << ports.error().ToString();
  std::map<uint64_t, int> metrics_port;
  for (uint64_t id = 1; id <= 3; ++id) metrics_port[id] = (*ports)[id - 1];
  ClusterOptions o;
  o.name = "metrics";
  o.member_args = [&](uint64_t id) {
    return std::vector<std::string>{"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port.at(id))};
  };
  auto started = StartWithClient(o);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& c = *started->cluster;
  for (uint64_t id : c.ids()) EXPECT_EQ(Get(metrics_port[id], "/healthz").status, 200) << id;

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0};
  std::thread producer([&] {
    while (!stop.load()) {
      if (started->client->Produce({replog::Record{.value = std::string(256, 'm')}}).has_value()) ++acked;
    }
  });
  ASSERT_TRUE(c.WaitUntil([&] { return acked.load() >= 200; }, 20'000));
  // During the run.
  const uint64_t leader = c.LeaderId();
  ASSERT_NE(leader, 0u);
  std::map<uint64_t, metrics::Exposition> scraped;
  for (uint64_t id : c.ids()) {
    Scrape s = Get(metrics_port[id], "/metrics");
    ASSERT_EQ(s.status, 200) << "member " << id;
    auto e = metrics::ParseExposition(s.body);
    ASSERT_TRUE(e.has_value()) << "member " << id << ": " << e.error().ToString();
    scraped[id] = std::move(*e);
  }
  stop.store(true);
  producer.join();

  for (const auto& [id, e] : scraped) {
    SCOPED_TRACE("member " + std::to_string(id));
    EXPECT_EQ(Value(e, "replog_raft_leader_id", {{"group", "log"}}), static_cast<double>(leader));
    EXPECT_GT(Value(e, "replog_storage_fsync_seconds_count", {{"group", "log"}}), 0);
    EXPECT_GT(Value(e, "replog_raft_commit_index", {{"group", "log"}}), 200);
    EXPECT_EQ(Value(e, "replog_raft_role", {{"group", "log"}, {"role", id == leader ? "leader" : "follower"}}), 1);
  }
  const metrics::Exposition& l = scraped[leader];
  EXPECT_GT(Value(l, "replog_produce_seconds_count", {}), 0);
  EXPECT_GT(Value(l, "replog_produced_records_total", {}), 0);
  EXPECT_GT(Value(l, "replog_grpc_requests_total", {{"method", "/replog.v1.Log/Produce"}, {"code", "OK"}}), 0);
  EXPECT_EQ(l.FindAll("replog_raft_follower_match_index", {{"group", "log"}}).size(), 2u);
  EXPECT_EQ(Get(metrics_port[leader], "/readyz").status, 200);
}

}  // namespace
}  // namespace cluster_testing
