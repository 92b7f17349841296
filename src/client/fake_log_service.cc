#include "client/fake_log_service.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>

#include "client/convert.h"
#include "client/rpc_outcome.h"
#include "common/status.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog::testing {

namespace {

constexpr uint32_t kDefaultMaxRecords = 100;
// How often a waiting stream looks at its call's cancellation (the sync
// API gives no callback for it).
constexpr auto kStreamPoll = std::chrono::milliseconds(2);
// Trailing metadata of a refused sequence (log.proto).
constexpr char kExpectedSequenceKey[] = "replog-expected-sequence";

// What the fake remembers of one producer id.
struct ProducerState {
  uint64_t next = 0;                   // sequence of its next new record
  std::map<uint64_t, uint64_t> offsets;  // sequence -> offset, of stored records
};

struct StreamBreak {
  size_t records = 0;
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
};

struct MemberState {
  std::string address;
  std::deque<ProduceFault> faults;
  std::optional<uint64_t> end;
  std::optional<StreamBreak> stream_break;
  uint64_t produces = 0;
  uint64_t consumes = 0;
  uint64_t streams = 0;
  bool stopped = false;
};

// The trailing metadata of an answer (leader hint, expected sequence); a
// ProduceStream response carries the same in its fields.
using Meta = std::vector<std::pair<std::string, std::string>>;

}  // namespace

struct FakeState {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Record> log;  // log[i].offset == first + i
  uint64_t first = 1;
  uint64_t leader = 1;
  std::optional<uint64_t> advertised;
  bool hint_when_leaderless = true;
  bool shutting_down = false;
  std::vector<MemberState> members;  // [id - 1]
  std::unordered_map<uint64_t, ProducerState> producers;
  std::vector<ProduceSeen> produce_log;
  uint64_t refused_sequences = 0;
  bool remember_offsets = true;

  uint64_t LastOffset() const { return first + log.size() - 1; }  // first - 1 when empty
  uint64_t EndOf(uint64_t id) const {
    const MemberState& m = members[id - 1];
    return m.end.has_value() ? std::min(*m.end, LastOffset()) : LastOffset();
  }
  std::vector<uint64_t> AppendLocked(const std::vector<Record>& records) {
    std::vector<uint64_t> offsets;
    for (Record r : records) {
      r.offset = first + log.size();
      offsets.push_back(r.offset);
      log.push_back(std::move(r));
    }
    cv.notify_all();
    return offsets;
  }
  // Stores `records` of `req` as the leader would, with the exactly-once
  // rules for a request with a producer id; fills `resp` with the offsets.
  grpc::Status StoreLocked(Meta* meta, const v1::ProduceRequest& req, const std::vector<Record>& records,
                           v1::ProduceResponse* resp) {
    const uint64_t id = req.producer_id();
    const uint64_t seq = req.sequence();
    if (id == 0) {
      if (seq != 0) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sequence without producer_id");
      for (uint64_t o : AppendLocked(records)) resp->add_offsets(o);
      return grpc::Status::OK;
    }
    auto it = producers.find(id);
    const bool known = it != producers.end();
    const uint64_t next = known ? it->second.next : 0;
    if ((!known && seq != 0) || seq > next) {
      refused_sequences++;
      meta->emplace_back(kExpectedSequenceKey, std::to_string(next));
      const std::string p = std::to_string(id);
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          known ? "out of order: producer " + p + " expects sequence " + std::to_string(next) +
                                      ", got " + std::to_string(seq)
                                : "producer " + p + " is unknown");
    }
    ProducerState& p = producers[id];
    bool forgotten = false;
    for (size_t i = 0; i < records.size(); i++) {
      const uint64_t s = seq + i;
      if (s < p.next) {
        auto o = p.offsets.find(s);
        if (o == p.offsets.end()) forgotten = true;
        else resp->add_offsets(o->second);
        continue;
      }
      const uint64_t offset = AppendLocked({records[i]}).front();
      if (remember_offsets) p.offsets[s] = offset;
      p.next = s + 1;
      resp->add_offsets(offset);
    }
    if (!forgotten) return grpc::Status::OK;
    resp->clear_offsets();
    return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "already stored; offset no longer remembered");
  }
  // The leader hint of an UNAVAILABLE answer, as log.proto describes it.
  void AddHint(Meta* meta) const {
    if (leader != 0) {
      meta->emplace_back(rpc::kLeaderIdKey, std::to_string(leader));
      meta->emplace_back(rpc::kLeaderAddressKey, members[leader - 1].address);
    } else if (hint_when_leaderless) {
      meta->emplace_back(rpc::kLeaderIdKey, "0");
    }
  }
  // OUT_OF_RANGE unless `from` is in [first, end + 1] of member `id`.
  grpc::Status CheckRange(uint64_t id, uint64_t from) const {
    uint64_t end = EndOf(id);
    if (from >= first && from <= end + 1) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "offset " + std::to_string(from) + " is outside [" +
                                                            std::to_string(first) + ", " + std::to_string(end + 1) +
                                                            "]");
  }
  // Records [from, min(end of `id`, limit)] into `resp`, within `max_records`.
  void Fill(uint64_t id, uint64_t from, uint32_t max_records, v1::ConsumeResponse* resp) const {
    uint64_t end = EndOf(id);
    uint64_t next = from;
    while (next <= end && static_cast<uint32_t>(resp->records_size()) < max_records) {
      v1::Record* r = resp->add_records();
      ToProto(log[next - first], r);
      r->set_offset(next);
      next++;
    }
    resp->set_next_offset(next);
    resp->set_first_offset(first);
    resp->set_committed_offset(end);
  }
};

class FakeCluster::Service final : public v1::Log::Service {
 public:
  Service(std::shared_ptr<FakeState> state, uint64_t id) : state_(std::move(state)), id_(id) {}

  grpc::Status Produce(grpc::ServerContext* ctx, const v1::ProduceRequest* req, v1::ProduceResponse* resp) override {
    std::unique_lock lock(state_->mu);
    Meta meta;
    bool transport = false;
    std::optional<grpc::Status> status = AnswerLocked(lock, ctx, *req, resp, &meta, &transport);
    for (const auto& [key, value] : meta) ctx->AddTrailingMetadata(key, value);
    return *status;
  }

  // As Produce, each request answered in order on the stream with the
  // metadata in its fields. A held request is never answered (the client
  // gives up on it); a fault without a hint, or with end_stream, ends the
  // stream with its code, as a broken connection would.
  grpc::Status ProduceStream(grpc::ServerContext* /*ctx*/,
                             grpc::ServerReaderWriter<v1::ProduceResponse, v1::ProduceRequest>* stream) override {
    v1::ProduceRequest req;
    while (stream->Read(&req)) {
      v1::ProduceResponse resp;
      Meta meta;
      bool transport = false;
      std::optional<grpc::Status> status;
      {
        std::unique_lock lock(state_->mu);
        status = AnswerLocked(lock, nullptr, req, &resp, &meta, &transport);
      }
      if (!status.has_value()) continue;
      if (transport) return *status;
      resp.set_request_id(req.request_id());
      if (!status->ok()) {
        resp.clear_offsets();
        resp.set_error_code(static_cast<int>(status->error_code()));
        resp.set_error_message(status->error_message());
      }
      for (const auto& [key, value] : meta) {
        if (key == rpc::kLeaderIdKey) resp.set_leader_id(std::stoull(value));
        if (key == rpc::kLeaderAddressKey) resp.set_leader_address(value);
        if (key == kExpectedSequenceKey) resp.set_expected_sequence(std::stoull(value));
      }
      if (!stream->Write(resp)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

  grpc::Status Consume(grpc::ServerContext*, const v1::ConsumeRequest* req, v1::ConsumeResponse* resp) override {
    std::lock_guard lock(state_->mu);
    state_->members[id_ - 1].consumes++;
    uint64_t from = req->from_offset() == 0 ? state_->first : req->from_offset();
    grpc::Status range = state_->CheckRange(id_, from);
    if (!range.ok()) return range;
    state_->Fill(id_, from, req->max_records() == 0 ? kDefaultMaxRecords : req->max_records(), resp);
    return grpc::Status::OK;
  }

  grpc::Status ConsumeStream(grpc::ServerContext* ctx, const v1::ConsumeRequest* req,
                             grpc::ServerWriter<v1::ConsumeResponse>* writer) override {
    std::unique_lock lock(state_->mu);
    MemberState& m = state_->members[id_ - 1];
    m.streams++;
    std::optional<StreamBreak> brk = m.stream_break;
    m.stream_break.reset();
    uint64_t next = req->from_offset() == 0 ? state_->first : req->from_offset();
    grpc::Status range = state_->CheckRange(id_, next);
    if (!range.ok()) return range;
    size_t sent = 0;
    for (;;) {
      if (brk.has_value() && sent >= brk->records) return grpc::Status(brk->code, "fake stream break");
      state_->cv.wait_for(lock, kStreamPoll, [&] {
        return state_->shutting_down || m.stopped || state_->EndOf(id_) >= next;
      });
      if (state_->shutting_down || m.stopped) return grpc::Status::OK;
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
      if (state_->EndOf(id_) < next) continue;
      v1::ConsumeResponse resp;
      uint32_t max = req->max_records() == 0 ? kDefaultMaxRecords : req->max_records();
      if (brk.has_value()) max = std::min<uint32_t>(max, static_cast<uint32_t>(brk->records - sent));
      state_->Fill(id_, next, max, &resp);
      next = resp.next_offset();
      sent += static_cast<size_t>(resp.records_size());
      lock.unlock();
      bool ok = writer->Write(resp);
      lock.lock();
      if (!ok) return grpc::Status::CANCELLED;
    }
  }

  grpc::Status GetServers(grpc::ServerContext*, const v1::GetServersRequest*, v1::GetServersResponse* resp) override {
    std::lock_guard lock(state_->mu);
    uint64_t leader = state_->advertised.value_or(state_->leader);
    for (size_t i = 0; i < state_->members.size(); i++) {
      v1::Server* s = resp->add_servers();
      s->set_id(i + 1);
      s->set_address(state_->members[i].address);
      s->set_is_leader(i + 1 == leader);
      s->set_role(i + 1 == leader ? "leader" : "follower");
    }
    resp->set_leader_id(leader);
    resp->set_term(7);
    return grpc::Status::OK;
  }

 private:
  // Member id_'s answer to `req` (the next fault, if any, applies to it).
  // A hold fault waits for `ctx`'s cancellation (or shutdown) and then
  // answers; with ctx nullptr (a stream) it answers nothing: nullopt.
  // `transport`: the answer has no metadata of ours (FaultHint::kNone), or
  // ends the stream (end_stream).
  std::optional<grpc::Status> AnswerLocked(std::unique_lock<std::mutex>& lock, grpc::ServerContext* ctx,
                                           const v1::ProduceRequest& req, v1::ProduceResponse* resp, Meta* meta,
                                           bool* transport) {
    MemberState& m = state_->members[id_ - 1];
    m.produces++;
    state_->produce_log.push_back(ProduceSeen{.member = id_,
                                              .producer_id = req.producer_id(),
                                              .sequence = req.sequence(),
                                              .records = static_cast<size_t>(req.records_size())});
    state_->cv.notify_all();
    std::vector<Record> records;
    for (const v1::Record& r : req.records()) records.push_back(FromProto(r));
    if (!m.faults.empty()) {
      ProduceFault f = m.faults.front();
      m.faults.pop_front();
      if (f.hold && ctx == nullptr) return std::nullopt;
      while (f.hold && !ctx->IsCancelled() && !state_->shutting_down) state_->cv.wait_for(lock, kStreamPoll);
      if (f.append_first) {
        v1::ProduceResponse lost;
        Meta ignored;
        (void)state_->StoreLocked(&ignored, req, records, &lost);
      }
      if (f.code == grpc::StatusCode::UNAVAILABLE) {
        if (f.hint == FaultHint::kLeader) state_->AddHint(meta);
        if (f.hint == FaultHint::kLeaderless) meta->emplace_back(rpc::kLeaderIdKey, "0");
        *transport = f.hint == FaultHint::kNone;
      }
      *transport = *transport || (f.end_stream && ctx == nullptr);
      return grpc::Status(f.code, "fake fault");
    }
    if (state_->leader != id_) {
      state_->AddHint(meta);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader");
    }
    if (records.empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no records");
    return state_->StoreLocked(meta, req, records, resp);
  }

  std::shared_ptr<FakeState> state_;
  const uint64_t id_;
};

struct FakeCluster::Member {
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
};

FakeCluster::FakeCluster(int members) : state_(std::make_shared<FakeState>()) {
  state_->members.resize(static_cast<size_t>(members));
  for (int i = 0; i < members; i++) {
    auto m = std::make_unique<Member>();
    m->service = std::make_unique<Service>(state_, static_cast<uint64_t>(i + 1));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(m->service.get());
    m->server = builder.BuildAndStart();
    CHECK_MSG(m->server != nullptr && port != 0, "fake server did not start");
    state_->members[static_cast<size_t>(i)].address = "127.0.0.1:" + std::to_string(port);
    members_.push_back(std::move(m));
  }
}

FakeCluster::~FakeCluster() {
  {
    std::lock_guard lock(state_->mu);
    state_->shutting_down = true;
    state_->cv.notify_all();
  }
  for (auto& m : members_) {
    if (m->server) m->server->Shutdown();
  }
}

std::vector<std::string> FakeCluster::addresses() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const MemberState& m : state_->members) out.push_back(m.address);
  return out;
}

std::string FakeCluster::address(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).address;
}

void FakeCluster::SetLeader(uint64_t id) {
  std::lock_guard lock(state_->mu);
  state_->leader = id;
}

void FakeCluster::set_hint_when_leaderless(bool on) {
  std::lock_guard lock(state_->mu);
  state_->hint_when_leaderless = on;
}

void FakeCluster::SetAdvertisedLeader(std::optional<uint64_t> id) {
  std::lock_guard lock(state_->mu);
  state_->advertised = id;
}

void FakeCluster::AddProduceFault(uint64_t id, ProduceFault fault) {
  std::lock_guard lock(state_->mu);
  state_->members.at(id - 1).faults.push_back(fault);
}

void FakeCluster::SetMemberEnd(uint64_t id, std::optional<uint64_t> end) {
  std::lock_guard lock(state_->mu);
  state_->members.at(id - 1).end = end;
  state_->cv.notify_all();
}

void FakeCluster::BreakNextStream(uint64_t id, size_t records, grpc::StatusCode code) {
  std::lock_guard lock(state_->mu);
  state_->members.at(id - 1).stream_break = StreamBreak{records, code};
}

void FakeCluster::TruncateBefore(uint64_t offset) {
  std::lock_guard lock(state_->mu);
  while (state_->first < offset && !state_->log.empty()) {
    state_->log.erase(state_->log.begin());
    state_->first++;
  }
}

void FakeCluster::set_remember_offsets(bool on) {
  std::lock_guard lock(state_->mu);
  state_->remember_offsets = on;
  if (!on) {
    for (auto& [id, p] : state_->producers) p.offsets.clear();
  }
}

void FakeCluster::ForgetProducers() {
  std::lock_guard lock(state_->mu);
  state_->producers.clear();
}

void FakeCluster::Stop(uint64_t id) {
  {
    std::lock_guard lock(state_->mu);
    state_->members.at(id - 1).stopped = true;
    state_->cv.notify_all();
  }
  Member& m = *members_.at(id - 1);
  m.server->Shutdown();
  m.server->Wait();
}

std::vector<uint64_t> FakeCluster::Append(const std::vector<Record>& records) {
  std::lock_guard lock(state_->mu);
  return state_->AppendLocked(records);
}

std::vector<Record> FakeCluster::log() const {
  std::lock_guard lock(state_->mu);
  return state_->log;
}

uint64_t FakeCluster::produces(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).produces;
}

void FakeCluster::WaitForProduces(uint64_t id, uint64_t n) const {
  std::unique_lock lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->members.at(id - 1).produces >= n; });
}

uint64_t FakeCluster::consumes(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).consumes;
}

uint64_t FakeCluster::streams(uint64_t id) const {
  std::lock_guard lock(state_->mu);
  return state_->members.at(id - 1).streams;
}

std::vector<ProduceSeen> FakeCluster::produce_log() const {
  std::lock_guard lock(state_->mu);
  return state_->produce_log;
}

uint64_t FakeCluster::refused_sequences() const {
  std::lock_guard lock(state_->mu);
  return state_->refused_sequences;
}

}  // namespace replog::testing
