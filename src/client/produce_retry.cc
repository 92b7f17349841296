#include "client/produce_retry.h"

#include <algorithm>
#include <utility>

#include "client/members.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

// Leader hints followed in a row without waiting; more means members point
// at each other (a view in flux), and backoff is due.
constexpr int kMaxHintHops = 3;

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

ProduceRetry::ProduceRetry(Members& members, size_t records, int64_t deadline_ns, int64_t attempt_timeout_ns,
                           Backoff backoff)
    : members_(members),
      records_(records),
      deadline_ns_(deadline_ns),
      attempt_timeout_ns_(attempt_timeout_ns),
      backoff_(std::move(backoff)),
      last_(common::UnavailableError("no leader known")) {}

ProduceRetry::Step ProduceRetry::Start(int64_t now_ns) {
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
  return Step{.kind = Step::Kind::kSend, .target = target, .timeout_ns = std::min(remaining, attempt_timeout_ns_)};
}

ProduceRetry::Step ProduceRetry::WaitOrGiveUp(int64_t now_ns) {
  const int64_t delay = backoff_.NextNs();
  if (now_ns + delay >= deadline_ns_) {
    return Done(GiveUp(last_, result_.retried_after_unknown_outcome, result_.attempts));
  }
  return Step{.kind = Step::Kind::kWait, .delay_ns = delay};
}

ProduceRetry::Step ProduceRetry::Waited(int64_t now_ns) {
  hops_ = 0;
  return Start(now_ns);
}

ProduceRetry::Step ProduceRetry::Attempted(const ProduceAttempt& a, int64_t now_ns) {
  result_.attempts++;
  if (a.cls == AttemptClass::kOk) return Done(Accepted(a.response, a.address, records_, std::move(result_)));
  if (a.cls == AttemptClass::kFinal) {
    if (result_.retried_after_unknown_outcome) return Done(GiveUp(a.status, true, result_.attempts));
    return Done(a.status);
  }
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

Status ProduceRetry::Cancelled(bool attempt_in_flight) const {
  if (attempt_in_flight || result_.retried_after_unknown_outcome) {
    return Status(Code::kCancelled,
                  "produce cancelled (client shut down): outcome unknown, the records may have been committed");
  }
  return Status(Code::kCancelled, "produce cancelled (client shut down): none of the records were committed");
}

ProduceRetry::Step ProduceRetry::Done(Result<ProduceResult> result) {
  Step s;
  s.kind = Step::Kind::kDone;
  s.result.emplace(std::move(result));
  return s;
}

}  // namespace replog
