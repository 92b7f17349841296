#include "client/produce_retry.h"

#include <algorithm>
#include <utility>

#include "client/client_internal.h"
#include "client/members.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

// The error of a Produce that gave up (contract in client.h).
Status GiveUp(const Status& last, bool unknown, uint32_t attempts) {
  std::string tail = std::to_string(attempts) + " attempt(s); last error: " + last.ToString();
  if (unknown) {
    return Status(Code::kDeadlineExceeded,
                  "produce: outcome unknown, the records may have been committed (an attempt timed out or "
                  "lost its connection after sending); gave up after " + tail);
  }
  return common::UnavailableError("produce: no leader committed the records in time, none were committed; " + tail);
}

// The result of the attempt to `target` that succeeded.
Result<ProduceResult> Accepted(const v1::ProduceResponse& response, const std::string& target, size_t records,
                               ProduceResult result) {
  if (response.offsets_size() != static_cast<int>(records)) {
    return common::InternalError("produce to " + target + ": " + std::to_string(response.offsets_size()) +
                                 " offsets for " + std::to_string(records) + " records");
  }
  result.offsets.assign(response.offsets().begin(), response.offsets().end());
  result.leader_address = target;
  return result;
}

// The error of an exactly-once produce the server answered ALREADY_EXISTS.
Status AlreadyStored(const Status& answer, const ProducerLane& lane, size_t records) {
  return Status(Code::kAlreadyExists,
                "produce: the records are in the log exactly once (producer " + std::to_string(lane.producer_id) +
                    ", sequences " + std::to_string(lane.next_sequence) + ".." +
                    std::to_string(lane.next_sequence + records - 1) +
                    "), but the server no longer remembers their offsets; " + answer.message());
}

}  // namespace

ProduceAttempt ReadProduceAttempt(const grpc::Status& status, const grpc::ClientContext& ctx,
                                  const std::string& address, v1::ProduceResponse response) {
  ProduceAttempt a;
  a.address = address;
  a.hint = ReadLeaderHint(ctx);
  a.cls = ClassifyProduce(status, a.hint);
  a.status = FromGrpc(status, "produce to " + address);
  a.response = std::move(response);
  return a;
}

ProduceRetry::ProduceRetry(Members& members, ProducerLanes* lanes, size_t records, int64_t deadline_ns,
                           int64_t attempt_timeout_ns, Backoff backoff)
    : members_(members),
      lanes_(lanes),
      records_(records),
      deadline_ns_(deadline_ns),
      attempt_timeout_ns_(attempt_timeout_ns),
      backoff_(std::move(backoff)),
      last_(common::UnavailableError("no leader known")) {}

ProduceRetry::ProduceRetry(ProduceRetry&& other) noexcept
    : members_(other.members_),
      lanes_(other.lanes_),
      lane_(std::exchange(other.lane_, std::nullopt)),
      renewals_(other.renewals_),
      records_(other.records_),
      deadline_ns_(other.deadline_ns_),
      attempt_timeout_ns_(other.attempt_timeout_ns_),
      backoff_(std::move(other.backoff_)),
      result_(std::move(other.result_)),
      last_(std::move(other.last_)),
      hops_(other.hops_) {}

ProduceRetry::~ProduceRetry() { ReleaseLane(ProducerLanes::End::kRetire); }

void ProduceRetry::ReleaseLane(ProducerLanes::End end) {
  if (!lane_.has_value()) return;
  lanes_->Release(*lane_, records_, end);
  lane_.reset();
}

ProduceRetry::Step ProduceRetry::Start(int64_t now_ns) {
  if (lanes_ != nullptr && !lane_.has_value()) {
    lane_ = lanes_->Acquire(records_);
    result_.producer_id = lane_->producer_id;
    result_.sequence = lane_->next_sequence;
  }
  std::string target = members_.leader_address();
  if (target.empty()) return Step{.kind = Step::Kind::kDiscover};
  return SendOrWait(target, now_ns);
}

ProduceRetry::Step ProduceRetry::Discovered(const Status& discovery, int64_t now_ns) {
  std::string target = members_.leader_address();
  if (!discovery.ok()) last_ = discovery;
  else if (target.empty()) last_ = common::UnavailableError("no leader known (members answered without one)");
  return SendOrWait(target, now_ns);
}

ProduceRetry::Step ProduceRetry::SendOrWait(const std::string& target, int64_t now_ns) {
  const int64_t remaining = deadline_ns_ - now_ns;
  if (target.empty() || remaining <= 0) return WaitOrGiveUp(now_ns);
  Step s{.kind = Step::Kind::kSend, .target = target, .timeout_ns = std::min(remaining, attempt_timeout_ns_)};
  if (lane_.has_value()) {
    s.producer_id = lane_->producer_id;
    s.sequence = lane_->next_sequence;
  }
  return s;
}

ProduceRetry::Step ProduceRetry::WaitOrGiveUp(int64_t now_ns) {
  const int64_t delay = backoff_.NextNs();
  if (now_ns + delay >= deadline_ns_) {
    const bool unknown = result_.retried_after_unknown_outcome;
    return Done(GiveUp(last_, unknown, result_.attempts),
                unknown ? ProducerLanes::End::kRetire : ProducerLanes::End::kUnchanged);
  }
  return Step{.kind = Step::Kind::kWait, .delay_ns = delay};
}

ProduceRetry::Step ProduceRetry::Waited(int64_t now_ns) {
  hops_ = 0;
  return Start(now_ns);
}

ProduceRetry::Step ProduceRetry::Attempted(const ProduceAttempt& a, int64_t now_ns) {
  result_.attempts++;
  if (a.cls == AttemptClass::kOk) {
    Result<ProduceResult> r = Accepted(a.response, a.address, records_, std::move(result_));
    const ProducerLanes::End end = r.has_value() ? ProducerLanes::End::kAdvance : ProducerLanes::End::kRetire;
    return Done(std::move(r), end);
  }
  if (a.cls == AttemptClass::kFinal) return Refused(a, now_ns);
  last_ = a.status;
  if (a.cls == AttemptClass::kUnknown) result_.retried_after_unknown_outcome = true;
  // Follow a member's hint at once, a few times in a row.
  const LeaderHint& h = a.hint;
  if (a.cls == AttemptClass::kNotApplied && !h.address.empty() && h.address != a.address && hops_ < kMaxHintHops) {
    members_.SetLeader(h.id, h.address);
    hops_++;
    return Start(now_ns);
  }
  members_.ForgetLeader(a.address);
  return WaitOrGiveUp(now_ns);
}

ProduceRetry::Step ProduceRetry::Refused(const ProduceAttempt& a, int64_t now_ns) {
  const bool unknown = result_.retried_after_unknown_outcome;
  if (lane_.has_value() && a.status.code() == Code::kAlreadyExists) {
    Status stored = AlreadyStored(a.status, *lane_, records_);
    return Done(stored, ProducerLanes::End::kAdvance);
  }
  if (lane_.has_value() && a.status.code() == Code::kFailedPrecondition) {
    // Nothing of the request was stored; the lane's sequence is not what the
    // server expects (it forgot the producer), so the lane is done for.
    ReleaseLane(ProducerLanes::End::kRetire);
    if (!unknown && renewals_ < kMaxLaneRenewals) {
      renewals_++;
      hops_ = 0;
      lane_ = lanes_->AcquireNew();  // sequence 0: no server refuses it
      result_.producer_id = lane_->producer_id;
      result_.sequence = 0;
      return Start(now_ns);
    }
  }
  if (unknown) return Done(GiveUp(a.status, true, result_.attempts), ProducerLanes::End::kRetire);
  // INVALID_ARGUMENT is refused before anything is proposed; other codes
  // (INTERNAL, ...) do not say, so their lane is not reused.
  return Done(a.status, a.status.code() == Code::kInvalidArgument ? ProducerLanes::End::kUnchanged
                                                                   : ProducerLanes::End::kRetire);
}

Status ProduceRetry::Cancelled(bool attempt_in_flight) {
  if (attempt_in_flight || result_.retried_after_unknown_outcome) {
    ReleaseLane(ProducerLanes::End::kRetire);
    return Status(Code::kCancelled,
                  "produce cancelled (client shut down): outcome unknown, the records may have been committed");
  }
  ReleaseLane(ProducerLanes::End::kUnchanged);
  return Status(Code::kCancelled, "produce cancelled (client shut down): none of the records were committed");
}

ProduceRetry::Step ProduceRetry::Done(Result<ProduceResult> result, ProducerLanes::End lane_end) {
  ReleaseLane(lane_end);
  Step s;
  s.kind = Step::Kind::kDone;
  s.result.emplace(std::move(result));
  return s;
}

}  // namespace replog
