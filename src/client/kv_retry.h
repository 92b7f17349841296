#pragma once

// The retry rules of one KV write and one KV read (kv_client.h explains
// them): where the next attempt goes, how a failed attempt is classified
// (rpc_outcome.h), when to follow a hint, back off, learn the members again
// or give up, and the error returned. KvWriteRetry and KvReadRetry hold the
// decisions only; their caller carries out each Step, with gRPC's sync API
// and a sleep (KvClient::Put, Get, ...) or its callback API and a timer
// (kv_async.h), so that both follow the same rules. Internal to the client
// library. Not thread-safe: one per operation, used by one thread at a time.
//
// Exactly-once (given a ProducerLanes): a write takes a lane
// (producer_lanes.h) in Start() and every kSend step carries its session
// (client id, sequence), the same for every attempt. The write gives the
// lane back when it ends (the kDone step, or Cancelled()): advanced when it
// was applied, unchanged when it certainly was not (or INVALID_ARGUMENT),
// retired when that is unknown or the server refused the sequence.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "client/backoff.h"
#include "client/kv_client.h"
#include "client/producer_lanes.h"
#include "client/rpc_outcome.h"
#include "common/status.h"
#include "replog/v1/kv.pb.h"

namespace replog {

class Members;

// The KV group's leader as a KvClient last learned it, from a hint or an
// answered write ("" when none is known). Thread-safe.
class KvLeader {
 public:
  std::string address() const;
  void Set(const std::string& address);
  // Forgets the leader if it is still `address` (a write to it failed).
  void Forget(const std::string& address);

 private:
  mutable std::mutex mu_;
  std::string address_;
};

// One write RPC and how it ended.
struct KvWriteAttempt {
  std::string address;  // the member it went to
  AttemptClass cls = AttemptClass::kFinal;
  common::Status status;  // "<op> to <address>: ..."
  LeaderHint hint;
};

// The attempt of write `op` to `address` that ended with `status`; reads
// the leader hint from `ctx`, whose call must have finished.
KvWriteAttempt ReadKvWriteAttempt(const grpc::Status& status, const grpc::ClientContext& ctx,
                                  const std::string& address, const std::string& op);

class KvWriteRetry {
 public:
  // What the caller does next.
  struct Step {
    enum class Kind {
      kSend,  // send the write to `target` with `timeout_ns` and `session`, then Attempted()
      kWait,  // wait `delay_ns`, then Waited()
      kDone,  // the write ended with `status` (OK: the last attempt's response is its result)
    };
    Kind kind = Kind::kDone;
    std::string target;
    int64_t timeout_ns = 0;
    v1::WriteSession session;  // (0, 0): exactly-once off
    int64_t delay_ns = 0;
    common::Status status;
  };

  // A write named `op` ("put", ...) to finish by deadline_ns, each attempt
  // bounded by attempt_timeout_ns. `members` (where a write goes when no
  // leader is known), `leader` (learned and forgotten here) and `lanes`
  // (nullptr: exactly-once off) must outlive this.
  KvWriteRetry(Members& members, KvLeader& leader, ProducerLanes* lanes, std::string op, int64_t deadline_ns,
               int64_t attempt_timeout_ns, Backoff backoff);
  // Moving hands the lane over (only before Start() in practice).
  KvWriteRetry(KvWriteRetry&& other) noexcept;
  KvWriteRetry& operator=(KvWriteRetry&&) = delete;
  // A lane still held (an operation dropped without an end) is retired.
  ~KvWriteRetry();

  // The first step.
  Step Start(int64_t now_ns);
  // After a kSend step, with how the attempt ended.
  Step Attempted(const KvWriteAttempt& attempt, int64_t now_ns);
  // After a kWait step.
  Step Waited(int64_t now_ns);
  // The error of a write stopped before it finished (its KvClient is
  // shutting down): kCancelled, saying whether it may have been applied
  // (`attempt_in_flight`: an attempt was sent and not answered, or an
  // earlier one's outcome was unknown). Gives the lane back.
  common::Status Cancelled(bool attempt_in_flight);

  // The session, attempts and member that answered, so far.
  const WriteInfo& info() const { return info_; }

 private:
  // To target_ unless the deadline has passed.
  Step SendOrGiveUp(int64_t now_ns);
  // Backs off, or gives up when the wait would pass the deadline.
  Step WaitOrGiveUp(int64_t now_ns);
  Step GiveUp();
  // After a final answer `s`.
  Step Refused(const common::Status& s, int64_t now_ns);
  // Ends the write with `status`, giving the lane back as `lane_end`.
  Step Done(common::Status status, ProducerLanes::End lane_end);
  void ReleaseLane(ProducerLanes::End end);
  std::string TargetWithoutHint() const;

  Members& members_;
  KvLeader& leader_;
  ProducerLanes* const lanes_;
  std::optional<ProducerLane> lane_;  // held from Start() to the end
  const std::string op_;
  const int64_t deadline_ns_;
  const int64_t attempt_timeout_ns_;
  Backoff backoff_;
  WriteInfo info_;
  std::string target_;
  common::Status last_;
  int hops_ = 0;
  int renewals_ = 0;
};

class KvReadRetry {
 public:
  // What the caller does next.
  struct Step {
    enum class Kind {
      kSend,      // send the read to `target` with `timeout_ns`, then Attempted()
      kWait,      // wait `delay_ns`, then Waited()
      kDiscover,  // learn the members (a discovery round until deadline_ns()), then Discovered()
      kDone,      // the read ended with `status` (OK: served_by()'s response is its result)
    };
    Kind kind = Kind::kDone;
    std::string target;
    int64_t timeout_ns = 0;
    int64_t delay_ns = 0;
    common::Status status;
  };

  // A read named `op` ("get", "scan") over the members in read order, to
  // finish by deadline_ns, each attempt bounded by attempt_timeout_ns.
  // `leader` (the KV group's, "" when unknown) goes first with
  // ReadFrom::kLeader and last with kFollower; kAny takes the members round
  // robin. `members` must outlive this.
  KvReadRetry(Members& members, std::string op, int64_t deadline_ns, int64_t attempt_timeout_ns, Backoff backoff,
              ReadFrom from = ReadFrom::kAny, std::string leader = "");

  // The first step.
  Step Start(int64_t now_ns);
  // After a kSend step, with the status the attempt ended with.
  Step Attempted(const grpc::Status& status, int64_t now_ns);
  // After a kWait step.
  Step Waited(int64_t now_ns);
  // After a kDiscover step, whatever the round's status (a round that failed
  // leaves the old view, which is tried again).
  Step Discovered(int64_t now_ns);
  // The error of a read stopped before it finished (kCancelled); a read
  // changes nothing, so whether an attempt was in flight does not matter
  // (the parameter is KvWriteRetry::Cancelled()'s).
  common::Status Cancelled(bool attempt_in_flight) const;

  int64_t deadline_ns() const { return deadline_ns_; }
  // The member whose answer ended the read ("" before).
  const std::string& served_by() const { return served_by_; }

 private:
  // The next member of this round, or a wait before the next round.
  Step Next(int64_t now_ns);
  // The error of a read that gives up: the last attempt's, or (none made)
  // UNAVAILABLE.
  common::Status GiveUp() const;

  Members& members_;
  const std::string op_;
  const int64_t deadline_ns_;
  const int64_t attempt_timeout_ns_;
  Backoff backoff_;
  const ReadFrom from_;
  const std::string leader_;
  std::vector<std::string> order_;  // this round's members
  size_t next_ = 0;
  std::string sent_;  // the member of the attempt in flight
  std::string served_by_;
  common::Status last_;  // of the last attempt that failed; OK before
};

}  // namespace replog
