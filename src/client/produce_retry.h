#pragma once

// The retry rules of one Produce (client.h explains them): where the next
// attempt goes, how a failed attempt is classified (rpc_outcome.h), when to
// follow a hint, back off, rediscover or give up, and the error returned.
// ProduceRetry holds the decisions only; its caller carries out each Step,
// with gRPC's sync API and a sleep (Client::Produce) or its callback API and
// a timer (AsyncProduce), so that both follow the same rules. Internal to the
// client library. Not thread-safe: one per operation, used by one thread at a
// time.
//
// Exactly-once (given a ProducerLanes): the first step takes a lane
// (producer_lanes.h) and every kSend step carries its producer id and
// sequence, the same for every attempt, so the leader answers a retry of
// records it already committed with their original offsets. The operation
// gives the lane back when it ends (the kDone step, or Cancelled()): advanced
// when the records are stored, unchanged when certainly none is, retired
// when that is unknown or the server refused the sequence. Answers that only
// exactly-once produces get:
//   - ALREADY_EXISTS (a duplicate whose offsets the server forgot): done,
//     kAlreadyExists saying the records are in the log exactly once.
//   - FAILED_PRECONDITION (out of order, or the producer is unknown: the
//     server forgot it): nothing of the request is stored. Before any
//     attempt with an unknown outcome, the lane is retired and the produce
//     goes on, once, with a new lane (a new producer id at sequence 0, not
//     an idle one: the server may have forgotten those too); after one, the
//     outcome stays unknown and the produce gives up (kDeadlineExceeded).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "client/backoff.h"
#include "client/producer_lanes.h"
#include "client/rpc_outcome.h"
#include "client/types.h"
#include "common/status.h"
#include "replog/v1/log.pb.h"

namespace replog {

class Members;

// One Produce RPC and how it ended.
struct ProduceAttempt {
  std::string address;  // the member it went to
  AttemptClass cls = AttemptClass::kFinal;
  common::Status status;
  LeaderHint hint;
  v1::ProduceResponse response;
};

// The attempt to `address` that ended with `status`; reads the leader hint
// from `ctx`, whose call must have finished.
ProduceAttempt ReadProduceAttempt(const grpc::Status& status, const grpc::ClientContext& ctx,
                                  const std::string& address, v1::ProduceResponse response);

class ProduceRetry {
 public:
  // What the caller does next.
  struct Step {
    enum class Kind {
      kDiscover,  // run a discovery round (DiscoveryRound) until deadline_ns(), then Discovered()
      kSend,      // send the Produce to `target` with `timeout_ns`, then Attempted()
      kWait,      // wait `delay_ns`, then Waited()
      kDone,      // the operation ended with `result`
    };
    Kind kind = Kind::kDone;
    std::string target;
    int64_t timeout_ns = 0;
    uint64_t producer_id = 0;  // kSend: set both on the request (0, 0: exactly-once off)
    uint64_t sequence = 0;
    int64_t delay_ns = 0;
    std::optional<common::Result<ProduceResult>> result;
  };

  // A produce of `records` records (at least one), to finish by deadline_ns;
  // each attempt bounded by attempt_timeout_ns. `members` (the leader as
  // known, hints taken, leaders forgotten) must outlive this, and so must
  // `lanes` (nullptr: exactly-once off, no producer id sent).
  ProduceRetry(Members& members, ProducerLanes* lanes, size_t records, int64_t deadline_ns,
               int64_t attempt_timeout_ns, Backoff backoff);
  // Moving hands the lane over (only before Start() in practice).
  ProduceRetry(ProduceRetry&& other) noexcept;
  ProduceRetry& operator=(ProduceRetry&&) = delete;
  // A lane still held (an operation dropped without an end) is retired.
  ~ProduceRetry();

  // The first step.
  Step Start(int64_t now_ns);
  // After a kDiscover step, with the round's status.
  Step Discovered(const common::Status& discovery, int64_t now_ns);
  // After a kSend step, with how the attempt ended.
  Step Attempted(const ProduceAttempt& attempt, int64_t now_ns);
  // After a kWait step.
  Step Waited(int64_t now_ns);

  // The error of an operation stopped before it finished (its Client is
  // shutting down): kCancelled, saying whether the records may have been
  // committed (`attempt_in_flight`: an attempt was sent and not answered).
  // Gives the lane back (retired when they may have been).
  common::Status Cancelled(bool attempt_in_flight);

  int64_t deadline_ns() const { return deadline_ns_; }

 private:
  Step SendOrWait(const std::string& target, int64_t now_ns);
  Step WaitOrGiveUp(int64_t now_ns);
  // After a final answer.
  Step Refused(const ProduceAttempt& a, int64_t now_ns);
  // Ends the operation with `result`, giving the lane back as `lane_end`.
  Step Done(common::Result<ProduceResult> result, ProducerLanes::End lane_end);
  void ReleaseLane(ProducerLanes::End end);

  Members& members_;
  ProducerLanes* const lanes_;
  std::optional<ProducerLane> lane_;  // held from Start() to the end
  int renewals_ = 0;
  const size_t records_;
  const int64_t deadline_ns_;
  const int64_t attempt_timeout_ns_;
  Backoff backoff_;
  ProduceResult result_;
  common::Status last_;
  int hops_ = 0;
};

// Puts a kSend step's producer id and sequence on `request`.
inline void SetProducer(const ProduceRetry::Step& send, v1::ProduceRequest* request) {
  request->set_producer_id(send.producer_id);
  request->set_sequence(send.sequence);
}

}  // namespace replog
