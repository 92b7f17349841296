#pragma once

// ProduceStreams: the ProduceStream calls (log.proto) that carry a Client's
// asynchronous produce attempts (ProduceAsync), one stream per member
// address, opened on first use and again after one ends. Many produces in
// flight share the stream, each attempt one request on it: a message each
// for the client and the member instead of a call each (BENCHMARKS.md,
// "Pipelined produce").
//
// Each attempt's `done` is called exactly once with how it ended
// (ProduceAttempt, produce_retry.h):
//   - the member's answer: OK with the offsets, or its error with its leader
//     hint (the answer is the member's, so UNAVAILABLE is kNotApplied);
//   - the stream ended before the answer: kNotApplied when the request never
//     left (still queued, or no connection could be made) or the member
//     refused the stream (UNAVAILABLE with its hint: it ends a stream with
//     an error only before reading a request); kFinal when the call was not
//     allowed (UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED); else
//     kUnknown, whatever gRPC's code (a broken connection, a cancel, a
//     message over a limit), and for a stream that ended OK unanswered;
//   - no answer within its timeout: DEADLINE_EXCEEDED, kUnknown (kNotApplied
//     when it was never written); a late answer is dropped. A sweep every
//     kSweepNs, while attempts are pending, notices timeouts, so they end up
//     to kSweepNs late.
//
// Threads: thread-safe. `done` runs on a gRPC thread (a stream's reactions
// or an alarm's executor), never inside Send and never with a lock of ours
// held; it may call Send.
// Lifetime: `members` outlives this. Close() (the Client's destructor calls
// it first) cancels every stream, which ends the attempts pending on it;
// ~ProduceStreams closes and returns once no callback of ours is running
// or due.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/produce_retry.h"
#include "replog/v1/log.pb.h"

namespace replog {

class Members;

class ProduceStreams {
 public:
  using Done = std::function<void(ProduceAttempt)>;
  static constexpr int64_t kSweepNs = 20'000'000;

  explicit ProduceStreams(Members& members);
  ~ProduceStreams();
  ProduceStreams(const ProduceStreams&) = delete;
  ProduceStreams& operator=(const ProduceStreams&) = delete;

  // Sends `request` (its request_id is set here) on the stream to `address`,
  // opening one when there is none or it has ended; `done` gets the
  // outcome. False, with nothing sent and `done` dropped, once closed.
  bool Send(const std::string& address, const v1::ProduceRequest& request, int64_t timeout_ns, Done done);
  // Cancels every stream; Send refuses from now on.
  void Close();

  // Streams opened so far (for tests).
  uint64_t opened() const;

 private:
  class Conn;

  // `conn` is over: OnDone has run and every callback of it has returned
  // but for this call, its last step. Marks it, for reaping and the
  // destructor.
  void Finished(Conn* conn);

  Members& members_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // By address: the stream new attempts take.
  std::unordered_map<std::string, std::shared_ptr<Conn>> open_;
  // Every stream not yet reaped; one is reaped (dropped from here) only once
  // over, so the last owner of a Conn never holds one still running.
  std::vector<std::shared_ptr<Conn>> all_;
  uint64_t opened_ = 0;
  bool closed_ = false;
};

}  // namespace replog
