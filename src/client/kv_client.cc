// replog::KvClient: members, writes to the KV leader with exactly-once
// lanes, reads spread over the members (kv_client.h has the rules).

#include "client/kv_client.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "client/backoff.h"
#include "client/client_internal.h"
#include "client/discovery_round.h"
#include "client/members.h"
#include "client/producer_lanes.h"
#include "client/rpc_outcome.h"
#include "replog/v1/kv.grpc.pb.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

KeyValue FromProto(const v1::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version()};
}

std::optional<KeyValue> FromProtoIf(bool present, const v1::KeyValue& kv) {
  if (!present) return std::nullopt;
  return FromProto(kv);
}

v1::ReadConsistency ToProto(ReadConsistency c) {
  return c == ReadConsistency::kLocal ? v1::LOCAL : v1::LINEARIZABLE;
}

// The lane a write holds for its whole life; given back retired unless the
// write says otherwise (a write dropped midway may still apply).
class HeldLane {
 public:
  explicit HeldLane(ProducerLanes* lanes) : lanes_(lanes) {
    if (lanes_ != nullptr) lane_ = lanes_->Acquire(1);
  }
  ~HeldLane() { Release(ProducerLanes::End::kRetire); }
  HeldLane(const HeldLane&) = delete;
  HeldLane& operator=(const HeldLane&) = delete;

  bool held() const { return lane_.has_value(); }
  uint64_t client_id() const { return lane_.has_value() ? lane_->producer_id : 0; }
  uint64_t sequence() const { return lane_.has_value() ? lane_->next_sequence : 0; }
  void Release(ProducerLanes::End end) {
    if (!lane_.has_value()) return;
    lanes_->Release(*lane_, 1, end);
    lane_.reset();
  }
  // Retires this lane and takes a new one (a new client id at sequence 0).
  void Renew() {
    Release(ProducerLanes::End::kRetire);
    lane_ = lanes_->AcquireNew();
  }

 private:
  ProducerLanes* const lanes_;
  std::optional<ProducerLane> lane_;
};

// The error of a write that gave up (kv_client.h).
Status GiveUp(std::string_view op, const Status& last, bool unknown, uint32_t attempts) {
  std::string tail = std::to_string(attempts) + " attempt(s); last error: " + last.ToString();
  if (unknown) {
    return common::Status(Code::kDeadlineExceeded,
                  std::string(op) + ": outcome unknown, the write may have been applied (an attempt timed out or " +
                      "lost its connection after sending); gave up after " + tail);
  }
  return common::UnavailableError(std::string(op) + ": no KV leader applied the write in time, it was not applied; " +
                                  tail);
}

// What a write does after the final answer `s`: nullopt to go on with a
// new lane, else the error to return (the lane given back as it must be).
std::optional<Status> AfterFinal(const std::string& op, const Status& s, bool unknown, uint32_t attempts,
                                 HeldLane& lane, int* renewals) {
  if (lane.held() && s.code() == Code::kAlreadyExists) {
    // Applied once before; the server no longer keeps its response.
    const std::string session =
        "client " + std::to_string(lane.client_id()) + ", sequence " + std::to_string(lane.sequence());
    lane.Release(ProducerLanes::End::kAdvance);
    return Status(Code::kAlreadyExists, op + ": the write was applied exactly once (" + session +
                                            "), but the server no longer remembers its result; " + s.message());
  }
  if (lane.held() && s.code() == Code::kFailedPrecondition && !unknown && *renewals < kMaxLaneRenewals) {
    // Nothing was applied; the server does not expect this lane's sequence
    // (it forgot the client id): go on with a new lane.
    (*renewals)++;
    lane.Renew();
    return std::nullopt;
  }
  if (unknown) {
    lane.Release(ProducerLanes::End::kRetire);
    return GiveUp(op, s, true, attempts);
  }
  // INVALID_ARGUMENT is refused before anything is proposed; other codes do
  // not say, so their lane is not reused.
  lane.Release(s.code() == Code::kInvalidArgument ? ProducerLanes::End::kUnchanged : ProducerLanes::End::kRetire);
  return s;
}

}  // namespace

// One write: its name for errors, how to send one attempt of it, and what
// the attempts did.
struct KvClient::WriteCall {
  std::string op;  // "put", "delete", "compare-and-set"
  // Sends one attempt on `stub` with `session` set on the request, keeping
  // the response for the caller.
  std::function<grpc::Status(v1::KV::Stub&, grpc::ClientContext&, const v1::WriteSession&)> send;
  WriteInfo info;
};

// One read: its name for errors, how to send it, and who answered.
struct KvClient::ReadCall {
  std::string op;  // "get", "scan"
  // Sends the read on `stub`, keeping the response for the caller.
  std::function<grpc::Status(v1::KV::Stub&, grpc::ClientContext&)> send;
  std::string served_by;
};

KvClient::KvClient(KvClientOptions options, std::unique_ptr<common::Clock> owned_clock)
    : options_(std::move(options)),
      owned_clock_(std::move(owned_clock)),
      clock_(options_.clock != nullptr ? options_.clock : owned_clock_.get()),
      members_(std::make_unique<Members>(options_.bootstrap_addresses, options_.max_receive_bytes,
                                         /*keepalive_ms=*/0, options_.credentials)),
      lanes_(options_.exactly_once ? std::make_unique<ProducerLanes>(options_.client_id_seed) : nullptr),
      backoff_seed_(options_.seed) {}

KvClient::~KvClient() = default;

Result<std::unique_ptr<KvClient>> KvClient::Connect(KvClientOptions options) {
  RETURN_IF_ERROR(ValidateConnection(ConnectionLimits{.bootstrap_addresses = options.bootstrap_addresses,
                                                     .deadline_ms = options.deadline_ms,
                                                     .attempt_timeout_ms = options.attempt_timeout_ms,
                                                     .discovery_timeout_ms = options.discovery_timeout_ms,
                                                     .initial_backoff_ms = options.initial_backoff_ms,
                                                     .max_backoff_ms = options.max_backoff_ms})
                      .WithContext("kv"));
  std::unique_ptr<common::Clock> owned;
  if (options.clock == nullptr) owned = std::make_unique<common::RealClock>();
  std::unique_ptr<KvClient> client(new KvClient(std::move(options), std::move(owned)));
  const int64_t deadline = client->DeadlineNs();
  Backoff backoff = client->NewBackoff();
  for (;;) {
    common::Status s = DiscoverBlocking(*client->members_, *client->clock_, deadline,
                                client->options_.discovery_timeout_ms * 1'000'000);
    if (s.ok()) return client;
    if (!client->SleepBefore(backoff, deadline)) return s.WithContext("kv connect");
  }
}

int64_t KvClient::NowNs() const { return clock_->NowNanos(); }

int64_t KvClient::DeadlineNs() const { return NowNs() + options_.deadline_ms * 1'000'000; }

Backoff KvClient::NewBackoff() {
  std::lock_guard lock(mu_);
  return Backoff(options_.initial_backoff_ms * 1'000'000, options_.max_backoff_ms * 1'000'000, backoff_seed_++);
}

bool KvClient::SleepBefore(Backoff& backoff, int64_t deadline_ns) {
  const int64_t delay = backoff.NextNs();
  if (NowNs() + delay >= deadline_ns) return false;
  clock_->SleepNanos(delay);
  return true;
}

std::vector<std::string> KvClient::member_addresses() const {
  std::vector<std::string> out;
  auto add = [&out](const std::string& a) {
    if (!a.empty() && std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  for (const ServerInfo& s : members_->view().servers) add(s.address);
  for (const std::string& a : options_.bootstrap_addresses) add(a);
  return out;
}

std::string KvClient::kv_leader_address() const {
  std::lock_guard lock(mu_);
  return kv_leader_;
}

std::string KvClient::WriteTarget() {
  {
    std::lock_guard lock(mu_);
    if (!kv_leader_.empty()) return kv_leader_;
  }
  return members_->ReadOrder(ReadFrom::kAny).front();
}

void KvClient::SetKvLeader(const std::string& address) {
  std::lock_guard lock(mu_);
  kv_leader_ = address;
}

void KvClient::ForgetKvLeader(const std::string& address) {
  std::lock_guard lock(mu_);
  if (kv_leader_ == address) kv_leader_.clear();
}

void KvClient::Rediscover(int64_t deadline_ns) {
  DiscoverBlocking(*members_, *clock_, deadline_ns, options_.discovery_timeout_ms * 1'000'000).IgnoreError();
}

Status KvClient::Write(WriteCall& call) {
  const int64_t deadline = DeadlineNs();
  Backoff backoff = NewBackoff();
  HeldLane lane(lanes_.get());
  common::Status last = common::UnavailableError("no member was tried");
  bool unknown = false;
  int hops = 0;
  int renewals = 0;
  std::string target = WriteTarget();
  for (;;) {
    const int64_t remaining = deadline - NowNs();
    if (remaining <= 0) {
      lane.Release(unknown ? ProducerLanes::End::kRetire : ProducerLanes::End::kUnchanged);
      return GiveUp(call.op, last, unknown, call.info.attempts);
    }
    const int64_t timeout = std::min(remaining, options_.attempt_timeout_ms * 1'000'000);
    v1::WriteSession session;
    session.set_client_id(lane.client_id());
    session.set_sequence(lane.sequence());
    call.info.client_id = lane.client_id();
    call.info.sequence = lane.sequence();
    auto stub = v1::KV::NewStub(members_->Connected(target, timeout));
    grpc::ClientContext ctx;
    SetTimeout(&ctx, timeout);
    const grpc::Status gs = call.send(*stub, ctx, session);
    const LeaderHint hint = ReadLeaderHint(ctx);
    // A write's outcome classes are a produce's (rpc_outcome.h).
    const AttemptClass cls = ClassifyProduce(gs, hint);
    const common::Status s = FromGrpc(gs, call.op + " to " + target);
    call.info.attempts++;

    if (cls == AttemptClass::kOk) {
      SetKvLeader(target);
      call.info.leader_address = target;
      lane.Release(ProducerLanes::End::kAdvance);
      return common::Status::Ok();
    }
    if (cls == AttemptClass::kFinal) {
      std::optional<common::Status> end = AfterFinal(call.op, s, unknown, call.info.attempts, lane, &renewals);
      if (end.has_value()) return *end;
      hops = 0;
      continue;
    }
    last = s;
    if (cls == AttemptClass::kUnknown) {
      unknown = true;
      call.info.retried_after_unknown_outcome = true;
    }
    if (cls == AttemptClass::kNotApplied && !hint.address.empty() && hint.address != target && hops < kMaxHintHops) {
      SetKvLeader(hint.address);
      target = hint.address;
      hops++;
      continue;
    }
    ForgetKvLeader(target);
    if (!SleepBefore(backoff, deadline)) {
      lane.Release(unknown ? ProducerLanes::End::kRetire : ProducerLanes::End::kUnchanged);
      return GiveUp(call.op, last, unknown, call.info.attempts);
    }
    hops = 0;
    target = WriteTarget();
  }
}

Result<PutResult> KvClient::Put(std::string_view key, std::string_view value) {
  v1::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  v1::PutResponse response;
  WriteCall call{.op = "put",
                 .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx, const v1::WriteSession& session) {
                   *request.mutable_session() = session;
                   response.Clear();
                   return stub.Put(&ctx, request, &response);
                 }};
  RETURN_IF_ERROR(Write(call));
  return PutResult{.revision = response.revision(),
                   .previous = FromProtoIf(response.had_previous(), response.previous()),
                   .write = std::move(call.info)};
}

Result<DeleteResult> KvClient::Delete(std::string_view key) {
  v1::DeleteRequest request;
  request.set_key(std::string(key));
  v1::DeleteResponse response;
  WriteCall call{.op = "delete",
                 .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx, const v1::WriteSession& session) {
                   *request.mutable_session() = session;
                   response.Clear();
                   return stub.Delete(&ctx, request, &response);
                 }};
  RETURN_IF_ERROR(Write(call));
  return DeleteResult{.revision = response.revision(),
                      .deleted = response.deleted(),
                      .previous = FromProtoIf(response.deleted(), response.previous()),
                      .write = std::move(call.info)};
}

Result<CasResult> KvClient::CompareAndSet(std::string_view key, const KvCompare& compare, const KvSwap& swap) {
  v1::CompareAndSetRequest request;
  request.set_key(std::string(key));
  if (compare.kind == KvCompare::Kind::kValue) request.mutable_compare()->set_value(compare.value);
  else request.mutable_compare()->set_mod_revision(compare.mod_revision);
  if (swap.delete_key) request.set_delete_(true);
  else request.set_value(swap.value);
  v1::CompareAndSetResponse response;
  WriteCall call{.op = "compare-and-set",
                 .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx, const v1::WriteSession& session) {
                   *request.mutable_session() = session;
                   response.Clear();
                   return stub.CompareAndSet(&ctx, request, &response);
                 }};
  RETURN_IF_ERROR(Write(call));
  return CasResult{.revision = response.revision(),
                   .succeeded = response.succeeded(),
                   .current = FromProtoIf(response.had_current(), response.current()),
                   .write = std::move(call.info)};
}

Status KvClient::Read(ReadCall& call) {
  const int64_t deadline = DeadlineNs();
  Backoff backoff = NewBackoff();
  common::Status last = common::UnavailableError(call.op + ": no member answered in time");
  for (;;) {
    for (const std::string& address : members_->ReadOrder(ReadFrom::kAny)) {
      const int64_t remaining = deadline - NowNs();
      if (remaining <= 0) return last;
      const int64_t timeout = std::min(remaining, options_.attempt_timeout_ms * 1'000'000);
      auto stub = v1::KV::NewStub(members_->Connected(address, timeout));
      grpc::ClientContext ctx;
      SetTimeout(&ctx, timeout);
      common::Status s = FromGrpc(call.send(*stub, ctx), call.op + " from " + address);
      if (s.ok()) {
        call.served_by = address;
        return s;
      }
      if (!RetryableRead(s.code())) return s;
      last = std::move(s);
    }
    if (!SleepBefore(backoff, deadline)) return last;
    Rediscover(deadline);
  }
}

Result<GetResult> KvClient::Get(std::string_view key, ReadConsistency consistency) {
  v1::GetRequest request;
  request.set_key(std::string(key));
  request.set_consistency(ToProto(consistency));
  v1::GetResponse response;
  ReadCall call{.op = "get", .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx) {
                  response.Clear();
                  return stub.Get(&ctx, request, &response);
                }};
  RETURN_IF_ERROR(Read(call));
  GetResult r;
  r.found = response.found();
  if (r.found) r.kv = FromProto(response.kv());
  r.revision = response.revision();
  r.served_by = std::move(call.served_by);
  return r;
}

Result<ScanResult> KvClient::Scan(const ScanOptions& options) {
  v1::ScanRequest request;
  request.set_start(options.start);
  request.set_end(options.end);
  request.set_prefix(options.prefix);
  request.set_limit(options.limit);
  request.set_consistency(ToProto(options.consistency));
  request.set_keys_only(options.keys_only);
  v1::ScanResponse response;
  ReadCall call{.op = "scan", .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx) {
                  response.Clear();
                  return stub.Scan(&ctx, request, &response);
                }};
  RETURN_IF_ERROR(Read(call));
  ScanResult r;
  r.kvs.reserve(static_cast<size_t>(response.kvs_size()));
  for (const v1::KeyValue& kv : response.kvs()) r.kvs.push_back(FromProto(kv));
  r.more = response.more();
  r.revision = response.revision();
  r.served_by = std::move(call.served_by);
  return r;
}

Result<KvMemberStatus> KvClient::Status(const std::string& address) {
  const int64_t timeout = options_.attempt_timeout_ms * 1'000'000;
  auto stub = v1::KV::NewStub(members_->Connected(address, timeout));
  grpc::ClientContext ctx;
  SetTimeout(&ctx, timeout);
  v1::KvStatusResponse response;
  RETURN_IF_ERROR(FromGrpc(stub->Status(&ctx, v1::KvStatusRequest(), &response), "kv status of " + address));
  KvMemberStatus st;
  st.address = address;
  st.member_id = response.member_id();
  st.leader_id = response.leader_id();
  st.term = response.term();
  st.applied_index = response.applied_index();
  st.commit_index = response.commit_index();
  st.first_index = response.first_index();
  st.last_index = response.last_index();
  st.snapshot_index = response.snapshot_index();
  st.keys = response.keys();
  st.bytes = response.bytes();
  st.hash = response.hash();
  st.voters.assign(response.voters().begin(), response.voters().end());
  st.learners.assign(response.learners().begin(), response.learners().end());
  return st;
}

}  // namespace replog
