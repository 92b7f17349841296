// replog::Client: Consume and ConsumeStream (contract in client.h).

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "client/backoff.h"
#include "client/client.h"
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

v1::ConsumeRequest MakeRequest(uint64_t from_offset, const ConsumeOptions& options) {
  v1::ConsumeRequest req;
  req.set_from_offset(from_offset);
  req.set_max_records(options.max_records);
  req.set_max_bytes(options.max_bytes);
  req.set_linearizable(options.linearizable);
  return req;
}

// Drops the records of `b` below `*next` (already delivered before a
// reconnection) and moves `*next` past the rest.
void Advance(ConsumeBatch* b, uint64_t* next) {
  uint64_t from = *next;
  std::erase_if(b->records, [from](const Record& r) { return r.offset < from; });
  if (!b->records.empty()) *next = std::max(*next, b->records.back().offset + 1);
  *next = std::max(*next, b->next_offset);
}

}  // namespace

std::vector<std::string> Client::ReadOrder(const ConsumeOptions& options) {
  if (!options.address.empty()) return {options.address};
  return members_->ReadOrder(options.read_from);
}

Result<ConsumeBatch> Client::ConsumeFrom(const std::string& address, uint64_t from_offset,
                                         const ConsumeOptions& options, int64_t deadline_ns) {
  int64_t remaining = deadline_ns - NowNs();
  if (remaining <= 0) return Status(Code::kDeadlineExceeded, "consume from " + address + ": deadline passed");
  const int64_t timeout_ns = std::min(remaining, options_.attempt_timeout_ms * 1'000'000);
  auto stub = v1::Log::NewStub(members_->Connected(address, timeout_ns));
  grpc::ClientContext ctx;
  SetTimeout(&ctx, timeout_ns);
  v1::ConsumeResponse response;
  grpc::Status gs = stub->Consume(&ctx, MakeRequest(from_offset, options), &response);
  if (gs.ok()) return FromProto(response, address);
  LeaderHint hint = ReadLeaderHint(ctx);
  if (!hint.address.empty()) members_->SetLeader(hint.id, hint.address);
  return FromGrpc(gs, "consume from " + address);
}

std::optional<Result<ConsumeBatch>> Client::ConsumeOnce(uint64_t from_offset, const ConsumeOptions& options,
                                                        int64_t deadline_ns, Status* last) {
  for (const std::string& address : ReadOrder(options)) {
    Result<ConsumeBatch> r = ConsumeFrom(address, from_offset, options, deadline_ns);
    if (r.has_value()) return r;
    const Status& s = r.error();
    if (s.code() == Code::kOutOfRange && options.address.empty()) {
      // A follower may lag behind: the leader has the last word.
      std::string leader = members_->leader_address();
      if (leader.empty() || leader == address) return r;
      return ConsumeFrom(leader, from_offset, options, deadline_ns);
    }
    if (!RetryableRead(s.code())) return r;
    *last = s;
  }
  return std::nullopt;
}

Result<ConsumeBatch> Client::Consume(uint64_t from_offset, const ConsumeOptions& options) {
  const int64_t deadline = DeadlineNs();
  Backoff backoff = NewBackoff();
  Status last = common::UnavailableError("no member to read from");
  for (;;) {
    std::optional<Result<ConsumeBatch>> r = ConsumeOnce(from_offset, options, deadline, &last);
    if (r.has_value()) return std::move(*r);
    if (!SleepBefore(backoff, deadline)) {
      return Status(last.code(), "consume: no member answered in time; last error: " + last.message());
    }
    if (options.address.empty()) Discover(deadline).IgnoreError();  // best effort: the view may be stale
  }
}

Status Client::StreamFrom(const std::string& address, StreamState* state, const ConsumeOptions& options,
                          const BatchCallback& on_batch, std::stop_token stop) {
  auto stub = v1::Log::NewStub(members_->Connected(address, options_.attempt_timeout_ms * 1'000'000));
  grpc::ClientContext ctx;
  std::stop_callback cancel(stop, [&ctx] { ctx.TryCancel(); });
  auto reader = stub->ConsumeStream(&ctx, MakeRequest(state->next, options));
  v1::ConsumeResponse response;
  while (reader->Read(&response)) {
    state->delivered = true;
    ConsumeBatch batch = FromProto(response, address);
    state->committed_seen = std::max(state->committed_seen, batch.committed_offset);
    Advance(&batch, &state->next);
    if (!on_batch(batch)) {
      state->stopped = true;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status gs = reader->Finish();
  if (stop.stop_requested()) state->stopped = true;
  if (state->stopped) return Status::Ok();
  if (gs.ok()) return common::UnavailableError("consume stream from " + address + ": ended by the member");
  return FromGrpc(gs, "consume stream from " + address);
}

// True when a stream that ended with `s` may be resumed on another member.
bool Client::Resumable(const Status& s, const StreamState& state) {
  if (s.code() == Code::kOutOfRange) {
    // A lagging member refuses offsets that others have committed.
    return state.next <= state.committed_seen;
  }
  return RetryableRead(s.code());
}

Status Client::ConsumeStream(uint64_t from_offset, const ConsumeOptions& options, const BatchCallback& on_batch,
                             std::stop_token stop) {
  StreamState state;
  state.next = from_offset;
  Backoff backoff = NewBackoff();
  constexpr int64_t kUnset = -1;
  int64_t deadline = kUnset;  // set while no stream delivers
  Status last = common::UnavailableError("no member to stream from");
  for (;;) {
    for (const std::string& address : ReadOrder(options)) {
      if (stop.stop_requested()) return Status::Ok();
      state.delivered = false;
      Status s = StreamFrom(address, &state, options, on_batch, stop);
      if (state.stopped) return Status::Ok();
      if (state.delivered) {
        deadline = kUnset;
        backoff = NewBackoff();
      }
      if (!Resumable(s, state)) return s;
      last = s;
      if (deadline == kUnset) deadline = DeadlineNs();
    }
    if (stop.stop_requested()) return Status::Ok();
    if (deadline == kUnset) deadline = DeadlineNs();
    if (!SleepBefore(backoff, deadline)) {
      Code code = last.code() == Code::kOutOfRange ? Code::kOutOfRange : Code::kUnavailable;
      return Status(code, "consume stream: no member streamed from offset " + std::to_string(state.next) +
                              " in time; last error: " + last.ToString());
    }
    if (options.address.empty()) Discover(deadline).IgnoreError();
  }
}

}  // namespace replog
