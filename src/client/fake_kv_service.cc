#include "client/fake_kv_service.h"

#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "common/status.h"
#include "replog/v1/kv.grpc.pb.h"
#include "replog/v1/log.grpc.pb.h"
#include "rpc/leader_hint.h"

namespace replog::testing {

namespace {

// What the fake remembers of one client id: its next sequence and the
// response of every write it applied.
struct ClientSession {
  uint64_t next = 0;
  std::map<uint64_t, std::string> responses;  // sequence -> serialized response
};

// The leader a refused write names goes in trailing metadata for a call, in
// the response for a WriteStream request.
using KvHint = rpc::LeaderHint;

// Adds `hint`, if any, to `ctx` as the server does.
void AddHint(const std::optional<KvHint>& hint, grpc::ServerContext* ctx) {
  if (!hint.has_value()) return;
  ctx->AddTrailingMetadata(rpc::kLeaderIdKey, std::to_string(hint->id));
  if (hint->id != 0) ctx->AddTrailingMetadata(rpc::kLeaderAddressKey, hint->address);
}

struct KvMember {
  std::string address;
  std::deque<KvWriteFault> write_faults;
  std::deque<grpc::StatusCode> read_faults;
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t streamed_reads = 0;  // of `reads`
};

}  // namespace

struct FakeKvState {
  std::mutex mu;
  std::vector<KvMember> members;  // [id - 1]
  uint64_t kv_leader = 1;
  uint64_t log_leader = 1;
  uint64_t revision = 0;  // of the last applied write
  uint64_t applied = 0;
  std::map<std::string, v1::KeyValue> map;
  std::unordered_map<uint64_t, ClientSession> sessions;
  std::vector<KvWriteSeen> write_log;

  // Sets `key` to `value` by the write at revision `at`.
  void SetLocked(const std::string& key, const std::string& value, uint64_t at) {
    v1::KeyValue& kv = map[key];
    if (kv.key().empty()) {
      kv.set_key(key);
      kv.set_create_revision(at);
    }
    kv.set_value(value);
    kv.set_mod_revision(at);
    kv.set_version(kv.version() + 1);
  }

  // The KV leader, as a refusal names it.
  KvHint LeaderHintLocked() const {
    return KvHint{.id = kv_leader, .address = kv_leader != 0 ? members[kv_leader - 1].address : ""};
  }

  // Applies a write of `session` as the KV leader would: `apply(revision,
  // response)` changes the map and fills the response, once per session
  // sequence; a duplicate gets the first response back.
  template <typename Response, typename Apply>
  grpc::Status ApplyLocked(const v1::WriteSession& session, Response* response, const Apply& apply) {
    const uint64_t id = session.client_id();
    const uint64_t seq = session.sequence();
    if (id != 0) {
      auto it = sessions.find(id);
      const uint64_t next = it == sessions.end() ? 0 : it->second.next;
      if (seq < next) {
        response->ParseFromString(it->second.responses.at(seq));
        return grpc::Status::OK;
      }
      if (seq > next) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "client " + std::to_string(id) + ": sequence " + std::to_string(seq) +
                                " out of order, expected " + std::to_string(next));
      }
    }
    revision++;
    applied++;
    apply(revision, response);
    if (id != 0) {
      ClientSession& c = sessions[id];
      c.responses[seq] = response->SerializeAsString();
      c.next = seq + 1;
    }
    return grpc::Status::OK;
  }
};

class FakeKvCluster::KvService final : public v1::KV::Service {
 public:
  KvService(std::shared_ptr<FakeKvState> state, uint64_t id) : state_(std::move(state)), id_(id) {}

  grpc::Status Put(grpc::ServerContext* ctx, const v1::PutRequest* req, v1::PutResponse* resp) override {
    std::optional<KvHint> hint;
    const grpc::Status s = DoPut(*req, resp, &hint, false);
    AddHint(hint, ctx);
    return s;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteRequest* req, v1::DeleteResponse* resp) override {
    std::optional<KvHint> hint;
    const grpc::Status s = DoDelete(*req, resp, &hint, false);
    AddHint(hint, ctx);
    return s;
  }

  grpc::Status CompareAndSet(grpc::ServerContext* ctx, const v1::CompareAndSetRequest* req,
                             v1::CompareAndSetResponse* resp) override {
    std::optional<KvHint> hint;
    const grpc::Status s = DoCas(*req, resp, &hint, false);
    AddHint(hint, ctx);
    return s;
  }

  // Each request in turn, answered before the next is read.
  grpc::Status WriteStream(grpc::ServerContext*,
                           grpc::ServerReaderWriter<v1::KvWriteResponse, v1::KvWriteRequest>* stream) override {
    v1::KvWriteRequest req;
    while (stream->Read(&req)) {
      v1::KvWriteResponse resp;
      std::optional<KvHint> hint;
      grpc::Status s;
      switch (req.write_case()) {
        case v1::KvWriteRequest::kPut:
          s = DoPut(req.put(), resp.mutable_put(), &hint, true);
          break;
        case v1::KvWriteRequest::kDelete:
          s = DoDelete(req.delete_(), resp.mutable_delete_(), &hint, true);
          break;
        case v1::KvWriteRequest::kCompareAndSet:
          s = DoCas(req.compare_and_set(), resp.mutable_compare_and_set(), &hint, true);
          break;
        default:
          s = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no write");
      }
      if (!s.ok()) {
        resp.Clear();
        resp.set_error_code(s.error_code());
        resp.set_error_message(s.error_message());
        if (hint.has_value()) {
          resp.set_leader_id(hint->id);
          resp.set_leader_address(hint->address);
        }
      }
      resp.set_request_id(req.request_id());
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest* req, v1::GetResponse* resp) override {
    std::lock_guard lock(state_->mu);
    if (std::optional<grpc::Status> f = ReadFault()) return *f;
    if (req->key().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty key");
    auto it = state_->map.find(req->key());
    if (it != state_->map.end()) {
      resp->set_found(true);
      *resp->mutable_kv() = it->second;
    }
    resp->set_revision(state_->revision);
    return grpc::Status::OK;
  }

  grpc::Status Scan(grpc::ServerContext*, const v1::ScanRequest* req, v1::ScanResponse* resp) override {
    std::lock_guard lock(state_->mu);
    if (std::optional<grpc::Status> f = ReadFault()) return *f;
    const bool by_prefix = !req->prefix().empty();
    const uint32_t limit = req->limit() == 0 ? 10'000 : req->limit();
    for (auto it = state_->map.lower_bound(by_prefix ? req->prefix() : req->start()); it != state_->map.end(); ++it) {
      if (by_prefix && !it->first.starts_with(req->prefix())) break;
      if (!by_prefix && !req->end().empty() && it->first >= req->end()) break;
      if (static_cast<uint32_t>(resp->kvs_size()) == limit) {
        resp->set_more(true);
        break;
      }
      v1::KeyValue* kv = resp->add_kvs();
      *kv = it->second;
      if (req->keys_only()) kv->clear_value();
    }
    resp->set_revision(state_->revision);
    return grpc::Status::OK;
  }

  // Each request in turn, answered as the unary read would be, with the
  // error in the response.
  grpc::Status ReadStream(grpc::ServerContext*,
                          grpc::ServerReaderWriter<v1::KvReadResponse, v1::KvReadRequest>* stream) override {
    v1::KvReadRequest req;
    while (stream->Read(&req)) {
      {
        std::lock_guard lock(state_->mu);
        state_->members[id_ - 1].streamed_reads++;
      }
      v1::KvReadResponse resp;
      grpc::Status s;
      switch (req.read_case()) {
        case v1::KvReadRequest::kGet:
          s = Get(nullptr, &req.get(), resp.mutable_get());
          break;
        case v1::KvReadRequest::kScan:
          s = Scan(nullptr, &req.scan(), resp.mutable_scan());
          break;
        default:
          s = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no read");
      }
      if (!s.ok()) {
        resp.Clear();
        resp.set_error_code(s.error_code());
        resp.set_error_message(s.error_message());
      }
      resp.set_request_id(req.request_id());
      if (!stream->Write(resp)) break;
    }
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext*, const v1::KvStatusRequest*, v1::KvStatusResponse* resp) override {
    std::lock_guard lock(state_->mu);
    resp->set_member_id(id_);
    resp->set_leader_id(state_->kv_leader);
    resp->set_term(3);
    resp->set_applied_index(state_->revision);
    resp->set_commit_index(state_->revision);
    resp->set_last_index(state_->revision);
    resp->set_keys(state_->map.size());
    for (uint64_t i = 1; i <= state_->members.size(); i++) resp->add_voters(i);
    return grpc::Status::OK;
  }

 private:
  grpc::Status DoPut(const v1::PutRequest& req, v1::PutResponse* resp, std::optional<KvHint>* hint, bool streamed) {
    return Write(hint, streamed, "put", req.key(), req.session(), resp, [&](uint64_t rev, v1::PutResponse* r) {
      auto it = state_->map.find(req.key());
      if (it != state_->map.end()) {
        r->set_had_previous(true);
        *r->mutable_previous() = it->second;
      }
      state_->SetLocked(req.key(), req.value(), rev);
      r->set_revision(rev);
    });
  }

  grpc::Status DoDelete(const v1::DeleteRequest& req, v1::DeleteResponse* resp, std::optional<KvHint>* hint,
                        bool streamed) {
    return Write(hint, streamed, "delete", req.key(), req.session(), resp, [&](uint64_t rev, v1::DeleteResponse* r) {
      auto it = state_->map.find(req.key());
      if (it != state_->map.end()) {
        r->set_deleted(true);
        *r->mutable_previous() = it->second;
        state_->map.erase(it);
      }
      r->set_revision(rev);
    });
  }

  grpc::Status DoCas(const v1::CompareAndSetRequest& req, v1::CompareAndSetResponse* resp,
                     std::optional<KvHint>* hint, bool streamed) {
    if (req.compare().target_case() == v1::Compare::TARGET_NOT_SET) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no compare");
    }
    auto apply = [&](uint64_t rev, v1::CompareAndSetResponse* r) {
      auto it = state_->map.find(req.key());
      const bool exists = it != state_->map.end();
      bool holds = false;
      if (req.compare().has_value()) holds = exists && it->second.value() == req.compare().value();
      else holds = (exists ? it->second.mod_revision() : 0) == req.compare().mod_revision();
      if (exists) {
        r->set_had_current(true);
        *r->mutable_current() = it->second;
      }
      r->set_revision(rev);
      r->set_succeeded(holds);
      if (!holds) return;
      if (req.delete_()) {
        state_->map.erase(req.key());
        return;
      }
      state_->SetLocked(req.key(), req.value(), rev);
    };
    return Write(hint, streamed, "cas", req.key(), req.session(), resp, apply);
  }

  // A write of `op` on this member: scripted fault, not the leader, a
  // malformed key, or ApplyLocked. `hint` gets the leader a refusal names.
  template <typename Response, typename Apply>
  grpc::Status Write(std::optional<KvHint>* hint, bool streamed, const char* op, const std::string& key,
                     const v1::WriteSession& session, Response* resp, const Apply& apply) {
    std::lock_guard lock(state_->mu);
    KvMember& m = state_->members[id_ - 1];
    m.writes++;
    state_->write_log.push_back(KvWriteSeen{id_, op, session.client_id(), session.sequence(), streamed});
    if (!m.write_faults.empty()) {
      const KvWriteFault f = m.write_faults.front();
      m.write_faults.pop_front();
      if (f.apply_first) {
        Response lost;
        (void)state_->ApplyLocked(session, &lost, apply);
      }
      if (f.code == grpc::StatusCode::UNAVAILABLE && f.hint == FaultHint::kLeader) *hint = state_->LeaderHintLocked();
      if (f.code == grpc::StatusCode::UNAVAILABLE && f.hint == FaultHint::kLeaderless) *hint = KvHint{};
      return grpc::Status(f.code, "fake fault");
    }
    if (state_->kv_leader != id_) {
      *hint = state_->LeaderHintLocked();
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the KV leader");
    }
    if (key.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "empty key");
    return state_->ApplyLocked(session, resp, apply);
  }

  std::optional<grpc::Status> ReadFault() {
    KvMember& m = state_->members[id_ - 1];
    m.reads++;
    if (m.read_faults.empty()) return std::nullopt;
    grpc::StatusCode code = m.read_faults.front();
    m.read_faults.pop_front();
    return grpc::Status(code, "fake read fault");
  }

  std::shared_ptr<FakeKvState> state_;
  const uint64_t id_;
};

// GetServers only: the members and the log group's leader.
class FakeKvCluster::LogService final : public v1::Log::Service {
 public:
  explicit LogService(std::shared_ptr<FakeKvState> state) : state_(std::move(state)) {}

  grpc::Status GetServers(grpc::ServerContext*, const v1::GetServersRequest*, v1::GetServersResponse* resp) override {
    std::lock_guard lock(state_->mu);
    for (uint64_t i = 1; i <= state_->members.size(); i++) {
      v1::Server* s = resp->add_servers();
      s->set_id(i);
      s->set_address(state_->members[i - 1].address);
      s->set_is_leader(i == state_->log_leader);
      s->set_role(i == state_->log_leader ? "leader" : "follower");
    }
    resp->set_leader_id(state_->log_leader);
    resp->set_term(3);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<FakeKvState> state_;
};

struct FakeKvCluster::Member {
  std::unique_ptr<KvService> kv;
  std::unique_ptr<LogService> log;
  std::unique_ptr<grpc::Server> server;
};

FakeKvCluster::FakeKvCluster(int members) : state_(std::make_shared<FakeKvState>()) {
  state_->members.resize(static_cast<size_t>(members));
  for (int i = 0; i < members; i++) {
    auto m = std::make_unique<Member>();
    m->kv = std::make_unique<KvService>(state_, static_cast<uint64_t>(i + 1));
    m->log = std::make_unique<LogService>(state_);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(m->kv.get());
    builder.RegisterService(m->log.get());
    m->server = builder.BuildAndStart();
    CHECK_MSG(m->server != nullptr && port != 0, "fake server did not start");
    state_->members[static_cast<size_t>(i)].address = "127.0.0.1:" + std::to_string(port);
    members_.push_back(std::move(m));
  }
}

FakeKvCluster::~FakeKvCluster() {
  for (auto& m : members_) m->server->Shutdown();
}

std::vector<std::string> FakeKvCluster::addresses() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const KvMember& m : state_->members) out.push_back(m.address);
  return out;
}

std::string FakeKvCluster::address(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).address;
}

void FakeKvCluster::SetKvLeader(uint64_t id) {
  std::lock_guard lock(state_->mu);
  state_->kv_leader = id;
}

void FakeKvCluster::SetLogLeader(uint64_t id) {
  std::lock_guard lock(state_->mu);
  state_->log_leader = id;
}

void FakeKvCluster::AddWriteFault(uint64_t id, KvWriteFault fault) {
  std::lock_guard lock(state_->mu);
  state_->members.at(id - 1).write_faults.push_back(fault);
}

void FakeKvCluster::AddReadFault(uint64_t id, grpc::StatusCode code) {
  std::lock_guard lock(state_->mu);
  state_->members.at(id - 1).read_faults.push_back(code);
}

void FakeKvCluster::Put(const std::string& key, const std::string& value) {
  std::lock_guard lock(state_->mu);
  v1::PutResponse ignored;
  (void)state_->ApplyLocked(v1::WriteSession(), &ignored,
                            [&](uint64_t rev, v1::PutResponse*) { state_->SetLocked(key, value, rev); });
}

void FakeKvCluster::ForgetSessions() {
  std::lock_guard lock(state_->mu);
  state_->sessions.clear();
}

void FakeKvCluster::Stop(uint64_t id) {
  Member& m = *members_.at(id - 1);
  m.server->Shutdown();
  m.server->Wait();
}

uint64_t FakeKvCluster::writes(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).writes;
}

uint64_t FakeKvCluster::reads(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).reads;
}

uint64_t FakeKvCluster::streamed_reads(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).streamed_reads;
}

std::vector<KvWriteSeen> FakeKvCluster::write_log() const {
  std::lock_guard lock(state_->mu);
  return state_->write_log;
}

uint64_t FakeKvCluster::applied() const {
  std::lock_guard lock(state_->mu);
  return state_->applied;
}

std::map<std::string, std::string> FakeKvCluster::data() const {
  std::lock_guard lock(state_->mu);
  std::map<std::string, std::string> out;
  for (const auto& [k, kv] : state_->map) out[k] = kv.value();
  return out;
}

}  // namespace replog::testing
