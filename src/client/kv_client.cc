// replog::KvClient: members, writes to the KV leader with exactly-once
// lanes, reads spread over the members (kv_client.h has the rules).

#include "client/kv_client.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "client/async_op.h"
#include "client/backoff.h"
#include "client/client_internal.h"
#include "client/discovery_round.h"
#include "client/kv_async.h"
#include "client/kv_convert.h"
#include "client/kv_retry.h"
#include "client/kv_streams.h"
#include "client/members.h"
#include "client/producer_lanes.h"
#include "client/rpc_outcome.h"
#include "replog/v1/kv.grpc.pb.h"

namespace replog {

using common::Code;
using common::Result;
using common::Status;

namespace {

// One blocking RPC's stub and context: to the member at `target` once its
// connection is up (Members::Connected), bounded by timeout_ns.
struct BlockingRpc {
  BlockingRpc(Members& members, const std::string& target, int64_t timeout_ns)
      : stub(v1::KV::NewStub(members.Connected(target, timeout_ns))) {
    SetTimeout(&ctx, timeout_ns);
  }
  std::unique_ptr<v1::KV::Stub> stub;
  grpc::ClientContext ctx;
};

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
      kv_leader_(std::make_unique<KvLeader>()),
      lanes_(options_.exactly_once ? std::make_unique<ProducerLanes>(options_.client_id_seed) : nullptr),
      backoff_seed_(options_.seed),
      async_ops_(std::make_unique<AsyncOps>()),
      write_streams_(options_.pipelined_writes ? std::make_unique<KvWriteStreams>(*members_) : nullptr),
      read_streams_(options_.pipelined_reads ? std::make_unique<KvReadStreams>(*members_) : nullptr) {}

KvClient::~KvClient() {
  // The streams first: the attempts pending on them end (outcome unknown),
  // and no operation can send another.
  if (write_streams_ != nullptr) write_streams_->Close();
  if (read_streams_ != nullptr) read_streams_->Close();
  async_ops_->CancelAllAndWait();
}

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
  return Backoff(options_.initial_backoff_ms * 1'000'000, options_.max_backoff_ms * 1'000'000,
                 backoff_seed_.fetch_add(1, std::memory_order_relaxed));
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

std::string KvClient::kv_leader_address() const { return kv_leader_->address(); }

KvWriteRetry KvClient::NewWriteRetry(const std::string& op) {
  return KvWriteRetry(*members_, *kv_leader_, lanes_.get(), op, DeadlineNs(), options_.attempt_timeout_ms * 1'000'000,
                      NewBackoff());
}

KvReadRetry KvClient::NewReadRetry(const std::string& op) {
  return KvReadRetry(*members_, op, DeadlineNs(), options_.attempt_timeout_ms * 1'000'000, NewBackoff(),
                     options_.read_from, options_.read_from == ReadFrom::kAny ? "" : kv_leader_->address());
}

Status KvClient::Write(WriteCall& call) {
  using Kind = KvWriteRetry::Step::Kind;
  KvWriteRetry retry = NewWriteRetry(call.op);
  KvWriteRetry::Step s = retry.Start(NowNs());
  for (;;) {
    switch (s.kind) {
      case Kind::kDone:
        call.info = retry.info();
        return s.status;
      case Kind::kSend: {
        BlockingRpc rpc(*members_, s.target, s.timeout_ns);
        const grpc::Status gs = call.send(*rpc.stub, rpc.ctx, s.session);
        s = retry.Attempted(ReadKvWriteAttempt(gs, rpc.ctx, s.target, call.op), NowNs());
        break;
      }
      case Kind::kWait:
        clock_->SleepNanos(s.delay_ns);
        s = retry.Waited(NowNs());
        break;
    }
  }
}

Result<PutResult> KvClient::Put(std::string_view key, std::string_view value) {
  v1::PutRequest request = MakePutRequest(key, value);
  v1::PutResponse response;
  WriteCall call{.op = "put",
                 .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx, const v1::WriteSession& session) {
                   *request.mutable_session() = session;
                   response.Clear();
                   return stub.Put(&ctx, request, &response);
                 }};
  RETURN_IF_ERROR(Write(call));
  return ToPutResult(response, std::move(call.info));
}

void KvClient::PutAsync(std::string_view key, std::string_view value, PutCallback done) {
  // The request and response of every attempt, shared by start and finish.
  struct Rpc {
    v1::PutRequest request;
    v1::PutResponse response;
  };
  auto rpc = std::make_shared<Rpc>(Rpc{.request = MakePutRequest(key, value)});
  AsyncKvWriteCall call{
      .op = "put",
      .start =
          [rpc](v1::KV::Stub& stub, grpc::ClientContext* ctx, const v1::WriteSession& session, RpcDone rpc_done) {
            *rpc->request.mutable_session() = session;
            rpc->response.Clear();
            stub.async()->Put(ctx, &rpc->request, &rpc->response, std::move(rpc_done));
          },
      .finish =
          [rpc, done = std::move(done)](const common::Status& status, const WriteInfo& info) {
            if (!status.ok()) return done(status);
            done(ToPutResult(rpc->response, info));
          },
      .stream_request =
          [rpc](const v1::WriteSession& session) {
            v1::KvWriteRequest req;
            *req.mutable_put() = rpc->request;
            *req.mutable_put()->mutable_session() = session;
            return req;
          },
      .stream_answer = [rpc](v1::KvWriteResponse answer) { rpc->response = std::move(*answer.mutable_put()); }};
  async_ops_->Start(
      std::make_unique<AsyncKvWrite>(AsyncEnvOf(), write_streams_.get(), NewWriteRetry(call.op), std::move(call)));
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
  using Kind = KvReadRetry::Step::Kind;
  KvReadRetry retry = NewReadRetry(call.op);
  KvReadRetry::Step s = retry.Start(NowNs());
  for (;;) {
    switch (s.kind) {
      case Kind::kDone:
        call.served_by = retry.served_by();
        return s.status;
      case Kind::kSend: {
        BlockingRpc rpc(*members_, s.target, s.timeout_ns);
        s = retry.Attempted(call.send(*rpc.stub, rpc.ctx), NowNs());
        break;
      }
      case Kind::kWait:
        clock_->SleepNanos(s.delay_ns);
        s = retry.Waited(NowNs());
        break;
      case Kind::kDiscover:
        // Errors are ignored: the old view stays and is tried again.
        DiscoverBlocking(*members_, *clock_, retry.deadline_ns(), options_.discovery_timeout_ms * 1'000'000)
            .IgnoreError();
        s = retry.Discovered(NowNs());
        break;
    }
  }
}

Result<GetResult> KvClient::Get(std::string_view key, ReadConsistency consistency) {
  v1::GetRequest request = MakeGetRequest(key, consistency);
  v1::GetResponse response;
  ReadCall call{.op = "get", .send = [&](v1::KV::Stub& stub, grpc::ClientContext& ctx) {
                  response.Clear();
                  return stub.Get(&ctx, request, &response);
                }};
  RETURN_IF_ERROR(Read(call));
  return ToGetResult(response, std::move(call.served_by));
}

void KvClient::GetAsync(std::string_view key, ReadConsistency consistency, GetCallback done) {
  struct Rpc {
    v1::GetRequest request;
    v1::GetResponse response;
  };
  auto rpc = std::make_shared<Rpc>(Rpc{.request = MakeGetRequest(key, consistency)});
  AsyncKvReadCall call{.op = "get",
                       .start =
                           [rpc](v1::KV::Stub& stub, grpc::ClientContext* ctx, RpcDone rpc_done) {
                             rpc->response.Clear();
                             stub.async()->Get(ctx, &rpc->request, &rpc->response, std::move(rpc_done));
                           },
                       .finish =
                           [rpc, done = std::move(done)](const common::Status& status, const std::string& served_by) {
                             if (!status.ok()) return done(status);
                             done(ToGetResult(rpc->response, served_by));
                           },
                       .stream_request =
                           [rpc] {
                             v1::KvReadRequest req;
                             *req.mutable_get() = rpc->request;
                             return req;
                           },
                       .stream_answer = [rpc](v1::KvReadResponse answer) {
                         rpc->response = std::move(*answer.mutable_get());
                       }};
  async_ops_->Start(
      std::make_unique<AsyncKvRead>(AsyncEnvOf(), read_streams_.get(), NewReadRetry(call.op), std::move(call)));
}

AsyncEnv KvClient::AsyncEnvOf() {
  return AsyncEnv{.members = *members_,
                  .clock = *clock_,
                  .ops = *async_ops_,
                  .discovery_timeout_ns = options_.discovery_timeout_ms * 1'000'000,
                  .wait_on_clock = options_.clock != nullptr};
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
  BlockingRpc rpc(*members_, address, options_.attempt_timeout_ms * 1'000'000);
  v1::KvStatusResponse response;
  RETURN_IF_ERROR(FromGrpc(rpc.stub->Status(&rpc.ctx, v1::KvStatusRequest(), &response), "kv status of " + address));
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
