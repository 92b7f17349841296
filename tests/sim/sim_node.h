#pragma once

// One simulated member: a Raft core on a SimDisk, the KV state machine it
// applies to, and the client requests it is serving. The simulator drives
// it; it never reads a clock or draws a random number itself.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raft/core/raft.h"
#include "sim/invariant_checker.h"
#include "sim/sim_disk.h"
#include "sim/sim_kv.h"

namespace sim {

// A request from a client to a node.
struct ClientRequest {
  uint64_t client = 0;
  uint64_t seq = 0;
  lincheck::KvInput input;
  bool read_index = false;  // a get served by ReadIndex instead of through the log
};

// A node's answer. `rejected`: the request had no effect (not the leader,
// dropped), so the client may retry it elsewhere.
struct ClientReply {
  uint64_t client = 0;
  uint64_t seq = 0;
  bool rejected = false;
  lincheck::KvOutput output;
};

class SimNode {
 public:
  SimNode(raft::NodeId id, std::unique_ptr<SimDisk> disk, raft::Config config);

  // Starts the process on its disk: loads the newest snapshot into the state
  // machine and creates the core. Errors come from the disk.
  common::Status Start();
  // Kills the process: the core, the state machine and pending requests are
  // gone; the disk keeps what was durable (`seed` picks how the rest is lost).
  void Crash(uint64_t seed);
  bool up() const { return raft_ != nullptr; }

  raft::NodeId id() const { return id_; }
  raft::Raft& raft() { return *raft_; }
  const raft::Raft& raft() const { return *raft_; }
  SimDisk& disk() { return *disk_; }
  const KvStateMachine& kv() const { return kv_; }
  uint64_t applied() const { return applied_; }
  uint64_t incarnation() const { return incarnation_; }
  const raft::ConfState& applied_conf() const { return applied_conf_; }

  // Handles a client request; may answer at once (a rejection).
  std::optional<ClientReply> HandleRequest(const ClientRequest& r);

  // Ready handling, split so that the simulator can put disk latency (and
  // crashes) between the phases. BeginReady takes the Ready and returns the
  // messages that may leave now; FinishReady persists, applies and returns
  // the messages that had to wait, plus client replies.
  bool busy() const { return ready_.has_value(); }
  std::vector<raft::Message> BeginReady();
  bool ready_must_sync() const { return ready_ && ready_->must_sync; }
  struct Finished {
    std::vector<raft::Message> messages;
    std::vector<ClientReply> replies;
    std::vector<AppliedEntry> applied;
    std::optional<raft::HardState> hard_state;  // the hard state persisted
    std::vector<std::pair<uint64_t, uint64_t>> persisted;  // (index, term) of the entries made durable
    uint64_t persisted_snapshot = 0;                       // index of a snapshot made durable (0: none)
  };
  common::Result<Finished> FinishReady();

  // Takes a snapshot of the state machine at the applied index and compacts
  // the log, keeping `keep` entries before it.
  common::Status TakeSnapshot(uint64_t keep);

 private:
  void ApplyEntry(const raft::Entry& e, Finished& out);
  void ServeReads(Finished& out);

  const raft::NodeId id_;
  std::unique_ptr<SimDisk> disk_;
  raft::Config config_;
  std::unique_ptr<raft::Raft> raft_;
  KvStateMachine kv_;
  uint64_t applied_ = 0;
  raft::ConfState applied_conf_;
  uint64_t incarnation_ = 0;
  std::optional<raft::Ready> ready_;
  // Proposals made here, by (client, seq), waiting to be applied here.
  std::set<std::pair<uint64_t, uint64_t>> proposals_;
  // ReadIndex requests: by context, then (once their ReadState came) by index.
  std::map<std::string, ClientRequest> reads_waiting_index_;
  std::multimap<uint64_t, ClientRequest> reads_waiting_apply_;
};

}  // namespace sim
