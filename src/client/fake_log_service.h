#pragma once

// A fake replog.v1.Log cluster for the client's tests: N real gRPC servers on
// 127.0.0.1 (ports picked by the kernel), one shared in-memory log, one
// member "is leader" and the others answer Produce with UNAVAILABLE and the
// leader hint, as the real service does (log.proto). Tests script faults:
// answers with a given code (after appending or not), stale GetServers views,
// lagging members, streams that break. ProduceStream answers each request
// as Produce would, the leader hint and expected sequence in the response's
// fields; a held request is never answered, and a fault without a hint
// (FaultHint::kNone) or with end_stream ends the stream. Test-only (library
// client_testing).
//
// Exactly-once, minimally (log.proto, ProduceRequest): a request with a
// producer id stores the records whose sequence is the producer's next, and
// answers the ones below it with their original offsets; a sequence above
// it, or other than 0 for an unknown producer, is refused with
// FAILED_PRECONDITION and trailing metadata "replog-expected-sequence".
// Every offset is remembered (no 32-run window, no producer limit) unless a
// test says otherwise (set_remember_offsets, ForgetProducers).
//
// Threads: every method is thread-safe; gRPC's threads run the handlers.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "client/types.h"

namespace replog::testing {

struct FakeState;

// The trailing metadata of a scripted UNAVAILABLE answer.
enum class FaultHint {
  kLeader,      // the current leader's id and address (or id 0 when none)
  kLeaderless,  // "replog-leader-id" 0: the member knows no leader
  kNone,        // no metadata: looks like a transport failure to the client
};

// What a scripted fault does to the next Produce a member receives.
struct ProduceFault {
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
  // Store the request as the leader would (exactly-once rules included),
  // then answer `code` instead: the answer of a committed produce is lost.
  bool append_first = false;
  FaultHint hint = FaultHint::kLeader;  // UNAVAILABLE only
  // Hold the call until the client cancels it or its deadline passes (or the
  // cluster shuts down), then answer `code`: an RPC in flight.
  bool hold = false;
  // On a ProduceStream: end the stream with `code` instead of answering, as
  // gRPC does when a connection breaks or a message is over a limit (with
  // UNAVAILABLE, FaultHint::kNone does the same).
  bool end_stream = false;
};

// One Produce request a member received.
struct ProduceSeen {
  uint64_t member = 0;
  uint64_t producer_id = 0;
  uint64_t sequence = 0;
  size_t records = 0;
};

class FakeCluster {
 public:
  // Starts `members` servers with ids 1..members; member 1 leads.
  explicit FakeCluster(int members);
  // Shuts every server down (streams end at once).
  ~FakeCluster();
  FakeCluster(const FakeCluster&) = delete;
  FakeCluster& operator=(const FakeCluster&) = delete;

  std::vector<std::string> addresses() const;
  std::string address(uint64_t id) const;  // id in 1..members

  // Makes `id` the leader (0: none). A member answers UNAVAILABLE with
  // "replog-leader-id" 0 and no address when none is known, unless
  // set_hint_when_leaderless(false).
  void SetLeader(uint64_t id);
  void set_hint_when_leaderless(bool on);
  // GetServers answers name `id` as the leader whoever leads (a stale view);
  // nullopt: the truth.
  void SetAdvertisedLeader(std::optional<uint64_t> id);
  // The next Produce received by member `id` fails as `fault` says.
  void AddProduceFault(uint64_t id, ProduceFault fault);
  // Member `id` serves reads as if its log ended at `end` (a lagging
  // follower); nullopt: up to date.
  void SetMemberEnd(uint64_t id, std::optional<uint64_t> end);
  // The next ConsumeStream on member `id` delivers up to `records` records,
  // then ends with `code`.
  void BreakNextStream(uint64_t id, size_t records, grpc::StatusCode code);
  // Drops records below `offset` (retention).
  void TruncateBefore(uint64_t offset);
  // false: forgets the offsets of stored records and remembers none from
  // now on (sequences still are), so every duplicate is answered
  // ALREADY_EXISTS; true: remembers them again.
  void set_remember_offsets(bool on);
  // Forgets every producer (as the server's eviction does): a request with a
  // sequence other than 0 is then refused as from an unknown producer.
  void ForgetProducers();
  // Stops member `id`'s server: its port refuses connections afterwards.
  void Stop(uint64_t id);

  // Appends records as if produced; returns their offsets.
  std::vector<uint64_t> Append(const std::vector<Record>& records);
  // The whole log (offsets from 1, dense, from the first retained).
  std::vector<Record> log() const;

  // Calls member `id` received, by kind.
  uint64_t produces(uint64_t id) const;
  // Returns once member `id` has received `n` Produce calls.
  void WaitForProduces(uint64_t id, uint64_t n) const;
  uint64_t consumes(uint64_t id) const;
  uint64_t streams(uint64_t id) const;
  // Every Produce request received, in order of arrival, on any member.
  std::vector<ProduceSeen> produce_log() const;
  // Requests refused with FAILED_PRECONDITION (out of order, unknown producer).
  uint64_t refused_sequences() const;

 private:
  class Service;
  struct Member;

  std::shared_ptr<FakeState> state_;
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace replog::testing
