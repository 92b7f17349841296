#pragma once

// replog::KvClient: the C++ client of the key-value store (replog.v1.KV,
// proto/replog/v1/kv.proto; docs/client.md, "KV client").
//
// Members. Connect() asks the bootstrap addresses for the log service's
// GetServers (as replog::Client does) to learn every member's address. That
// answer names the LOG group's leader, which need not lead the KV group, so
// the client learns the KV leader only from the KV service itself: a member
// that does not lead the KV group answers a write UNAVAILABLE with the KV
// leader's id and address in trailing metadata (rpc/leader_hint.h), and the
// client follows that hint and remembers the leader for later writes.
//
// Writes (Put, Delete, CompareAndSet) go to the KV leader as known, at
// first to any member. Each failed attempt falls in one of the classes of
// rpc_outcome.h:
//   - not applied (UNAVAILABLE answered by a member, ABORTED, never sent):
//     follow the hint at once (up to 3 hops in a row); without one, back off
//     and try the next member.
//   - unknown (DEADLINE_EXCEEDED, CANCELLED, a connection broken mid-call):
//     forget that leader, back off, retry on the next member; the result
//     then says retried_after_unknown_outcome.
//   - final (INVALID_ARGUMENT, ...): returned at once.
// Exactly-once (KvClientOptions::exactly_once, default true): each write
// carries a WriteSession (client id, sequence) from a pool of lanes
// (producer_lanes.h: a lane is a random 64-bit client id and its next
// sequence). Each call takes an idle lane for its whole life and sends the
// same (client id, sequence) with every attempt, so a retry after an
// unknown outcome is applied at most once and answered with the response of
// its first application, across leader changes. One lane serves one call at
// a time (the server applies a client's sequences strictly in order), so
// concurrent calls each get their own; a call whose outcome stays unknown
// at its deadline retires its lane (its write may still apply later).
//
// Reads (Get, Scan) go round robin over every member, for LINEARIZABLE and
// LOCAL alike (followers serve both, kv.proto), or to the KV leader first
// (KvClientOptions::read_from); a member that fails with a
// retryable code (rpc_outcome.h, RetryableRead) is skipped for the next;
// when every member failed, the client backs off, asks for the members
// again and retries until the deadline.
//
// Errors are common::Status with the gRPC code kept and a message naming the
// operation and the member, e.g. "INVALID_ARGUMENT: put to 127.0.0.1:7002:
// empty key". A write that gives up returns kDeadlineExceeded when an
// attempt's outcome was unknown (it may have been applied) and kUnavailable
// when it certainly was not.
//
// PutAsync and GetAsync are Put and Get without a waiting thread: they run
// on gRPC's callback API (kv_async.h) and call back when done, so that one
// thread can keep many requests in flight (replog-bench kv-put and kv-get
// do). PutAsync's attempts share one WriteStream per member and GetAsync's
// one ReadStream (KvClientOptions::pipelined_writes, pipelined_reads). Both
// paths follow one set of rules (kv_retry.h).
//
// Threads: every method is thread-safe; many threads may share one KvClient
// (one gRPC channel per member, a stub per call). With a ManualClock
// (tests) it must be used from one thread, with at most one asynchronous
// call in flight. Nothing the methods return refers to the KvClient; the
// KvClient must outlive the calls running on it; its destructor cancels the
// asynchronous calls still running and waits for their callbacks.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "client/types.h"
#include "common/clock.h"
#include "common/status.h"

namespace replog {

class AsyncOps;
struct AsyncEnv;
class Backoff;
class KvLeader;
class KvReadRetry;
class KvWriteRetry;
class KvWriteStreams;
class KvReadStreams;
class Members;
class ProducerLanes;

struct KeyValue {
  std::string key;
  std::string value;            // empty in a keys_only scan
  uint64_t create_revision = 0;  // the write that created it (after its last delete)
  uint64_t mod_revision = 0;     // its last write
  uint64_t version = 0;          // writes since it was created: 1 after the first

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

struct KvClientOptions {
  // host:port of some members; at least one. Members found through
  // GetServers are used in addition.
  std::vector<std::string> bootstrap_addresses;
  // Bound of one whole operation, retries and backoff included.
  int64_t deadline_ms = 10'000;
  // Bound of one RPC attempt within it.
  int64_t attempt_timeout_ms = 2'000;
  // Bound of one GetServers call while learning the members.
  int64_t discovery_timeout_ms = 500;
  // Backoff between attempts that found no leader (as ClientOptions).
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 100;
  // Largest response accepted (Scan).
  int max_receive_bytes = 64 << 20;
  // Seed of the backoff jitter.
  uint64_t seed = 1;
  // Every write carries a client id and sequence (above). false: none is
  // sent, and a retry after an unknown outcome may apply a write twice.
  bool exactly_once = true;
  // Seed of the random client ids; 0: std::random_device. Never fix it for
  // two clients that write to one cluster at the same time (they would
  // share client ids).
  uint64_t client_id_seed = 0;
  // Clock for deadlines and backoff; nullptr: a RealClock the client owns.
  // When set it must outlive the client, and the asynchronous calls' backoff
  // is a SleepNanos() on it in a gRPC thread instead of a timer: meant for a
  // ManualClock, whose sleeps cost no time.
  common::Clock* clock = nullptr;
  // Credentials of every channel (as ClientOptions::credentials).
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // PutAsync's attempts go as requests on one KV.WriteStream per member
  // (kv.proto) instead of a Put call each: the same retries, outcomes and
  // errors, at less CPU per write on both sides (BENCHMARKS.md, "Pipelined
  // KV writes"). The blocking writes always make a call.
  bool pipelined_writes = true;
  // GetAsync's attempts go as requests on one KV.ReadStream per member
  // instead of a Get call each, as for writes (BENCHMARKS.md, "Pipelined KV
  // reads"). The blocking reads always make a call.
  bool pipelined_reads = true;
  // Where reads go first. kAny: round robin over every member. kLeader: the
  // KV group's leader as this client's writes last found it (round robin
  // while none is known), which saves a LINEARIZABLE read the follower's
  // hop to the leader (BENCHMARKS.md, "Reads at the KV leader"). kFollower:
  // round robin over the others, the leader last.
  ReadFrom read_from = ReadFrom::kAny;
};

// How a write went, whatever it did to the map.
struct WriteInfo {
  // Exactly-once: the session the write carried (0, 0 without).
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  uint32_t attempts = 0;  // RPCs sent, this one included
  // An earlier attempt ended with an unknown outcome. With exactly-once the
  // write was still applied once; without it, it may have been applied twice.
  bool retried_after_unknown_outcome = false;
  std::string leader_address;  // the member that answered
};

struct PutResult {
  uint64_t revision = 0;              // this write's
  std::optional<KeyValue> previous;   // the value it replaced
  WriteInfo write;
};

struct DeleteResult {
  uint64_t revision = 0;              // this write's (deleting an absent key is a write too)
  bool deleted = false;               // the key existed
  std::optional<KeyValue> previous;   // the value removed
  WriteInfo write;
};

// A condition on one key, checked when the write applies.
struct KvCompare {
  enum class Kind {
    kValue,        // the key exists and holds exactly `value`
    kModRevision,  // the key's mod_revision is `mod_revision`; 0: it does not exist
  };
  Kind kind = Kind::kModRevision;
  std::string value;
  uint64_t mod_revision = 0;

  static KvCompare Value(std::string v) { return KvCompare{Kind::kValue, std::move(v), 0}; }
  static KvCompare ModRevision(uint64_t r) { return KvCompare{Kind::kModRevision, "", r}; }
  static KvCompare Absent() { return ModRevision(0); }
};

// What CompareAndSet does when the compare holds: put `value`, or delete.
struct KvSwap {
  bool delete_key = false;
  std::string value;  // when !delete_key

  static KvSwap Put(std::string v) { return KvSwap{false, std::move(v)}; }
  static KvSwap Delete() { return KvSwap{true, ""}; }
};

struct CasResult {
  uint64_t revision = 0;             // this write's, whether or not it swapped
  bool succeeded = false;            // the compare held and the swap was done
  std::optional<KeyValue> current;   // the key as the compare found it
  WriteInfo write;
};

enum class ReadConsistency {
  kLinearizable,  // ReadIndex on the member: sees every write acknowledged before the call
  kLocal,         // the member's applied state at once (possibly stale)
};

struct GetResult {
  bool found = false;
  KeyValue kv;              // when found
  uint64_t revision = 0;    // the applied index the read was served at
  std::string served_by;    // the member's address
};

struct ScanOptions {
  // Keys in [start, end) in key order; an empty end: to the last key.
  std::string start;
  std::string end;
  // Non-empty: the keys that begin with it (start and end are ignored).
  std::string prefix;
  uint32_t limit = 0;  // 0: the server's cap (10,000)
  ReadConsistency consistency = ReadConsistency::kLinearizable;
  bool keys_only = false;
};

struct ScanResult {
  std::vector<KeyValue> kvs;
  bool more = false;        // the limit cut it short: scan on from the last key + '\0'
  uint64_t revision = 0;
  std::string served_by;
};

// One member's view of the KV group (KvStatusResponse).
struct KvMemberStatus {
  std::string address;  // the member asked
  uint64_t member_id = 0;
  uint64_t leader_id = 0;  // of the KV group; 0: none known
  uint64_t term = 0;
  uint64_t applied_index = 0;
  uint64_t commit_index = 0;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t keys = 0;
  uint64_t bytes = 0;
  uint64_t hash = 0;  // XXH3-64 of the map at applied_index
  std::vector<uint64_t> voters;
  std::vector<uint64_t> learners;
};

// What PutAsync and GetAsync call with the result.
using PutCallback = std::function<void(common::Result<PutResult>)>;
using GetCallback = std::function<void(common::Result<GetResult>)>;

class KvClient {
 public:
  // Validates `options` (kInvalidArgument) and learns the members; fails with
  // kUnavailable (naming every address tried) when no bootstrap address
  // answers GetServers within options.deadline_ms.
  static common::Result<std::unique_ptr<KvClient>> Connect(KvClientOptions options);
  // Cancels every PutAsync and GetAsync still running (RPC cancelled,
  // backoff cut short; each one's callback gets kCancelled unless its answer
  // had already come; a write's message says whether it may have been
  // applied) and returns only once every callback has returned. A call made
  // from such a callback meanwhile is cancelled the same way. Nothing may
  // call the KvClient once ~KvClient has begun, except those callbacks; a
  // callback must not destroy its KvClient (it would wait for itself).
  ~KvClient();
  KvClient(const KvClient&) = delete;
  KvClient& operator=(const KvClient&) = delete;

  // Sets `key` to `value`. Errors: kInvalidArgument (empty or too long key,
  // value over 1 MiB: the server's message), and the write errors above.
  common::Result<PutResult> Put(std::string_view key, std::string_view value);
  // Removes `key` (a write even when it is absent).
  common::Result<DeleteResult> Delete(std::string_view key);
  // Does `swap` on `key` if `compare` holds when the write applies; a
  // compare that does not hold is a success with succeeded == false.
  common::Result<CasResult> CompareAndSet(std::string_view key, const KvCompare& compare, const KvSwap& swap);

  // Reads `key`. Errors: kInvalidArgument; kUnavailable / kDeadlineExceeded
  // (the last member's error) when no member answered in time.
  common::Result<GetResult> Get(std::string_view key, ReadConsistency consistency = ReadConsistency::kLinearizable);

  // Put and Get without blocking: return at once (the key and value are
  // copied) and call `done` exactly once with what Put or Get would have
  // returned (same rules, same session, same errors), or kCancelled from
  // ~KvClient. `done` runs on a gRPC thread, never from inside the call that
  // started it (no reentry; it may run on another thread before that call
  // has returned). It must be quick (no sleeps, no blocking calls such as
  // Put; it holds up other completions) and must not destroy this KvClient;
  // it may start the next asynchronous call (a closed loop). No order among
  // concurrent calls is promised.
  void PutAsync(std::string_view key, std::string_view value, PutCallback done);
  void GetAsync(std::string_view key, ReadConsistency consistency, GetCallback done);

  // Reads a range or prefix (ScanOptions), at most options.limit keys.
  common::Result<ScanResult> Scan(const ScanOptions& options);

  // The KV status of the member at `address` (any address; one attempt, no
  // retry). Errors: that call's, e.g. kUnavailable when it is down.
  common::Result<KvMemberStatus> Status(const std::string& address);

  // The members' addresses as last learned (GetServers), then bootstrap
  // addresses not among them.
  std::vector<std::string> member_addresses() const;
  // The KV leader as last learned from a hint or an answered write; "" when
  // none is known.
  std::string kv_leader_address() const;

 private:
  explicit KvClient(KvClientOptions options, std::unique_ptr<common::Clock> owned_clock);

  struct WriteCall;
  struct ReadCall;
  // Carries out the steps of a KvWriteRetry for the write `call` describes
  // (kv_retry.h), with blocking RPCs and sleeps.
  common::Status Write(WriteCall& call);
  // The same for a read and a KvReadRetry.
  common::Status Read(ReadCall& call);
  // The retry rules of one write named `op` or one read, from now.
  KvWriteRetry NewWriteRetry(const std::string& op);
  KvReadRetry NewReadRetry(const std::string& op);
  // What an asynchronous call uses of this client.
  AsyncEnv AsyncEnvOf();

  // Backoff for one operation, each with its own jitter seed.
  Backoff NewBackoff();
  // Sleeps the next delay of *backoff unless that passes the deadline (false).
  bool SleepBefore(Backoff& backoff, int64_t deadline_ns);
  int64_t NowNs() const;
  int64_t DeadlineNs() const;

  const KvClientOptions options_;
  std::unique_ptr<common::Clock> owned_clock_;
  common::Clock* clock_;
  std::unique_ptr<Members> members_;
  std::unique_ptr<KvLeader> kv_leader_;
  std::unique_ptr<ProducerLanes> lanes_;  // nullptr: exactly-once off
  std::atomic<uint64_t> backoff_seed_;
  std::unique_ptr<AsyncOps> async_ops_;
  std::unique_ptr<KvWriteStreams> write_streams_;  // nullptr: PutAsync on unary calls
  std::unique_ptr<KvReadStreams> read_streams_;    // nullptr: GetAsync on unary calls
};

}  // namespace replog
