// The simulator's event loop, nodes and network.

#include "sim/simulator.h"

#include "sim/sim_fs_disk.h"

#include <cinttypes>
#include <algorithm>
#include <cstdio>


namespace sim {

std::string SimKnobs::Describe() const {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "tick=%" PRId64 "ms election=%d heartbeat=%d drift=%.3f prevote=%d checkquorum=%d lease=%d "
                "max_msg=%" PRIu64 " inflight=%zu snapshot_every=%" PRIu64 " keep=%" PRIu64
                " net=%" PRId64 "+exp(%" PRId64 ")us drop=%.3f dup=%.3f long_delay=%.3f disk=exp(%" PRId64
                ")us faults=exp(%" PRId64 ")ms read_index=%.2f",
                tick_ns / 1'000'000, election_tick, heartbeat_tick, drift, pre_vote, check_quorum, lease_reads,
                max_size_per_msg, max_inflight, snapshot_every, snapshot_keep, net_min_ns / 1000,
                net_mean_ns / 1000, drop, dup, long_delay, disk_mean_ns / 1000, fault_mean_ns / 1'000'000,
                read_index_share);
  return buf;
}

namespace {

SimKnobs DrawKnobs(Rng& rng, bool liveness) {
  SimKnobs k;
  k.election_tick = static_cast<int>(rng.Range(8, 20));
  k.heartbeat_tick = static_cast<int>(rng.Range(1, 3));
  k.drift = rng.Unit() * 0.05;
  k.pre_vote = liveness || rng.Chance(0.8);
  k.check_quorum = liveness || rng.Chance(0.8);
  // Lease reads are only safe with check_quorum and bounded drift; the
  // election timeout leaves room for 5% drift.
  k.lease_reads = k.check_quorum && rng.Chance(0.2);
  k.max_size_per_msg = rng.Chance(0.3) ? 1 : (1 << 20);           // BUGGIFY: one entry per append
  k.max_inflight = rng.Chance(0.3) ? 1 : static_cast<size_t>(rng.Range(2, 64));
  k.snapshot_every = rng.Chance(0.5) ? static_cast<uint64_t>(rng.Range(5, 50)) : 0;
  k.snapshot_keep = static_cast<uint64_t>(rng.Range(0, 10));
  k.net_min_ns = rng.Range(50, 500) * 1000;
  k.net_mean_ns = rng.Range(100, 3000) * 1000;
  k.drop = rng.Chance(0.5) ? rng.Unit() * 0.1 : 0.0;
  k.dup = rng.Chance(0.5) ? rng.Unit() * 0.05 : 0.0;
  k.long_delay = rng.Chance(0.3) ? rng.Unit() * 0.01 : 0.0;
  k.disk_mean_ns = rng.Range(50, 3000) * 1000;
  k.fault_mean_ns = rng.Range(50, 1500) * 1'000'000;
  k.read_index_share = rng.Unit() * 0.6;
  return k;
}

}  // namespace

Simulator::Simulator(const SimOptions& options) : opt_(options), rng_(options.seed) {
  knobs_ = DrawKnobs(rng_, opt_.liveness);
  result_.knobs = knobs_.Describe();
  raft::ConfState cs;
  for (int i = 1; i <= opt_.nodes; ++i) {
    ids_.push_back(static_cast<raft::NodeId>(i));
    cs.voters.push_back(static_cast<raft::NodeId>(i));
  }
  InvariantChecker::Options copt;
  copt.max_inflight = knobs_.max_inflight;
  copt.note = [this](const std::string& line) { Trace(line); };
  checker_ = std::make_unique<InvariantChecker>(cs, std::move(copt));
  for (raft::NodeId id : ids_) {
    raft::Config c;
    c.election_tick = knobs_.election_tick;
    c.heartbeat_tick = knobs_.heartbeat_tick;
    c.pre_vote = knobs_.pre_vote;
    c.check_quorum = knobs_.check_quorum;
    c.read_only = knobs_.lease_reads ? raft::ReadOnlyOption::kLeaseBased : raft::ReadOnlyOption::kSafe;
    c.max_size_per_msg = knobs_.max_size_per_msg;
    c.max_inflight_msgs = knobs_.max_inflight;
    c.max_uncommitted_entries_size = 1 << 20;
    c.seed = opt_.seed * 131 + id;
    std::unique_ptr<SimDisk> disk;
    if (opt_.memory_disk) {
      disk = std::make_unique<MemDisk>(cs);
    } else {
      disk = std::make_unique<FsDisk>(cs);
    }
    nodes_[id] = std::make_unique<SimNode>(id, std::move(disk), c);
    drift_[id] = 1.0 + (rng_.Unit() * 2 - 1) * knobs_.drift;
  }
}

Simulator::~Simulator() = default;

void Simulator::Schedule(int64_t at, Payload p) { queue_.push(Event{at, next_seq_++, std::move(p)}); }

void Simulator::Trace(const std::string& line) {
  for (unsigned char ch : line) {
    trace_hash_ ^= ch;
    trace_hash_ *= 0x100000001b3ull;
  }
  trace_hash_ ^= '\n';
  trace_hash_ *= 0x100000001b3ull;
  if (opt_.trace) std::printf("%10.3fms %s\n", static_cast<double>(now_) / 1e6, line.c_str());
}

void Simulator::Fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  result_.ok = false;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "at %.3f ms: ", static_cast<double>(now_) / 1e6);
  result_.failure = buf + why;
  Trace("FAIL " + why);
}

bool Simulator::Paused(raft::NodeId id) const {
  auto it = paused_until_.find(id);
  return it != paused_until_.end() && it->second > now_;
}

int64_t Simulator::NetDelay() {
  int64_t d = knobs_.net_min_ns + rng_.Exponential(knobs_.net_mean_ns);
  if (knobs_.long_delay > 0 && rng_.Chance(knobs_.long_delay)) d += rng_.Range(0, 1'000'000'000);
  return d;
}

bool Simulator::LinkUp(raft::NodeId from, raft::NodeId to) const { return !blocked_.contains({from, to}); }

void Simulator::StartNode(raft::NodeId id) {
  SimNode& n = *nodes_.at(id);
  if (n.up()) return;
  common::Status st = n.Start();
  if (!st.ok()) {
    Fail("node " + std::to_string(id) + " failed to restart: " + st.ToString());
    return;
  }
  Trace("start " + std::to_string(id) + " term=" + std::to_string(n.raft().term()) +
        " commit=" + std::to_string(n.raft().log().committed()) + " last=" + std::to_string(n.raft().log().last_index()) +
        " applied=" + std::to_string(n.applied()));
  checker_->NodeStarted(ViewOf(n));
  Schedule(now_ + static_cast<int64_t>(static_cast<double>(knobs_.tick_ns) * drift_[id]), Tick{id, n.incarnation()});
}

void Simulator::CrashNode(raft::NodeId id) {
  SimNode& n = *nodes_.at(id);
  if (!n.up()) return;
  Trace("crash " + std::to_string(id));
  n.Crash(rng_.Next());
}

void Simulator::Send(const raft::Message& m) {
  bool snap = m.type == raft::MessageType::kSnap;
  if (!LinkUp(m.from, m.to) || (knobs_.drop > 0 && rng_.Chance(knobs_.drop))) {
    // A snapshot stream that breaks is reported to the leader, which retries.
    if (snap) Schedule(now_ + NetDelay() * 10, SnapReport{m.from, m.to, true});
    return;
  }
  int64_t delay = NetDelay();
  Schedule(now_ + delay, Deliver{m});
  if (snap) Schedule(now_ + delay + NetDelay(), SnapReport{m.from, m.to, false});
  if (knobs_.dup > 0 && rng_.Chance(knobs_.dup)) Schedule(now_ + NetDelay(), Deliver{m});
}

void Simulator::PumpReady(raft::NodeId id) {
  SimNode& n = *nodes_.at(id);
  if (!n.up() || n.busy() || Paused(id) || !n.raft().HasReady()) return;
  std::vector<raft::Message> early = n.BeginReady();
  for (const raft::Message& m : early) Send(m);
  int64_t latency = n.ready_must_sync() ? rng_.Exponential(knobs_.disk_mean_ns) + 1 : 1;
  // A slow disk: the leader's own write may finish long after its followers'.
  auto slow = slow_disk_until_.find(id);
  if (slow != slow_disk_until_.end() && slow->second > now_) latency *= 100;
  Schedule(now_ + latency, ReadyDone{id, n.incarnation()});
}

void Simulator::OnTick(const Tick& e) {
  SimNode& n = *nodes_.at(e.node);
  if (!n.up() || n.incarnation() != e.incarnation) return;  // a tick of a dead process
  if (!Paused(e.node)) n.raft().Tick();
  int64_t period = static_cast<int64_t>(static_cast<double>(knobs_.tick_ns) * drift_[e.node]);
  Schedule(now_ + period, Tick{e.node, e.incarnation});
  if (knobs_.snapshot_every > 0 && n.applied() >= n.disk().LatestSnapshot().meta.index + knobs_.snapshot_every &&
      !n.busy()) {
    common::Status st = n.TakeSnapshot(knobs_.snapshot_keep);
    if (!st.ok()) Fail("snapshot on node " + std::to_string(e.node) + ": " + st.ToString());
  }
}

void Simulator::OnDeliver(const Deliver& e) {
  SimNode& n = *nodes_.at(e.msg.to);
  if (!n.up()) return;
  if (Paused(e.msg.to)) {
    Schedule(paused_until_.at(e.msg.to), e);  // sits in the socket until the process runs again
    return;
  }
  Trace(std::string("deliver ") + raft::MessageTypeName(e.msg.type) + " " + std::to_string(e.msg.from) + "->" +
        std::to_string(e.msg.to) + " t" + std::to_string(e.msg.term) + " i" + std::to_string(e.msg.index) +
        " lt" + std::to_string(e.msg.log_term) + " n" + std::to_string(e.msg.entries.size()) + " c" +
        std::to_string(e.msg.commit) + (e.msg.reject ? " reject" : "") +
        (e.msg.snapshot ? " snap@" + std::to_string(e.msg.snapshot->meta.index) + "t" +
                              std::to_string(e.msg.snapshot->meta.term) + " voters " +
                              std::to_string(e.msg.snapshot->meta.conf_state.voters.size()) + " learners " +
                              std::to_string(e.msg.snapshot->meta.conf_state.learners.size())
                        : ""));
  common::Status st = n.raft().Step(e.msg);
  if (!st.ok() && st.code() != common::Code::kUnavailable && st.code() != common::Code::kFailedPrecondition) {
    Fail("node " + std::to_string(e.msg.to) + " step: " + st.ToString());
  }
}

void Simulator::OnReadyDone(const ReadyDone& e) {
  SimNode& n = *nodes_.at(e.node);
  if (!n.up() || n.incarnation() != e.incarnation || !n.busy()) return;
  if (Paused(e.node)) {
    Schedule(paused_until_.at(e.node), e);
    return;
  }
  auto done = n.FinishReady();
  if (!done.has_value()) {
    Fail("node " + std::to_string(e.node) + " persist: " + done.error().ToString());
    return;
  }
  CheckPersisted(e.node, *done);
  for (const raft::Message& m : done->messages) Send(m);
  CheckApplied(e.node, done->applied);
  for (const ClientReply& r : done->replies) Schedule(now_ + NetDelay(), ReplyArrive{r});
}

void Simulator::OnRequestArrive(const RequestArrive& e) {
  SimNode& n = *nodes_.at(e.node);
  if (!n.up() || Paused(e.node)) return;  // lost: the client times out
  auto reply = n.HandleRequest(e.req);
  if (reply) Schedule(now_ + NetDelay(), ReplyArrive{*reply});
}

void Simulator::Handle(const Payload& p) {
  std::visit(
      [this](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, Tick>) {
          OnTick(e);
        } else if constexpr (std::is_same_v<T, Deliver>) {
          OnDeliver(e);
        } else if constexpr (std::is_same_v<T, ReadyDone>) {
          OnReadyDone(e);
        } else if constexpr (std::is_same_v<T, RequestArrive>) {
          OnRequestArrive(e);
        } else if constexpr (std::is_same_v<T, ReplyArrive>) {
          OnReply(e.reply);
        } else if constexpr (std::is_same_v<T, ClientTimeout>) {
          OnClientTimeout(e.client, e.seq);
        } else if constexpr (std::is_same_v<T, ClientNext>) {
          OnClientNext(e.client);
        } else if constexpr (std::is_same_v<T, FaultEvent>) {
          if (faults_on_) OnFault();
        } else if constexpr (std::is_same_v<T, Restart>) {
          if (!broken_.contains(e.node) && !removed_.contains(e.node)) StartNode(e.node);
        } else if constexpr (std::is_same_v<T, Resume>) {
          Trace("resume " + std::to_string(e.node));
        } else if constexpr (std::is_same_v<T, SnapReport>) {
          SimNode& n = *nodes_.at(e.leader);
          if (n.up() && !Paused(e.leader)) n.raft().ReportSnapshot(e.to, e.failed);
        } else if constexpr (std::is_same_v<T, HealLinks>) {
          if (e.generation == link_generation_ && broken_.empty()) {
            blocked_.clear();
            Trace("heal links");
          }
        }
      },
      p);
  // Whatever the event touched may have work to hand out.
  for (raft::NodeId id : ids_) PumpReady(id);
}

void Simulator::RunFor(int64_t ns) {
  int64_t until = now_ + ns;
  while (!failed_ && !queue_.empty() && queue_.top().at <= until) {
    Event ev = queue_.top();
    queue_.pop();
    now_ = ev.at;
    ++result_.events;
    Handle(ev.payload);
    if (!failed_) CheckInvariants();
  }
  now_ = std::max(now_, until);
}

SimResult Simulator::Run() {
  Trace("seed " + std::to_string(opt_.seed) + " nodes " + std::to_string(opt_.nodes) + " " + knobs_.Describe());
  for (raft::NodeId id : ids_) StartNode(id);
  if (opt_.liveness) SetupLiveness();
  StartClients();
  Schedule(rng_.Exponential(knobs_.fault_mean_ns), FaultEvent{});
  RunFor(opt_.fault_ms * 1'000'000);
  if (!failed_) {
    faults_on_ = false;
    HealAll();
    RunFor(opt_.heal_ms * 1'000'000);
  }
  if (!failed_) CheckEndOfRun();
  if (!failed_) CheckLinearizable();
  result_.trace_hash = trace_hash_;
  result_.elections = checker_->leader_terms();
  result_.committed = checker_->highest_applied();
  return result_;
}

SimResult RunSimulation(const SimOptions& options) {
  Simulator s(options);
  return s.Run();
}

}  // namespace sim
