// replog::Client: connection, discovery, Produce and ProduceAsync (whose
// retry rules are ProduceRetry's, produce_retry.h). Consume and
// ConsumeStream are in client_consume.cc.

#include "client/client.h"

#include <algorithm>
#include <string>
#include <utility>

#include "client/async_produce.h"
#include "client/backoff.h"
#include "client/client_internal.h"
#include "client/convert.h"
#include "client/discovery_round.h"
#include "client/members.h"
#include "client/produce_retry.h"
#include "client/produce_streams.h"
#include "client/producer_lanes.h"
#include "replog/v1/log.grpc.pb.h"
#include "rpc/limits.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

// One Produce RPC to `address` on gRPC's sync API.
ProduceAttempt SendProduce(Members& members, const std::string& address, const v1::ProduceRequest& request,
                           int64_t timeout_ns) {
  auto stub = v1::Log::NewStub(members.Connected(address, timeout_ns));
  grpc::ClientContext ctx;
  SetTimeout(&ctx, timeout_ns);
  v1::ProduceResponse response;
  grpc::Status gs = stub->Produce(&ctx, request, &response);
  return ReadProduceAttempt(gs, ctx, address, std::move(response));
}

// The request of a produce of `records`; kInvalidArgument when there are none
// or it is over the message size a member accepts.
Result<v1::ProduceRequest> MakeRequest(const std::vector<Record>& records) {
  if (records.empty()) return common::InvalidArgumentError("produce: no records");
  v1::ProduceRequest request;
  for (const Record& r : records) ToProto(r, request.add_records());
  // Room for the fields each attempt adds (producer id, sequence, request id).
  constexpr size_t kAttemptFields = 64;
  const size_t bytes = request.ByteSizeLong() + kAttemptFields;
  if (bytes > static_cast<size_t>(rpc::kMaxMessageBytes)) {
    return common::InvalidArgumentError("produce: " + std::to_string(bytes) + " bytes in one request, over the " +
                                        std::to_string(rpc::kMaxMessageBytes) + " a member accepts");
  }
  return request;
}

}  // namespace

void SetTimeout(grpc::ClientContext* ctx, int64_t timeout_ns) {
  // A relative deadline (GPR_TIMESPAN): gRPC adds its own clock's now, so
  // that only common::Clock reads time in our code.
  int64_t ms = std::max<int64_t>(1, (timeout_ns + 999'999) / 1'000'000);
  ctx->set_deadline(gpr_time_from_millis(ms, GPR_TIMESPAN));
}

Status ValidateConnection(const ConnectionLimits& o) {
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

Client::Client(ClientOptions options, std::unique_ptr<common::Clock> owned_clock)
    : options_(std::move(options)),
      owned_clock_(std::move(owned_clock)),
      clock_(options_.clock != nullptr ? options_.clock : owned_clock_.get()),
      members_(std::make_unique<Members>(options_.bootstrap_addresses, options_.max_receive_bytes,
                                         options_.keepalive_ms, options_.credentials)),
      backoff_seed_(options_.seed),
      lanes_(options_.exactly_once ? std::make_unique<ProducerLanes>(options_.producer_id_seed) : nullptr),
      streams_(options_.pipelined_produce ? std::make_unique<ProduceStreams>(*members_) : nullptr),
      async_ops_(std::make_unique<AsyncOps>()) {}

Client::~Client() {
  // The streams first: the attempts pending on them end (outcome unknown),
  // and no operation can send another.
  if (streams_ != nullptr) streams_->Close();
  async_ops_->CancelAllAndWait();
}

Result<std::unique_ptr<Client>> Client::Connect(ClientOptions options) {
  RETURN_IF_ERROR(ValidateConnection(ConnectionLimits{.bootstrap_addresses = options.bootstrap_addresses,
                                                     .deadline_ms = options.deadline_ms,
                                                     .attempt_timeout_ms = options.attempt_timeout_ms,
                                                     .discovery_timeout_ms = options.discovery_timeout_ms,
                                                     .initial_backoff_ms = options.initial_backoff_ms,
                                                     .max_backoff_ms = options.max_backoff_ms}));
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
  return DiscoverBlocking(*members_, *clock_, deadline_ns, options_.discovery_timeout_ms * 1'000'000);
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

std::shared_ptr<grpc::ChannelCredentials> Client::credentials() const {
  return options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
}

ProduceRetry Client::NewProduceRetry(size_t records) {
  return ProduceRetry(*members_, lanes_.get(), records, DeadlineNs(), options_.attempt_timeout_ms * 1'000'000,
                      NewBackoff());
}

Result<ProduceResult> Client::Produce(const std::vector<Record>& records) {
  ASSIGN_OR_RETURN(v1::ProduceRequest request, MakeRequest(records));
  ProduceRetry retry = NewProduceRetry(records.size());
  ProduceRetry::Step s = retry.Start(NowNs());
  for (;;) {
    switch (s.kind) {
      case ProduceRetry::Step::Kind::kDone:
        return std::move(*s.result);
      case ProduceRetry::Step::Kind::kDiscover:
        s = retry.Discovered(Discover(retry.deadline_ns()), NowNs());
        break;
      case ProduceRetry::Step::Kind::kSend:
        SetProducer(s, &request);
        s = retry.Attempted(SendProduce(*members_, s.target, request, s.timeout_ns), NowNs());
        break;
      case ProduceRetry::Step::Kind::kWait:
        Sleep(s.delay_ns);
        s = retry.Waited(NowNs());
        break;
    }
  }
}

void Client::ProduceAsync(std::vector<Record> records, ProduceCallback done) {
  Result<v1::ProduceRequest> request = MakeRequest(records);
  const AsyncEnv env{.members = *members_,
                     .clock = *clock_,
                     .ops = *async_ops_,
                     .discovery_timeout_ns = options_.discovery_timeout_ms * 1'000'000,
                     .wait_on_clock = options_.clock != nullptr};
  Status precheck = request.status();
  async_ops_->Start(std::make_unique<AsyncProduce>(
      env, streams_.get(), std::move(precheck), request.has_value() ? std::move(*request) : v1::ProduceRequest(),
      NewProduceRetry(records.size()), std::move(done)));
}

}  // namespace replog
