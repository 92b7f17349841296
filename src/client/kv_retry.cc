#include "client/kv_retry.h"

#include <algorithm>
#include <utility>

#include "client/client_internal.h"
#include "client/members.h"

namespace replog {

using common::Code;
using common::Status;

namespace {

// The error of a write that gave up (kv_client.h).
Status GiveUpError(const std::string& op, const Status& last, bool unknown, uint32_t attempts) {
  std::string tail = std::to_string(attempts) + " attempt(s); last error: " + last.ToString();
  if (unknown) {
    return Status(Code::kDeadlineExceeded, op +
                                               ": outcome unknown, the write may have been applied (an attempt "
                                               "timed out or lost its connection after sending); gave up after " +
                                               tail);
  }
  return common::UnavailableError(op + ": no KV leader applied the write in time, it was not applied; " + tail);
}

}  // namespace

std::string KvLeader::address() const {
  std::lock_guard lock(mu_);
  return address_;
}

void KvLeader::Set(const std::string& address) {
  std::lock_guard lock(mu_);
  address_ = address;
}

void KvLeader::Forget(const std::string& address) {
  std::lock_guard lock(mu_);
  if (address_ == address) address_.clear();
}

KvWriteAttempt ReadKvWriteAttempt(const grpc::Status& status, const grpc::ClientContext& ctx,
                                  const std::string& address, const std::string& op) {
  KvWriteAttempt a;
  a.address = address;
  a.hint = ReadLeaderHint(ctx);
  // A write's outcome classes are a produce's (rpc_outcome.h).
  a.cls = ClassifyProduce(status, a.hint);
  a.status = FromGrpc(status, op + " to " + address);
  return a;
}

KvWriteRetry::KvWriteRetry(Members& members, KvLeader& leader, ProducerLanes* lanes, std::string op,
                           int64_t deadline_ns, int64_t attempt_timeout_ns, Backoff backoff)
    : members_(members),
      leader_(leader),
      lanes_(lanes),
      op_(std::move(op)),
      deadline_ns_(deadline_ns),
      attempt_timeout_ns_(attempt_timeout_ns),
      backoff_(std::move(backoff)),
      last_(common::UnavailableError("no member was tried")) {}

KvWriteRetry::KvWriteRetry(KvWriteRetry&& other) noexcept
    : members_(other.members_),
      leader_(other.leader_),
      lanes_(other.lanes_),
      lane_(std::exchange(other.lane_, std::nullopt)),
      op_(other.op_),
      deadline_ns_(other.deadline_ns_),
      attempt_timeout_ns_(other.attempt_timeout_ns_),
      backoff_(std::move(other.backoff_)),
      info_(std::move(other.info_)),
      target_(std::move(other.target_)),
      last_(std::move(other.last_)),
      hops_(other.hops_),
      renewals_(other.renewals_) {}

KvWriteRetry::~KvWriteRetry() { ReleaseLane(ProducerLanes::End::kRetire); }

void KvWriteRetry::ReleaseLane(ProducerLanes::End end) {
  if (!lane_.has_value()) return;
  lanes_->Release(*lane_, 1, end);
  lane_.reset();
}

std::string KvWriteRetry::TargetWithoutHint() const {
  std::string leader = leader_.address();
  if (!leader.empty()) return leader;
  return members_.ReadOrder(ReadFrom::kAny).front();
}

KvWriteRetry::Step KvWriteRetry::Start(int64_t now_ns) {
  if (lanes_ != nullptr && !lane_.has_value()) lane_ = lanes_->Acquire(1);
  target_ = TargetWithoutHint();
  return SendOrGiveUp(now_ns);
}

KvWriteRetry::Step KvWriteRetry::SendOrGiveUp(int64_t now_ns) {
  const int64_t remaining = deadline_ns_ - now_ns;
  if (remaining <= 0) return GiveUp();
  Step s{.kind = Step::Kind::kSend, .target = target_, .timeout_ns = std::min(remaining, attempt_timeout_ns_)};
  if (lane_.has_value()) {
    s.session.set_client_id(lane_->producer_id);
    s.session.set_sequence(lane_->next_sequence);
  }
  info_.client_id = s.session.client_id();
  info_.sequence = s.session.sequence();
  return s;
}

KvWriteRetry::Step KvWriteRetry::WaitOrGiveUp(int64_t now_ns) {
  const int64_t delay = backoff_.NextNs();
  if (now_ns + delay >= deadline_ns_) return GiveUp();
  return Step{.kind = Step::Kind::kWait, .delay_ns = delay};
}

KvWriteRetry::Step KvWriteRetry::GiveUp() {
  const bool unknown = info_.retried_after_unknown_outcome;
  return Done(GiveUpError(op_, last_, unknown, info_.attempts),
              unknown ? ProducerLanes::End::kRetire : ProducerLanes::End::kUnchanged);
}

KvWriteRetry::Step KvWriteRetry::Waited(int64_t now_ns) {
  hops_ = 0;
  target_ = TargetWithoutHint();
  return SendOrGiveUp(now_ns);
}

KvWriteRetry::Step KvWriteRetry::Attempted(const KvWriteAttempt& a, int64_t now_ns) {
  info_.attempts++;
  if (a.cls == AttemptClass::kOk) {
    leader_.Set(a.address);
    info_.leader_address = a.address;
    return Done(Status::Ok(), ProducerLanes::End::kAdvance);
  }
  if (a.cls == AttemptClass::kFinal) return Refused(a.status, now_ns);
  last_ = a.status;
  if (a.cls == AttemptClass::kUnknown) info_.retried_after_unknown_outcome = true;
  // Follow a member's hint at once, a few times in a row.
  const LeaderHint& h = a.hint;
  if (a.cls == AttemptClass::kNotApplied && !h.address.empty() && h.address != a.address && hops_ < kMaxHintHops) {
    leader_.Set(h.address);
    target_ = h.address;
    hops_++;
    return SendOrGiveUp(now_ns);
  }
  leader_.Forget(a.address);
  return WaitOrGiveUp(now_ns);
}

KvWriteRetry::Step KvWriteRetry::Refused(const Status& s, int64_t now_ns) {
  const bool unknown = info_.retried_after_unknown_outcome;
  if (lane_.has_value() && s.code() == Code::kAlreadyExists) {
    // Applied once before; the server no longer keeps its response.
    const std::string session =
        "client " + std::to_string(lane_->producer_id) + ", sequence " + std::to_string(lane_->next_sequence);
    return Done(Status(Code::kAlreadyExists, op_ + ": the write was applied exactly once (" + session +
                                                 "), but the server no longer remembers its result; " + s.message()),
                ProducerLanes::End::kAdvance);
  }
  if (lane_.has_value() && s.code() == Code::kFailedPrecondition && !unknown && renewals_ < kMaxLaneRenewals) {
    // Nothing was applied; the server does not expect this lane's sequence
    // (it forgot the client id): go on with a new lane (a new client id at
    // sequence 0, not an idle one: the server may have forgotten those too).
    renewals_++;
    hops_ = 0;
    ReleaseLane(ProducerLanes::End::kRetire);
    lane_ = lanes_->AcquireNew();
    return SendOrGiveUp(now_ns);
  }
  if (unknown) return Done(GiveUpError(op_, s, true, info_.attempts), ProducerLanes::End::kRetire);
  // INVALID_ARGUMENT is refused before anything is proposed; other codes do
  // not say, so their lane is not reused.
  return Done(s, s.code() == Code::kInvalidArgument ? ProducerLanes::End::kUnchanged : ProducerLanes::End::kRetire);
}

Status KvWriteRetry::Cancelled(bool attempt_in_flight) {
  if (attempt_in_flight || info_.retried_after_unknown_outcome) {
    ReleaseLane(ProducerLanes::End::kRetire);
    return Status(Code::kCancelled,
                  op_ + " cancelled (client shut down): outcome unknown, the write may have been applied");
  }
  ReleaseLane(ProducerLanes::End::kUnchanged);
  return Status(Code::kCancelled, op_ + " cancelled (client shut down): the write was not applied");
}

KvWriteRetry::Step KvWriteRetry::Done(Status status, ProducerLanes::End lane_end) {
  ReleaseLane(lane_end);
  return Step{.kind = Step::Kind::kDone, .status = std::move(status)};
}

KvReadRetry::KvReadRetry(Members& members, std::string op, int64_t deadline_ns, int64_t attempt_timeout_ns,
                         Backoff backoff, ReadFrom from, std::string leader)
    : members_(members),
      op_(std::move(op)),
      deadline_ns_(deadline_ns),
      attempt_timeout_ns_(attempt_timeout_ns),
      backoff_(std::move(backoff)),
      from_(from),
      leader_(std::move(leader)) {}

KvReadRetry::Step KvReadRetry::Start(int64_t now_ns) {
  order_ = members_.ReadOrder(ReadFrom::kAny);
  // The KV leader is not the log's, which ReadOrder knows: place it here.
  auto it = std::find(order_.begin(), order_.end(), leader_);
  if (from_ != ReadFrom::kAny && it != order_.end()) {
    if (from_ == ReadFrom::kLeader) {
      std::rotate(order_.begin(), it, it + 1);
    } else {
      std::rotate(it, it + 1, order_.end());
    }
  }
  next_ = 0;
  return Next(now_ns);
}

KvReadRetry::Step KvReadRetry::Next(int64_t now_ns) {
  if (next_ < order_.size()) {
    const int64_t remaining = deadline_ns_ - now_ns;
    if (remaining <= 0) return Step{.kind = Step::Kind::kDone, .status = GiveUp()};
    sent_ = order_[next_++];
    return Step{.kind = Step::Kind::kSend, .target = sent_, .timeout_ns = std::min(remaining, attempt_timeout_ns_)};
  }
  // Every member failed: back off, then learn the members again.
  const int64_t delay = backoff_.NextNs();
  if (now_ns + delay >= deadline_ns_) return Step{.kind = Step::Kind::kDone, .status = GiveUp()};
  return Step{.kind = Step::Kind::kWait, .delay_ns = delay};
}

Status KvReadRetry::GiveUp() const {
  return last_.ok() ? common::UnavailableError(op_ + ": no member answered in time") : last_;
}

KvReadRetry::Step KvReadRetry::Attempted(const grpc::Status& answer, int64_t now_ns) {
  Status status = FromGrpc(answer, op_ + " from " + sent_);
  if (status.ok()) {
    served_by_ = sent_;
    return Step{.kind = Step::Kind::kDone, .status = status};
  }
  // An error another member would repeat (the request is wrong) is final.
  if (!RetryableRead(status.code())) return Step{.kind = Step::Kind::kDone, .status = status};
  last_ = std::move(status);
  return Next(now_ns);
}

KvReadRetry::Step KvReadRetry::Waited(int64_t /*now_ns*/) { return Step{.kind = Step::Kind::kDiscover}; }

KvReadRetry::Step KvReadRetry::Discovered(int64_t now_ns) { return Start(now_ns); }

Status KvReadRetry::Cancelled(bool /*attempt_in_flight*/) const {
  return Status(Code::kCancelled, op_ + " cancelled (client shut down)");
}

}  // namespace replog
