// raft_node_bench: a quick throughput check of raft::Node. Three Nodes in one
// process on a LocalNetwork, DurableStorage on PosixFs under a temp
// directory, N closed-loop client threads each proposing one record at a
// time to the leader. Prints records/s and latency percentiles.
//
//   raft_node_bench [clients=64] [seconds=5] [record_bytes=256] [dir=/tmp]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "transport/local_transport.h"

namespace {

class NullSm final : public raft::StateMachine {
 public:
  std::string Apply(const raft::Entry&) override { return {}; }
  common::Status Restore(const raft::Snapshot&) override { return common::Status::Ok(); }
};

struct Member {
  std::unique_ptr<transport::LocalTransport> transport;
  std::unique_ptr<raft::DurableStorage> storage;
  NullSm sm;
  std::unique_ptr<raft::Node> node;
};

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 64;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 5;
  const size_t record = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 256;
  const std::string base = std::string(argc > 4 ? argv[4] : "/tmp") + "/raft_node_bench." + std::to_string(getpid());

  common::PosixFs fs;
  common::RealClock clock;
  transport::LocalNetwork net(clock);
  raft::ConfState cs{.voters = {1, 2, 3}};
  std::vector<Member> members(4);
  if (!fs.CreateDir(base).ok()) return 1;
  for (raft::NodeId id = 1; id <= 3; ++id) {
    Member& m = members[id];
    m.transport = std::make_unique<transport::LocalTransport>(net, id, "n" + std::to_string(id));
    auto st = raft::DurableStorage::Open(fs, base + "/n" + std::to_string(id));
    if (!st.has_value()) {
      std::fprintf(stderr, "%s\n", st.error().ToString().c_str());
      return 1;
    }
    m.storage = std::move(*st);
    if (!m.storage->Bootstrap(cs).ok()) return 1;
    raft::NodeOptions o;
    o.raft.id = id;
    o.tick_ns = 10'000'000;
    for (raft::NodeId p = 1; p <= 3; ++p) o.peers[p] = "n" + std::to_string(p);
    auto n = raft::Node::Start(o, *m.storage, *m.transport, m.sm, clock);
    if (!n.has_value()) {
      std::fprintf(stderr, "%s\n", n.error().ToString().c_str());
      return 1;
    }
    m.node = std::move(*n);
  }
  if (!members[1].node->WaitForLeader(10'000'000'000).ok()) return 1;
  raft::NodeId leader = members[1].node->leader_hint().id;
  raft::Node& ln = *members[leader].node;

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0};
  std::vector<std::vector<int64_t>> lat(clients);
  std::vector<std::thread> threads;
  const int64_t start = clock.NowNanos();
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      std::string payload(record, 'a' + c % 26);
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t t0 = clock.NowNanos();
        auto r = ln.Apply(payload).get();
        if (!r.has_value()) ++errors;
        lat[c].push_back(clock.NowNanos() - t0);
      }
    });
  }
  clock.SleepNanos(int64_t{seconds} * 1'000'000'000);
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = static_cast<double>(clock.NowNanos() - start) / 1e9;
  std::vector<int64_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[static_cast<size_t>(p * (all.size() - 1))] / 1e6; };
  std::printf("clients=%d record=%zu records=%zu records_per_s=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%lu\n",
              clients, record, all.size(), all.size() / elapsed, pct(0.5), pct(0.99), pct(1.0),
              static_cast<unsigned long>(errors.load()));
  for (auto& m : members) m.node.reset();
  for (auto& m : members) m.storage.reset();
  for (auto& m : members) m.transport.reset();
  std::string cmd = "rm -rf " + base;
  return std::system(cmd.c_str()) == 0 ? 0 : 1;
}
