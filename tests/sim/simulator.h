#pragma once

// The deterministic simulator (RAFT-TESTING.md §9): N members in one
// process, a virtual clock, a network with delay, loss, duplication,
// reordering and partitions, disks that lose what was not durable, crashes,
// restarts and pauses, membership changes, leadership transfers and
// snapshots, and clients running a KV workload. Every choice comes from one
// seeded generator, so a seed replays bit for bit.
//
// Checks: the invariants of §8 after every event; at the end, with every
// fault healed, convergence, every acknowledged write present, and the
// client history linearizable (sim/linearizability.h).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "raft/core/types.h"
#include "sim/invariant_checker.h"
#include "sim/kv_model.h"
#include "sim/sim_node.h"
#include "sim/sim_options.h"
#include "sim/sim_rng.h"

namespace sim {

// The client id of the end-of-run probe writes.
inline constexpr uint64_t kProbeClient = 1'000'000;

struct SimResult {
  bool ok = true;
  std::string failure;        // what broke, for a person
  uint64_t trace_hash = 0;    // hash of every event of the run
  uint64_t events = 0;
  uint64_t ops_ok = 0;        // client operations with a known outcome
  uint64_t ops_unknown = 0;
  uint64_t committed = 0;     // highest committed index
  uint64_t elections = 0;     // distinct leader terms
  std::string knobs;
};

SimResult RunSimulation(const SimOptions& options);

class Simulator {
 public:
  explicit Simulator(const SimOptions& options);
  ~Simulator();
  SimResult Run();

 private:
  // --- events (simulator.cc) ---
  struct Tick { raft::NodeId node; uint64_t incarnation; };
  struct Deliver { raft::Message msg; };
  struct ReadyDone { raft::NodeId node; uint64_t incarnation; };
  struct RequestArrive { raft::NodeId node; ClientRequest req; };
  struct ReplyArrive { ClientReply reply; };
  struct ClientTimeout { uint64_t client; uint64_t seq; };
  struct ClientNext { uint64_t client; };
  struct FaultEvent {};
  struct Restart { raft::NodeId node; };
  struct Resume { raft::NodeId node; };
  struct HealLinks { uint64_t generation; };
  // The transport tells a leader how sending a snapshot went (Raft::ReportSnapshot).
  struct SnapReport { raft::NodeId leader; raft::NodeId to; bool failed; };
  using Payload = std::variant<Tick, Deliver, ReadyDone, RequestArrive, ReplyArrive, ClientTimeout, ClientNext,
                               FaultEvent, Restart, Resume, HealLinks, SnapReport>;
  struct Event {
    int64_t at;
    uint64_t seq;
    Payload payload;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void Schedule(int64_t at, Payload p);
  // Handles every event due in the next `ns` and moves the clock there.
  void RunFor(int64_t ns);
  void Handle(const Payload& p);
  void Trace(const std::string& line);
  void Fail(const std::string& why);
  void StartNode(raft::NodeId id);
  void CrashNode(raft::NodeId id);
  void PumpReady(raft::NodeId id);
  void Send(const raft::Message& m);
  bool LinkUp(raft::NodeId from, raft::NodeId to) const;
  int64_t NetDelay();
  bool Paused(raft::NodeId id) const;
  void OnTick(const Tick& e);
  void OnDeliver(const Deliver& e);
  void OnReadyDone(const ReadyDone& e);
  void OnRequestArrive(const RequestArrive& e);

  // --- faults (sim_faults.cc) ---
  void OnFault();
  void FaultCrash();
  void FaultPartition();
  void FaultPause();
  void FaultTransfer();
  void FaultConfChange();
  void FaultSnapshot();
  void FaultSlowDisk();
  void HealAll();
  // Stops members the applied configuration no longer holds, as an operator
  // would, and starts them again once it holds them again.
  void UpdateMembership();
  void SetupLiveness();
  raft::NodeId CurrentLeader() const;

  // --- clients (sim_clients.cc) ---
  void StartClients();
  void OnClientNext(uint64_t client);
  void OnReply(const ClientReply& r);
  void OnClientTimeout(uint64_t client, uint64_t seq);
  void SendRequest(uint64_t client);
  bool ProbeWrite(int64_t deadline_ns);

  // --- checks (sim_checker.cc) ---
  // Feeds the invariant checker and fails the run on its first violation.
  NodeView ViewOf(const SimNode& n) const;
  void CheckInvariants();
  void CheckApplied(raft::NodeId id, const std::vector<AppliedEntry>& applied);
  void CheckPersisted(raft::NodeId id, const SimNode::Finished& f);
  void CheckEndOfRun();
  void CheckLinearizable();

  SimOptions opt_;
  SimKnobs knobs_;
  Rng rng_;
  int64_t now_ = 0;
  uint64_t next_seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  bool failed_ = false;
  bool faults_on_ = true;
  SimResult result_;
  uint64_t trace_hash_ = 0xcbf29ce484222325ull;

  std::vector<raft::NodeId> ids_;
  std::map<raft::NodeId, std::unique_ptr<SimNode>> nodes_;
  std::map<raft::NodeId, double> drift_;
  std::map<raft::NodeId, int64_t> paused_until_;
  std::map<raft::NodeId, int64_t> slow_disk_until_;  // syncs take 100x longer until then
  std::set<std::pair<raft::NodeId, raft::NodeId>> blocked_;  // (from, to)
  uint64_t link_generation_ = 0;
  std::set<raft::NodeId> broken_;  // liveness: members left broken for good
  std::set<raft::NodeId> removed_;  // stopped because the configuration no longer holds them

  // Clients.
  struct Client {
    uint64_t id = 0;
    uint64_t seq = 0;
    bool busy = false;
    int64_t call_ns = 0;
    ClientRequest req;
    raft::NodeId target = raft::kNoNode;
    int attempts = 0;
  };
  std::vector<Client> clients_;
  raft::NodeId leader_hint_ = raft::kNoNode;
  uint64_t probe_acked_ = 0;  // the end-of-run probe write's last acknowledged seq
  std::vector<lincheck::KvOperation> history_;
  std::set<std::pair<uint64_t, uint64_t>> acked_writes_;

  // Checker state: the invariants (RAFT-TESTING.md §8) and, for the end of
  // the run, the client command applied at each index: index -> (client, seq).
  std::unique_ptr<InvariantChecker> checker_;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> committed_commands_;
};

}  // namespace sim
