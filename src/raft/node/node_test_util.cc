#include "raft/node/node_test_util.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/coding.h"

namespace raft::node_testing {

bool Notifier::WaitUntil(const std::function<bool()>& pred, int64_t timeout_ns) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  while (true) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> l(mu_);
      seen = events_;
    }
    if (pred()) return true;
    std::unique_lock<std::mutex> l(mu_);
    // Roles change without an apply: look again at least every 10 ms.
    if (cv_.wait_until(l, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(10)),
                       [&] { return events_ != seen; })) {
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      l.unlock();
      return pred();
    }
  }
}

std::string RecordingSm::Apply(const Entry& e) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (e.index <= last_) ++order_violations_;
    last_ = e.index;
    records_.emplace_back(e.index, e.data);
  }
  notifier_.Notify();
  return "applied:" + e.data;
}

void RecordingSm::ApplyControl(const Entry& e) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (e.index <= last_) ++order_violations_;
    last_ = e.index;
  }
  notifier_.Notify();
}

Status RecordingSm::Restore(const Snapshot& s) {
  std::vector<std::pair<uint64_t, std::string>> records;
  std::string_view rest = s.data;
  while (!rest.empty()) {
    if (rest.size() < 12) return common::DataLossError("recording sm: bad snapshot");
    uint64_t index = common::DecodeFixed64(rest.data());
    uint32_t len = common::DecodeFixed32(rest.data() + 8);
    rest.remove_prefix(12);
    if (rest.size() < len) return common::DataLossError("recording sm: bad snapshot");
    records.emplace_back(index, std::string(rest.substr(0, len)));
    rest.remove_prefix(len);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    records_ = std::move(records);
    last_ = s.meta.index;
    ++restores_;
  }
  notifier_.Notify();
  return Status::Ok();
}

std::vector<std::pair<uint64_t, std::string>> RecordingSm::records() const {
  std::lock_guard<std::mutex> l(mu_);
  return records_;
}

std::vector<std::string> RecordingSm::data() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& r : records_) out.push_back(r.second);
  return out;
}

uint64_t RecordingSm::last_index() const {
  std::lock_guard<std::mutex> l(mu_);
  return last_;
}

uint64_t RecordingSm::restores() const {
  std::lock_guard<std::mutex> l(mu_);
  return restores_;
}

int RecordingSm::order_violations() const {
  std::lock_guard<std::mutex> l(mu_);
  return order_violations_;
}

std::pair<uint64_t, std::string> RecordingSm::Serialize() const {
  std::lock_guard<std::mutex> l(mu_);
  std::string out;
  for (const auto& [index, data] : records_) {
    common::PutFixed64(&out, index);
    common::PutFixed32(&out, static_cast<uint32_t>(data.size()));
    out += data;
  }
  return {last_, out};
}

TestCluster::TestCluster(int n, ClusterOptions options) : options_(options) {
  for (NodeId id = 1; id <= static_cast<NodeId>(n); ++id) initial_.voters.push_back(id);
  for (NodeId id : initial_.voters) AddMember(id, true);
  for (NodeId id : initial_.voters) EXPECT_TRUE(Start(id).ok());
}

TestCluster::~TestCluster() {
  for (auto& [id, m] : members_) {
    m->node.reset();
    m->storage.reset();
  }
  for (auto& [id, m] : members_) m->transport.reset();
}

std::vector<NodeId> TestCluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) out.push_back(id);
  return out;
}

std::vector<NodeId> TestCluster::running() const {
  std::vector<NodeId> out;
  for (const auto& [id, m] : members_) {
    if (m->node) out.push_back(id);
  }
  return out;
}

void TestCluster::AddMember(NodeId id, bool bootstrap) {
  auto m = std::make_unique<Member>();
  m->id = id;
  m->transport = std::make_unique<transport::LocalTransport>(net_, id, Address(id));
  if (bootstrap) {
    storage::Options so;
    so.preallocate = false;
    so.max_segment_entries = 1024;
    auto s = DurableStorage::Open(*m->fs, "/raft", so);
    EXPECT_TRUE(s.has_value());
    if (s.has_value()) {
      EXPECT_TRUE((*s)->Bootstrap(initial_).ok());
    }
  }
  members_[id] = std::move(m);
}

Status TestCluster::Start(NodeId id) {
  Member& m = member(id);
  storage::Options so;
  so.preallocate = false;
  so.max_segment_entries = 1024;
  ASSIGN_OR_RETURN(m.storage, DurableStorage::Open(*m.fs, "/raft", so));
  m.sm = std::make_unique<RecordingSm>(notifier_);
  NodeOptions o;
  o.raft.id = id;
  o.raft.election_tick = options_.election_tick;
  o.raft.heartbeat_tick = 1;
  o.tick_ns = options_.tick_ns;
  o.max_pending_proposals = options_.max_pending_proposals;
  o.default_timeout_ns = options_.default_timeout_ns;
  for (const auto& [pid, pm] : members_) o.peers[pid] = Address(pid);
  o.on_fatal = [calls = m.fatal_calls](const Status&) { calls->fetch_add(1); };
  ASSIGN_OR_RETURN(m.node, Node::Start(o, *m.storage, *m.transport, *m.sm, clock_));
  return Status::Ok();
}

void TestCluster::Stop(NodeId id) {
  Member& m = member(id);
  m.node.reset();
  m.storage.reset();
}

NodeId TestCluster::WaitForLeader(const std::set<NodeId>& exclude, int64_t timeout_ns) {
  NodeId found = kNoNode;
  WaitUntil(
      [&] {
        found = kNoNode;
        for (NodeId id : running()) {
          if (exclude.contains(id)) continue;
          NodeStatus st = node(id).GetStatus();
          if (st.role == Role::kLeader) found = id;
        }
        if (found == kNoNode) return false;
        for (NodeId id : running()) {
          if (!exclude.contains(id) && node(id).leader_hint().id != found) return false;
        }
        return true;
      },
      timeout_ns);
  return found != kNoNode && node(found).GetStatus().role == Role::kLeader ? found : kNoNode;
}

bool TestCluster::WaitConverged(NodeId id, const std::set<NodeId>& exclude, int64_t timeout_ns) {
  return WaitUntil(
      [&] {
        auto want = sm(id).records();
        for (NodeId other : running()) {
          if (exclude.contains(other)) continue;
          if (sm(other).records() != want) return false;
        }
        return true;
      },
      timeout_ns);
}

Result<ApplyResult> TestCluster::ApplyOnLeader(const std::string& cmd, int64_t timeout_ns) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout_ns);
  Status last = common::UnavailableError("no leader");
  while (std::chrono::steady_clock::now() < deadline) {
    NodeId leader = WaitForLeader({}, timeout_ns);
    if (leader == kNoNode) break;
    Result<ApplyResult> r = node(leader).Apply(cmd).get();
    if (r.has_value()) return r;
    last = r.error();
    if (last.code() != common::Code::kUnavailable && last.code() != common::Code::kAborted) return last;
  }
  return last;
}

}  // namespace raft::node_testing
