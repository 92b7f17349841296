// replog::Client: connection, discovery and Produce. Consume and
// ConsumeStream are in client_consume.cc.

#include "client/client.h"

#include <algorithm>
#include <string>
#include <utility>

#include "client/backoff.h"
#include "client/client_internal.h"
#include "client/convert.h"
#include "client/members.h"
#include "client/rpc_outcome.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

// Leader hints followed in a row without sleeping; more means members point
// at each other (a view in flux), and backoff is due.
constexpr int kMaxHintHops = 3;

// One Produce RPC and how it ended.
struct ProduceAttempt {
  AttemptClass cls = AttemptClass::kFinal;
  Status status;
  LeaderHint hint;
  v1::ProduceResponse response;
};

ProduceAttempt SendProduce(Members& members, const std::string& address, const v1::ProduceRequest& request,
                           int64_t timeout_ns) {
  auto stub = v1::Log::NewStub(members.Connected(address, timeout_ns));
  grpc::ClientContext ctx;
  SetTimeout(&ctx, timeout_ns);
  ProduceAttempt a;
  grpc::Status gs = stub->Produce(&ctx, request, &a.response);
  a.hint = ReadLeaderHint(ctx);
  a.cls = ClassifyProduce(gs, a.hint);
  a.status = FromGrpc(gs, "produce to " + address);
  return a;
}

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

Status Validate(const ClientOptions& o) {
  if (o.bootstrap_addresses.empty()) return common::InvalidArgumentError("client: no bootstrap address");
  for (const std::string& a : o.bootstrap_addresses) {
    if (a.empty()) return common::InvalidArgumentError("client: empty bootstrap address");
  }
  if (o.deadline_ms <= 0 || o.attempt_timeout_ms <= 0 || o.discovery_timeout_ms <= 0) {
    return common::InvalidArgumentError("client: deadline and timeouts must be positive");
  }
  // In nanoseconds they are added to a clock reading: keep them far from
  // overflowing (a day is more than any operation needs).
  constexpr int64_t kMaxMs = 24 * 3600 * 1000;
  if (o.deadline_ms > kMaxMs || o.attempt_timeout_ms > kMaxMs || o.discovery_timeout_ms > kMaxMs) {
    return common::InvalidArgumentError("client: deadline and timeouts must be at most a day (86400000 ms)");
  }
  if (o.initial_backoff_ms <= 0 || o.max_backoff_ms < o.initial_backoff_ms) {
    return common::InvalidArgumentError("client: backoff must be positive, max >= initial");
  }
  return Status::Ok();
}

}  // namespace

void SetTimeout(grpc::ClientContext* ctx, int64_t timeout_ns) {
  // A relative deadline (GPR_TIMESPAN): gRPC adds its own clock's now, so
  // that only common::Clock reads time in our code.
  int64_t ms = std::max<int64_t>(1, (timeout_ns + 999'999) / 1'000'000);
  ctx->set_deadline(gpr_time_from_millis(ms, GPR_TIMESPAN));
}

Client::Client(ClientOptions options, std::unique_ptr<common::Clock> owned_clock)
    : options_(std::move(options)),
      owned_clock_(std::move(owned_clock)),
      clock_(options_.clock != nullptr ? options_.clock : owned_clock_.get()),
      members_(std::make_unique<Members>(options_.bootstrap_addresses, options_.max_receive_bytes,
                                         options_.keepalive_ms)),
      backoff_seed_(options_.seed) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  RETURN_IF_ERROR(Validate(options));
  std::unique_ptr<common::Clock> owned;
  if (options.clock == nullptr) owned = std::make_unique<common::RealClock>();
  std::unique_ptr<Client> client(new Client(std::move(options), std::move(owned)));
  int64_t deadline = client->DeadlineNs();
  Backoff backoff = client->NewBackoff();
  for (;;) {
    Status s = client->Discover(deadline);
    if (s.ok()) return client;
    if (!client->SleepBefore(backoff, deadline)) return s.WithContext("connect");
  }
}

int64_t Client::NowNs() { return clock_->NowNanos(); }

int64_t Client::DeadlineNs() { return NowNs() + options_.deadline_ms * 1'000'000; }

void Client::Sleep(int64_t ns) { clock_->SleepNanos(ns); }

Backoff Client::NewBackoff() {
  return Backoff(options_.initial_backoff_ms * 1'000'000, options_.max_backoff_ms * 1'000'000,
                 backoff_seed_.fetch_add(1, std::memory_order_relaxed));
}

bool Client::SleepBefore(Backoff& backoff, int64_t deadline_ns) {
  int64_t delay = backoff.NextNs();
  if (NowNs() + delay >= deadline_ns) return false;
  Sleep(delay);
  return true;
}

Status Client::Discover(int64_t deadline_ns) {
  std::string errors;
  bool answered = false;
  for (const std::string& address : members_->DiscoveryOrder()) {
    int64_t remaining = deadline_ns - NowNs();
    if (remaining <= 0) break;
    const int64_t timeout_ns = std::min(remaining, options_.discovery_timeout_ms * 1'000'000);
    auto stub = v1::Log::NewStub(members_->Connected(address, timeout_ns));
    grpc::ClientContext ctx;
    SetTimeout(&ctx, timeout_ns);
    v1::GetServersResponse response;
    grpc::Status gs = stub->GetServers(&ctx, v1::GetServersRequest(), &response);
    if (!gs.ok()) {
      errors += (errors.empty() ? "" : "; ") + address + ": " + gs.error_message();
      continue;
    }
    ClusterView view = FromProto(response, address);
    members_->Update(view);
    answered = true;
    if (!view.LeaderAddress().empty()) return Status::Ok();
  }
  if (answered) return Status::Ok();
  if (errors.empty()) errors = "deadline passed before any member was asked";
  return common::UnavailableError("no member answered GetServers (" + errors + ")");
}

std::string Client::LeaderOrDiscover(int64_t deadline_ns, Status* last) {
  std::string target = members_->leader_address();
  if (!target.empty()) return target;
  Status ds = Discover(deadline_ns);
  target = members_->leader_address();
  if (!ds.ok()) *last = ds;
  else if (target.empty()) *last = common::UnavailableError("no leader known (members answered without one)");
  return target;
}

Result<ClusterView> Client::Servers() {
  int64_t deadline = DeadlineNs();
  Backoff backoff = NewBackoff();
  for (;;) {
    Status s = Discover(deadline);
    if (s.ok()) return members_->view();
    if (!SleepBefore(backoff, deadline)) return s.WithContext("servers");
  }
}

ClusterView Client::cached_view() const { return members_->view(); }

Result<ProduceResult> Client::Produce(const std::vector<Record>& records) {
  if (records.empty()) return common::InvalidArgumentError("produce: no records");
  v1::ProduceRequest request;
  for (const Record& r : records) ToProto(r, request.add_records());
  const int64_t deadline = DeadlineNs();
  Backoff backoff = NewBackoff();
  ProduceResult result;
  Status last = common::UnavailableError("no leader known");
  int hops = 0;
  for (;;) {
    std::string target = LeaderOrDiscover(deadline, &last);
    int64_t remaining = deadline - NowNs();
    if (!target.empty() && remaining > 0) {
      ProduceAttempt a =
          SendProduce(*members_, target, request, std::min(remaining, options_.attempt_timeout_ms * 1'000'000));
      result.attempts++;
      if (a.cls == AttemptClass::kOk) return Accepted(a.response, target, records.size(), std::move(result));
      if (a.cls == AttemptClass::kFinal) {
        if (result.retried_after_unknown_outcome) return GiveUp(a.status, true, result.attempts);
        return a.status;
      }
      last = a.status;
      if (a.cls == AttemptClass::kUnknown) result.retried_after_unknown_outcome = true;
      // Follow a member's hint at once, a few times in a row.
      const LeaderHint& h = a.hint;
      if (a.cls == AttemptClass::kNotApplied && !h.address.empty() && h.address != target && hops < kMaxHintHops) {
        members_->SetLeader(h.id, h.address);
        hops++;
        continue;
      }
      members_->ForgetLeader(target);
    }
    if (!SleepBefore(backoff, deadline)) return GiveUp(last, result.retried_after_unknown_outcome, result.attempts);
    hops = 0;
  }
}

}  // namespace replog
