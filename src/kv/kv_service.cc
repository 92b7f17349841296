#include "kv/kv_service.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include "rpc/leader_hint.h"

namespace kv {

using common::Result;
using grpc::StatusCode;

namespace {

void ToProto(std::string_view key, const KvValue& v, replog::v1::KeyValue* out) {
  out->set_key(std::string(key));
  out->set_value(v.value);
  out->set_create_revision(v.create_revision);
  out->set_mod_revision(v.mod_revision);
  out->set_version(v.version);
}

// The session fields of a request.
void SetSession(const replog::v1::WriteSession& s, KvCommand* c) {
  c->client_id = s.client_id();
  c->sequence = s.sequence();
}

// The refusal of a result that is not kOk / kCompareFailed.
common::Status Refused(const KvResult& r, const KvCommand& c) {
  const std::string session = "client " + std::to_string(c.client_id) + " sequence " + std::to_string(c.sequence);
  switch (r.code) {
    case KvResultCode::kOutOfOrder:
    case KvResultCode::kUnknownClient:
      return common::FailedPreconditionError(
          session + (r.code == KvResultCode::kOutOfOrder ? " is out of order" : " is unknown") +
          "; the next expected sequence is " + std::to_string(r.expected_sequence));
    case KvResultCode::kForgotten:
      return common::AlreadyExistsError(session + " was applied already and its response is no longer kept");
    default:
      return common::InvalidArgumentError("the write is not a valid command");
  }
}

KvCommand PutCommand(const replog::v1::PutRequest& req) {
  KvCommand c{.op = KvOp::kPut, .key = req.key(), .value = req.value()};
  SetSession(req.session(), &c);
  return c;
}

KvCommand DeleteCommand(const replog::v1::DeleteRequest& req) {
  KvCommand c{.op = KvOp::kDelete, .key = req.key()};
  SetSession(req.session(), &c);
  return c;
}

Result<KvCommand> CasCommand(const replog::v1::CompareAndSetRequest& req) {
  KvCommand c{.op = KvOp::kCas, .key = req.key(), .value = req.value(), .cas_delete = req.delete_()};
  SetSession(req.session(), &c);
  switch (req.compare().target_case()) {
    case replog::v1::Compare::kValue:
      c.compare = KvCompare{.kind = KvCompare::Kind::kValue, .value = req.compare().value()};
      break;
    case replog::v1::Compare::kModRevision:
      c.compare = KvCompare{.kind = KvCompare::Kind::kModRevision, .mod_revision = req.compare().mod_revision()};
      break;
    default:
      return common::InvalidArgumentError("compare-and-set needs a compare (value or mod_revision)");
  }
  if (c.cas_delete && !c.value.empty()) {
    return common::InvalidArgumentError("compare-and-set: a delete takes no value");
  }
  return c;
}

void FillPut(const KvResult& r, const std::string& key, replog::v1::PutResponse* resp) {
  resp->set_revision(r.revision);
  resp->set_had_previous(r.previous.has_value());
  if (r.previous.has_value()) ToProto(key, *r.previous, resp->mutable_previous());
}

void FillDelete(const KvResult& r, const std::string& key, replog::v1::DeleteResponse* resp) {
  resp->set_revision(r.revision);
  resp->set_deleted(r.previous.has_value());
  if (r.previous.has_value()) ToProto(key, *r.previous, resp->mutable_previous());
}

void FillCas(const KvResult& r, const std::string& key, replog::v1::CompareAndSetResponse* resp) {
  resp->set_revision(r.revision);
  resp->set_succeeded(r.code == KvResultCode::kOk);
  resp->set_had_current(r.previous.has_value());
  if (r.previous.has_value()) ToProto(key, *r.previous, resp->mutable_current());
}

// The error of a malformed Get, or OK.
common::Status CheckGet(const replog::v1::GetRequest& req) {
  if (req.key().empty()) return common::InvalidArgumentError("the key is empty");
  return common::Status::Ok();
}

}  // namespace

KvService::KvService(raft::Node& node, const raft::DurableStorage& storage, KvStateMachine& state_machine,
                     KvServiceOptions options)
    : node_(node),
      storage_(storage),
      sm_(state_machine),
      options_(options),
      write_streams_(
          options.max_stream_inflight,
          [this](grpc::CallbackServerContext* ctx, const replog::v1::KvWriteRequest& req, WriteStreams::Reply reply) {
            HandleStreamed(ctx, req, std::move(reply));
          },
          [this](grpc::CallbackServerContext* ctx) {
            return rpc::ShuttingDown(ctx, rpc::StoppingHint(node_.leader_hint(), node_.id()));
          }),
      read_streams_(
          options.max_stream_inflight,
          [this](grpc::CallbackServerContext* ctx, const replog::v1::KvReadRequest& req, ReadStreams::Reply reply) {
            HandleStreamedRead(ctx, req, std::move(reply));
          },
          [](grpc::CallbackServerContext* ctx) { return rpc::ShuttingDown(ctx); }) {}

KvService::~KvService() {
  std::lock_guard lock(removals_mu_);
  for (std::thread& t : removals_) t.join();
}

int64_t KvService::TimeoutOf(const grpc::CallbackServerContext* ctx) const {
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  const int64_t left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return std::clamp<int64_t>(left_ns, 1'000'000, options_.timeout_ns);
}

void KvService::Propose(Result<KvCommand> command, int64_t timeout_ns, std::function<void(WriteOutcome)> done) {
  if (shutting_down_.load()) {
    // Naming the member that took over, if any: the client goes straight there.
    done(WriteOutcome{.status = common::UnavailableError("this member is shutting down"),
                      .hint = rpc::StoppingHint(node_.leader_hint(), node_.id())});
    return;
  }
  if (!command.has_value()) {
    done(WriteOutcome{.status = command.error()});
    return;
  }
  if (common::Status s = ValidateCommand(*command, sm_.limits()); !s.ok()) {
    done(WriteOutcome{.status = s});
    return;
  }
  std::vector<std::string> commands{EncodeCommand(*command)};
  node_.ProposeAsync(std::move(commands), timeout_ns,
                     [this, c = std::move(*command), done = std::move(done)](
                         Result<std::vector<raft::ApplyResult>> applied) {
                       WriteOutcome out;
                       if (!applied.has_value()) {
                         out.status = applied.error();
                         out.hint = node_.leader_hint();
                       } else if (Result<KvResult> r = DecodeResult(applied->front().result); !r.has_value()) {
                         out.status = r.error();
                       } else {
                         out.result = std::move(*r);
                         if (out.result.code != KvResultCode::kOk && out.result.code != KvResultCode::kCompareFailed) {
                           out.status = Refused(out.result, c);
                           if (out.status.code() == common::Code::kFailedPrecondition) {
                             out.expected_sequence = out.result.expected_sequence;
                           }
                         }
                       }
                       done(std::move(out));
                     });
}

grpc::ServerUnaryReactor* KvService::Write(grpc::CallbackServerContext* ctx, Result<KvCommand> command, Fill fill) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // ctx and the response live until Finish.
  Propose(std::move(command), TimeoutOf(ctx), [ctx, reactor, fill = std::move(fill)](WriteOutcome out) {
    if (out.status.ok()) {
      fill(out.result);
      reactor->Finish(grpc::Status::OK);
      return;
    }
    if (out.expected_sequence.has_value()) {
      ctx->AddTrailingMetadata(kExpectedSequenceKey, std::to_string(*out.expected_sequence));
    }
    reactor->Finish(rpc::ToGrpcWithHint(out.status, out.hint, ctx));
  });
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* ctx, const replog::v1::PutRequest* req,
                                         replog::v1::PutResponse* resp) {
  return Write(ctx, PutCommand(*req), [resp, key = req->key()](const KvResult& r) { FillPut(r, key, resp); });
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* ctx, const replog::v1::DeleteRequest* req,
                                            replog::v1::DeleteResponse* resp) {
  return Write(ctx, DeleteCommand(*req), [resp, key = req->key()](const KvResult& r) { FillDelete(r, key, resp); });
}

grpc::ServerUnaryReactor* KvService::CompareAndSet(grpc::CallbackServerContext* ctx,
                                                   const replog::v1::CompareAndSetRequest* req,
                                                   replog::v1::CompareAndSetResponse* resp) {
  return Write(ctx, CasCommand(*req), [resp, key = req->key()](const KvResult& r) { FillCas(r, key, resp); });
}

void KvService::HandleStreamed(grpc::CallbackServerContext* ctx, const replog::v1::KvWriteRequest& req,
                               WriteStreams::Reply reply) {
  using Response = replog::v1::KvWriteResponse;
  Result<KvCommand> command = common::InvalidArgumentError("the request holds no write");
  // Fills the result of the request's kind.
  std::function<void(const KvResult&, Response*)> fill;
  switch (req.write_case()) {
    case replog::v1::KvWriteRequest::kPut:
      command = PutCommand(req.put());
      fill = [key = req.put().key()](const KvResult& r, Response* resp) { FillPut(r, key, resp->mutable_put()); };
      break;
    case replog::v1::KvWriteRequest::kDelete:
      command = DeleteCommand(req.delete_());
      fill = [key = req.delete_().key()](const KvResult& r, Response* resp) {
        FillDelete(r, key, resp->mutable_delete_());
      };
      break;
    case replog::v1::KvWriteRequest::kCompareAndSet:
      command = CasCommand(req.compare_and_set());
      fill = [key = req.compare_and_set().key()](const KvResult& r, Response* resp) {
        FillCas(r, key, resp->mutable_compare_and_set());
      };
      break;
    default:
      break;
  }
  Propose(std::move(command), TimeoutOf(ctx),
          [id = req.request_id(), fill = std::move(fill), reply = std::move(reply)](WriteOutcome out) {
            Response resp;
            resp.set_request_id(id);
            if (out.status.ok()) {
              fill(out.result, &resp);
            } else {
              rpc::SetStreamedError(out.status, out.hint, &resp);
              if (out.expected_sequence.has_value()) resp.set_expected_sequence(*out.expected_sequence);
            }
            reply(std::move(resp));
          });
}

grpc::ServerBidiReactor<replog::v1::KvWriteRequest, replog::v1::KvWriteResponse>* KvService::WriteStream(
    grpc::CallbackServerContext* ctx) {
  return write_streams_.Open(ctx);
}

void KvService::WhenReadable(replog::v1::ReadConsistency consistency, int64_t timeout_ns, ReadDone done) {
  if (shutting_down_.load()) {
    done(common::UnavailableError("this member is shutting down"), raft::LeaderHint{});
    return;
  }
  if (consistency == replog::v1::LOCAL) {
    done(common::Status::Ok(), raft::LeaderHint{});
    return;
  }
  if (consistency != replog::v1::LINEARIZABLE) {
    done(common::InvalidArgumentError("unknown read consistency " + std::to_string(consistency)), raft::LeaderHint{});
    return;
  }
  node_.ReadIndexAsync(timeout_ns, [this, done = std::move(done)](Result<uint64_t> index) {
    if (!index.has_value()) return done(index.error(), node_.leader_hint());
    done(common::Status::Ok(), raft::LeaderHint{});
  });
}

grpc::ServerUnaryReactor* KvService::Read(grpc::CallbackServerContext* ctx, const common::Status& valid,
                                          replog::v1::ReadConsistency consistency, std::function<void()> read) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (!valid.ok()) {
    reactor->Finish(rpc::ToGrpc(valid));
    return reactor;
  }
  // ctx and the response live until Finish.
  WhenReadable(consistency, TimeoutOf(ctx),
               [ctx, reactor, read = std::move(read)](const common::Status& s, const raft::LeaderHint& hint) {
                 if (!s.ok()) return reactor->Finish(rpc::ToGrpcWithHint(s, hint, ctx));
                 read();
                 reactor->Finish(grpc::Status::OK);
               });
  return reactor;
}

void KvService::FillGet(const std::string& key, replog::v1::GetResponse* resp) const {
  uint64_t at = 0;
  std::optional<KvValue> v = sm_.Get(key, &at);
  resp->set_revision(at);
  resp->set_found(v.has_value());
  if (v.has_value()) ToProto(key, *v, resp->mutable_kv());
}

void KvService::FillScan(const replog::v1::ScanRequest& req, replog::v1::ScanResponse* resp) const {
  const bool by_prefix = !req.prefix().empty();
  const std::string end = by_prefix ? KvMap::PrefixEnd(req.prefix()) : req.end();
  const uint32_t limit = req.limit() == 0 ? options_.max_scan_keys : std::min(req.limit(), options_.max_scan_keys);
  uint64_t at = 0;
  KvRange r = sm_.Range(by_prefix ? req.prefix() : req.start(), end, limit, req.keys_only(), &at);
  resp->set_revision(at);
  resp->set_more(r.more);
  for (const auto& [key, value] : r.items) ToProto(key, value, resp->add_kvs());
}

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* ctx, const replog::v1::GetRequest* req,
                                         replog::v1::GetResponse* resp) {
  return Read(ctx, CheckGet(*req), req->consistency(), [this, req, resp] { FillGet(req->key(), resp); });
}

grpc::ServerUnaryReactor* KvService::Scan(grpc::CallbackServerContext* ctx, const replog::v1::ScanRequest* req,
                                          replog::v1::ScanResponse* resp) {
  return Read(ctx, common::Status::Ok(), req->consistency(), [this, req, resp] { FillScan(*req, resp); });
}

void KvService::HandleStreamedRead(grpc::CallbackServerContext* ctx, const replog::v1::KvReadRequest& req,
                                   ReadStreams::Reply reply) {
  using Response = replog::v1::KvReadResponse;
  common::Status valid = common::InvalidArgumentError("the request holds no read");
  replog::v1::ReadConsistency consistency = replog::v1::LINEARIZABLE;
  // Fills the result of the request's kind once the read may be served.
  std::function<void(Response*)> fill;
  switch (req.read_case()) {
    case replog::v1::KvReadRequest::kGet:
      valid = CheckGet(req.get());
      consistency = req.get().consistency();
      fill = [this, key = req.get().key()](Response* resp) { FillGet(key, resp->mutable_get()); };
      break;
    case replog::v1::KvReadRequest::kScan:
      valid = common::Status::Ok();
      consistency = req.scan().consistency();
      fill = [this, scan = req.scan()](Response* resp) { FillScan(scan, resp->mutable_scan()); };
      break;
    default:
      break;
  }
  auto answer = [id = req.request_id(), fill = std::move(fill), reply = std::move(reply)](
                    const common::Status& s, const raft::LeaderHint& hint) {
    Response resp;
    resp.set_request_id(id);
    if (s.ok()) {
      fill(&resp);
    } else {
      rpc::SetStreamedError(s, hint, &resp);
    }
    reply(std::move(resp));
  };
  if (!valid.ok()) return answer(valid, raft::LeaderHint{});
  WhenReadable(consistency, TimeoutOf(ctx), std::move(answer));
}

grpc::ServerBidiReactor<replog::v1::KvReadRequest, replog::v1::KvReadResponse>* KvService::ReadStream(
    grpc::CallbackServerContext* ctx) {
  return read_streams_.Open(ctx);
}

grpc::ServerUnaryReactor* KvService::Status(grpc::CallbackServerContext* ctx, const replog::v1::KvStatusRequest*,
                                            replog::v1::KvStatusResponse* resp) {
  const raft::NodeStatus st = node_.GetStatus();
  const KvStats stats = sm_.GetStats();
  resp->set_member_id(st.id);
  resp->set_leader_id(st.leader);
  resp->set_term(st.term);
  resp->set_applied_index(stats.applied);
  resp->set_commit_index(st.commit);
  resp->set_first_index(st.first_index);
  resp->set_last_index(st.last_index);
  if (std::optional<raft::SnapshotMeta> m = storage_.snapshot_meta()) resp->set_snapshot_index(m->index);
  resp->set_keys(stats.keys);
  resp->set_bytes(stats.bytes);
  resp->set_hash(stats.hash);
  for (raft::NodeId id : st.conf_state.voters) resp->add_voters(id);
  for (raft::NodeId id : st.conf_state.learners) resp->add_learners(id);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* KvService::RemoveMember(grpc::CallbackServerContext* ctx,
                                                  const replog::v1::KvRemoveMemberRequest* req,
                                                  replog::v1::KvRemoveMemberResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const raft::NodeStatus st = node_.GetStatus();
  auto fill = [resp](const raft::ConfState& cs) {
    for (raft::NodeId id : cs.voters) resp->add_voters(id);
    for (raft::NodeId id : cs.learners) resp->add_learners(id);
  };
  if (shutting_down_.load()) {
    reactor->Finish(rpc::ShuttingDown(ctx));
  } else if (st.role != raft::Role::kLeader) {
    reactor->Finish(
        rpc::ToGrpcWithHint(common::UnavailableError("not the KV group's leader"), node_.leader_hint(), ctx));
  } else if (req->id() == st.id) {
    reactor->Finish(grpc::Status(StatusCode::FAILED_PRECONDITION,
                                 "member " + std::to_string(req->id()) + " leads the KV group and is running"));
  } else if (std::find(st.conf_state.voters.begin(), st.conf_state.voters.end(), req->id()) ==
                 st.conf_state.voters.end() &&
             std::find(st.conf_state.learners.begin(), st.conf_state.learners.end(), req->id()) ==
                 st.conf_state.learners.end()) {
    resp->set_removed(false);
    fill(st.conf_state);
    reactor->Finish(grpc::Status::OK);
  } else {
    raft::ConfChange cc;
    cc.changes.push_back({raft::ConfChangeType::kRemove, req->id()});
    std::future<common::Status> done = node_.ChangeMembership(std::move(cc), {}, TimeoutOf(ctx));
    std::lock_guard lock(removals_mu_);
    removals_.emplace_back([this, reactor, resp, fill, done = std::move(done)]() mutable {
      common::Status s = done.get();
      if (s.ok()) {
        resp->set_removed(true);
        fill(node_.GetStatus().conf_state);
      }
      reactor->Finish(rpc::ToGrpc(s));
    });
  }
  return reactor;
}

}  // namespace kv
