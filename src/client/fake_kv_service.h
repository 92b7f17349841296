#pragma once

// A fake replog.v1.KV cluster for KvClient's tests: N real gRPC servers on
// 127.0.0.1 (kernel-chosen ports), each serving replog.v1.KV over one shared
// in-memory map and replog.v1.Log's GetServers (the members and the LOG
// leader, which tests may set apart from the KV leader, as in replogd). A
// member that does not lead the KV group answers writes UNAVAILABLE with the
// KV leader's id and address in trailing metadata (kv.proto); reads are
// served by every member. Every write is a revision (1, 2, ...). WriteStream
// and ReadStream answer each request in turn, as the unary calls would, with
// the error (and a write's hint) in the response.
//
// Write sessions as kv.proto says: a write with a client id applies only
// when its sequence is the client's next (0 for a new client); one below it
// is answered with the response its first application gave; one above it
// (or other than 0 for an unknown client) is refused FAILED_PRECONDITION
// naming the sequence expected. Every response is remembered.
//
// Tests script faults per member: the next write answers a code, after
// applying it or not, or the next read answers a code.
//
// Threads: every method is thread-safe; gRPC's threads run the handlers.
// Test-only (library client_testing).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "client/fake_log_service.h"

namespace replog::testing {

struct FakeKvState;

// What a scripted fault does to the next write a member receives.
struct KvWriteFault {
  grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE;
  // Apply the write as the leader would (session rules included), then
  // answer `code`: the answer of an applied write is lost.
  bool apply_first = false;
  FaultHint hint = FaultHint::kLeader;  // UNAVAILABLE only
};

// One write request a member received.
struct KvWriteSeen {
  uint64_t member = 0;
  std::string op;  // "put", "delete", "cas"
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  bool streamed = false;  // a request on a WriteStream, not a call
};

class FakeKvCluster {
 public:
  // Starts `members` servers with ids 1..members; member 1 leads both groups.
  explicit FakeKvCluster(int members);
  ~FakeKvCluster();
  FakeKvCluster(const FakeKvCluster&) = delete;
  FakeKvCluster& operator=(const FakeKvCluster&) = delete;

  std::vector<std::string> addresses() const;
  std::string address(uint64_t id) const;  // id in 1..members

  // Makes `id` the KV group's leader (0: none; members then answer writes
  // with "replog-leader-id" 0).
  void SetKvLeader(uint64_t id);
  // Makes `id` the log group's leader, as GetServers names it.
  void SetLogLeader(uint64_t id);
  void AddWriteFault(uint64_t id, KvWriteFault fault);
  // The next Get or Scan member `id` receives answers `code`.
  void AddReadFault(uint64_t id, grpc::StatusCode code);
  // Sets `key` to `value` as a write without a session would.
  void Put(const std::string& key, const std::string& value);
  // Forgets every client session (as the server's eviction does): a write
  // with a sequence other than 0 is then refused FAILED_PRECONDITION.
  void ForgetSessions();
  // Stops member `id`'s server: its port refuses connections afterwards.
  void Stop(uint64_t id);

  // Writes and reads member `id` received; of the reads, those that came
  // on a ReadStream.
  uint64_t writes(uint64_t id) const;
  uint64_t reads(uint64_t id) const;
  uint64_t streamed_reads(uint64_t id) const;
  // Every write received, in order of arrival.
  std::vector<KvWriteSeen> write_log() const;
  // Writes applied (each once), and the map: key -> value.
  uint64_t applied() const;
  std::map<std::string, std::string> data() const;

 private:
  class KvService;
  class LogService;
  struct Member;

  std::shared_ptr<FakeKvState> state_;
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace replog::testing
