#pragma once

// replog::Client: the C++ client of the log service (replog.v1.Log,
// proto/replog/v1/log.proto; docs/client.md).
//
// Discovery. Connect() asks the bootstrap addresses, in order, for
// GetServers until one answers; the answer lists every member (id, advertised
// address, role) and the leader. The client keeps that view and refreshes it
// whenever the leader it knows stops being one.
//
// Produce goes to the leader. A member that is not the leader answers
// UNAVAILABLE with the leader's id and address in trailing metadata; the
// client follows the hint at once. Without a hint it asks the members for
// GetServers again, with exponential backoff, until the operation's deadline.
// Every failed attempt falls in one of three classes (rpc_outcome.h):
//   - not applied: UNAVAILABLE answered by a member (not the leader, no
//     leader), ABORTED (proposed but overwritten: never committed), or a
//     connection that could not be made (the request never left). Retrying
//     cannot duplicate the records.
//   - unknown: DEADLINE_EXCEEDED, CANCELLED, or a connection that broke after
//     the request was sent. The records may have been committed. The client
//     retries anyway and says so in ProduceResult::retried_after_unknown_outcome.
//     With exactly-once (below) the retry cannot duplicate them; without it,
//     duplicates are possible only here.
//   - final: any other code (INVALID_ARGUMENT, ...): returned at once.
//
// Exactly-once produce (ClientOptions::exactly_once, on by default; log.proto
// and docs/client.md). Each Produce / ProduceAsync call takes a producer id
// and sequence ("lane", producer_lanes.h) from a pool the Client owns, one
// call per lane at a time, and sends them with every attempt, so that the
// leader stores the records once and answers a retry of committed ones with
// their original offsets, across leader changes. A call that ends with its
// outcome unknown retires its lane (its records may still commit; their
// sequences are never given to other records).
//
// Consume spreads reads over the followers (round robin over the members
// that are not the leader), falling back to any member; ConsumeStream tails
// the log and, when its stream breaks, reconnects to another member from the
// next offset it has not delivered.
//
// Errors are common::Status with the gRPC code of the failure kept
// (kUnavailable, kOutOfRange with the server's message naming the valid range,
// ...) and a message naming the operation and the member.
//
// ProduceAsync is Produce without a waiting thread: it runs on gRPC's
// callback API and calls back when done, so that one thread can keep many
// produces in flight (replog-bench produce does). Its attempts share one
// ProduceStream per member (ClientOptions::pipelined_produce).
//
// Threads: every method is thread-safe; many threads may share one Client
// (its gRPC channels are shared, each call makes its own stub). The Client
// must outlive the calls running on it; its destructor cancels the
// ProduceAsync calls still running and waits for their callbacks (~Client).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "client/types.h"
#include "common/clock.h"
#include "common/status.h"
#include "rpc/limits.h"

namespace replog {

class AsyncOps;
class Backoff;
class Members;
class ProduceRetry;
class ProducerLanes;
class ProduceStreams;

struct ClientOptions {
  // host:port of some members; at least one. Members found through
  // GetServers are used in addition.
  std::vector<std::string> bootstrap_addresses;
  // Bound of one whole operation (Produce, Consume, Servers, a stream's
  // reconnection), retries and backoff included.
  int64_t deadline_ms = 10'000;
  // Bound of one RPC attempt within it.
  int64_t attempt_timeout_ms = 2'000;
  // Bound of one GetServers call during discovery (a stopped member must not
  // hold up failover for long).
  int64_t discovery_timeout_ms = 500;
  // Backoff between attempts that found no leader: doubles from initial up
  // to max, each sleep a random fraction (50-100%) of the current value.
  // The cap is what a client adds, at worst, to an election once a leader
  // is chosen (the defaults' elections take 0.5-1 s): 100 ms keeps failover
  // under a second at the cost of one cheap refused attempt per client
  // every 50-100 ms while there is no leader.
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 100;
  // > 0: gRPC keepalive pings every keepalive_ms on a connection, which is
  // dropped when a ping gets no answer within keepalive_ms, so that a stream
  // from a stopped (SIGSTOP) member breaks and resumes elsewhere. The
  // servers must permit pings that often (gRPC servers refuse pings more
  // often than every 5 minutes by default). 0: off.
  int64_t keepalive_ms = 0;
  // Largest response accepted (Consume batches).
  int max_receive_bytes = rpc::kMaxMessageBytes;
  // Seed of the backoff jitter.
  uint64_t seed = 1;
  // Exactly-once produce: every produce carries a producer id and sequence
  // (above). false: none is sent, and a retry after an unknown outcome may
  // store the records twice.
  bool exactly_once = true;
  // Seed of the random producer ids; 0: std::random_device. Tests may fix
  // it; two clients with one seed would share producer ids and corrupt each
  // other's produces (refused, or answered with the other's offsets), so
  // never fix it for clients that write to one cluster at the same time.
  uint64_t producer_id_seed = 0;
  // ProduceAsync sends its attempts as requests on one ProduceStream per
  // member, shared by every call in flight (produce_streams.h), instead of
  // a Produce call each: the same retries, outcomes and errors, at a
  // fraction of the CPU per produce on both sides (BENCHMARKS.md,
  // "Pipelined produce"). Produce (blocking) always makes a call.
  bool pipelined_produce = true;
  // Clock for deadlines and backoff sleeps; nullptr: a RealClock owned by the
  // client. When set it must outlive the client; a ManualClock (tests) must
  // then be used from one thread only (and at most one ProduceAsync be in
  // flight). With a clock set, ProduceAsync's backoff is a SleepNanos() on
  // that clock in a gRPC thread instead of a timer: meant for a ManualClock,
  // whose sleeps cost no time.
  common::Clock* clock = nullptr;
  // Credentials of every channel (TlsCredentialsFromFiles, tls_credentials.h);
  // nullptr: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

// Why the stream callback is called and what it returns: true to go on,
// false to end ConsumeStream with OK.
using BatchCallback = std::function<bool(const ConsumeBatch&)>;

// What ProduceAsync calls with the produce's result.
using ProduceCallback = std::function<void(common::Result<ProduceResult>)>;

class Client {
 public:
  // Validates `options` (kInvalidArgument) and discovers the members; fails
  // with kUnavailable (naming every address tried and why) when no bootstrap
  // address answers GetServers within options.deadline_ms. A cluster without
  // a leader yet is fine: Produce waits for one.
  static common::Result<std::unique_ptr<Client>> Connect(ClientOptions options);

  // Cancels every ProduceAsync still running (RPC cancelled, backoff cut
  // short; each one's callback gets kCancelled unless its answer had already
  // come) and returns only once every callback has returned. A ProduceAsync
  // made from such a callback meanwhile is cancelled the same way. Nothing
  // may call the Client once ~Client has begun, except those callbacks; a
  // callback must not destroy its Client (it would wait for itself).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Appends `records` (at least one) as one batch: committed together or not
  // at all. Returns their offsets, in order, once committed. Errors:
  // kInvalidArgument (no records, over rpc::kMaxMessageBytes together, or the
  // server refused them), and after the deadline kUnavailable when no
  // attempt can have been committed, or kDeadlineExceeded when one may have
  // been (outcome unknown). With exactly-once: kAlreadyExists when the
  // records are in the log exactly once but the server no longer remembers
  // their offsets (a retry of something committed long ago);
  // kFailedPrecondition when the server refused the sequence twice (see
  // produce_retry.h). Other codes from the server are returned as they come.
  common::Result<ProduceResult> Produce(const std::vector<Record>& records);

  // Produce without blocking: the same request, retries, leader hints,
  // outcome classes and errors as Produce, and kCancelled when the Client is
  // destroyed first (the message says whether the records may have been
  // committed). Returns at once; `done` is then called exactly once with the
  // result, on a gRPC thread, never from inside ProduceAsync (no reentry; it
  // may run on another thread before ProduceAsync has returned). RPCs use
  // gRPC's callback API and backoff a grpc::Alarm, so no thread waits for
  // the call. `done` runs where gRPC delivers completions: it must not block
  // for long (no sleeps, no sync RPCs, no Produce()) nor destroy this
  // Client; it may call ProduceAsync again (a closed loop). No order among
  // concurrent calls is promised.
  void ProduceAsync(std::vector<Record> records, ProduceCallback done);

  // Reads the first records at or after `from_offset` (0: from the first
  // retained) from one member chosen by options.read_from. A member that
  // fails is skipped for the next. kOutOfRange (message from the server, with
  // the valid range) when from_offset is outside what the leader retains;
  // kUnavailable / kDeadlineExceeded when no member answered in time.
  common::Result<ConsumeBatch> Consume(uint64_t from_offset, const ConsumeOptions& options = {});

  // Tails the log from `from_offset`: calls `on_batch` for every batch the
  // server sends (possibly empty), in offset order, each record once. When
  // the stream ends or breaks, reconnects to another member from the next
  // undelivered offset. Returns OK when `on_batch` returns false or `stop` is
  // requested (another thread may request it at any time); kOutOfRange as
  // Consume; kUnavailable when no member could be streamed from for
  // options.deadline_ms. `on_batch` runs on the calling thread.
  common::Status ConsumeStream(uint64_t from_offset, const ConsumeOptions& options, const BatchCallback& on_batch,
                               std::stop_token stop = {});

  // Asks the members for GetServers (any member answers) and returns the
  // fresh view; kUnavailable when none answers in time.
  common::Result<ClusterView> Servers();

  // The view as last learned, without a call.
  ClusterView cached_view() const;
  // The credentials its channels use (ClientOptions::credentials), for
  // helpers that open channels of their own (ClusterAdmin).
  std::shared_ptr<grpc::ChannelCredentials> credentials() const;

 private:
  Client(ClientOptions options, std::unique_ptr<common::Clock> owned_clock);

  // Asks the members for GetServers in turn until one names a leader (OK),
  // or all were asked and some answered (OK, no leader), or none answered
  // (kUnavailable listing each address's error).
  common::Status Discover(int64_t deadline_ns);
  Backoff NewBackoff();
  // The retry rules of a produce of `records` records starting now.
  ProduceRetry NewProduceRetry(size_t records);
  // Sleeps the backoff's next delay unless that passes the deadline (false).
  bool SleepBefore(Backoff& backoff, int64_t deadline_ns);
  // Where a stream is: the next offset to deliver, the highest committed
  // offset any member reported, and what the last connection did.
  struct StreamState {
    uint64_t next = 0;
    uint64_t committed_seen = 0;
    bool delivered = false;  // the last connection got at least one batch
    bool stopped = false;    // the callback or `stop` ended the stream
  };

  // One Consume RPC to `address`; takes a leader hint from a failure.
  common::Result<ConsumeBatch> ConsumeFrom(const std::string& address, uint64_t from_offset,
                                           const ConsumeOptions& options, int64_t deadline_ns);
  // Tries the members in read order once: a batch or a final error, or
  // nullopt when every member failed in a way another try may cure (*last
  // is then the last such error).
  std::optional<common::Result<ConsumeBatch>> ConsumeOnce(uint64_t from_offset, const ConsumeOptions& options,
                                                          int64_t deadline_ns, common::Status* last);
  std::vector<std::string> ReadOrder(const ConsumeOptions& options);
  // One ConsumeStream connection to `address` from state->next, delivering
  // batches until it ends; returns how it ended (OK when stopped).
  common::Status StreamFrom(const std::string& address, StreamState* state, const ConsumeOptions& options,
                            const BatchCallback& on_batch, std::stop_token stop);
  static bool Resumable(const common::Status& s, const StreamState& state);
  int64_t NowNs();
  int64_t DeadlineNs();
  void Sleep(int64_t ns);

  ClientOptions options_;
  std::unique_ptr<common::Clock> owned_clock_;
  common::Clock* clock_;
  std::unique_ptr<Members> members_;
  std::atomic<uint64_t> backoff_seed_;
  std::unique_ptr<ProducerLanes> lanes_;     // nullptr: exactly-once off
  std::unique_ptr<ProduceStreams> streams_;  // nullptr: ProduceAsync on unary calls
  std::unique_ptr<AsyncOps> async_ops_;
};

}  // namespace replog
