#pragma once

// Cluster: N real `replogd` processes on 127.0.0.1 for the cluster tests
// (DESIGN §7, docs/cluster-tests.md).
//
// Start() makes a fresh temp directory (data/<id>/ and <id>.log per member),
// picks free loopback ports (binds port 0 for each member at once, then
// releases them), and fork/execs one replogd per member with
//   --id N --data-dir DIR/data/N --listen 127.0.0.1:P --initial-members ...
// plus the Raft timing flags of ClusterOptions. A member's stdout and stderr
// are appended to DIR/<id>.log, one "==== launch" line per start, so a
// restarted member's earlier lives stay readable.
//
// Processes: Kill (SIGKILL, reaped), Stop (SIGSTOP), Cont (SIGCONT),
// Terminate (SIGTERM, waits for the exit), Restart (same flags, same data
// directory, same port). Nothing outlives the harness: the destructor kills
// and reaps every member still running, and each child has
// PR_SET_PDEATHSIG = SIGKILL, so a crashed or killed test process takes its
// members with it. PR_SET_PDEATHSIG fires when the *thread* that forked
// exits: start and restart members from the test's main thread.
//
// On destruction, when the running gtest test has failed, the harness prints
// the last lines of every member's log and keeps the directory (its path is
// printed); otherwise the directory is removed. REPLOG_CLUSTER_KEEP=1 keeps
// it always.
//
// The binary: $REPLOGD if set, else the path the build compiled in
// (REPLOGD_PATH, see CMakeLists.txt).
//
// Threads: Stub, GetServers, LeaderId, WaitForLeader, CommittedOffset,
// ReadLog, CpuTimeMs, Address(es), LogTail may be called from any thread
// while no other thread starts, restarts or kills members; the process
// methods (Restart, Kill, Stop, Cont, Terminate, WaitExited) belong to the
// main thread.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock.h"
#include "common/status.h"
#include "replog/v1/log.grpc.pb.h"

namespace cluster_testing {

// Sets `ctx`'s deadline `timeout_ms` from now, and wait_for_ready: a call
// made while its channel is (re)connecting waits for the connection instead
// of failing at once. Without it a sync gRPC client notices a finished
// connection attempt only when the channel's backup poller runs (every 5 s
// by default), so a member that has just started or restarted looks dead
// for up to 5 s.
void SetDeadline(grpc::ClientContext& ctx, int64_t timeout_ms);

// The replogd binary the tests run.
std::string ReplogdPath();

struct ClusterOptions {
  int members = 3;
  // Raft timing flags; 0 leaves the flag out (replogd's default: 50 ms ticks,
  // heartbeat every 2 ticks, election after 10-20 ticks).
  int tick_ms = 10;
  int heartbeat_ticks = 2;
  int election_ticks = 10;
  std::string log_level = "info";
  // More replogd flags, given to every member on every start.
  std::vector<std::string> extra_args;
  // Flags for member `id` alone (its certificate, say), after extra_args,
  // on every start; members that join get theirs too.
  std::function<std::vector<std::string>(uint64_t id)> member_args;
  // Credentials of the harness's own channels (Stub, GetServers, ...) when
  // the members run TLS; nullptr: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Prefix of the temp directory's name (the test's name helps).
  std::string name = "cluster";
};

// How a process ended.
struct ExitStatus {
  bool exited = false;  // exited by itself (code valid) or killed (signal valid)
  int code = 0;
  int signal = 0;
  std::string ToString() const;
};

// A record as read back from one member.
struct LogRecord {
  uint64_t offset = 0;
  std::string value;
  friend bool operator==(const LogRecord&, const LogRecord&) = default;
};

// The output and end of a replogd run to completion (RunReplogd).
struct RunOutput {
  ExitStatus status;
  std::string output;  // stdout and stderr, interleaved
};

// `n` distinct loopback ports that were free a moment ago.
common::Result<std::vector<int>> FreeLoopbackPorts(int n);

// Runs replogd with `args` (argv[0] excluded) until it exits; kills it and
// returns kDeadlineExceeded (with its output so far) after `timeout_ms`.
// `work_dir` holds its output file.
common::Result<RunOutput> RunReplogd(const std::vector<std::string>& args, const std::string& work_dir,
                                     int64_t timeout_ms);

// How Cluster::Rejoin starts a member again.
struct RejoinOptions {
  // A fresh port instead of the member's old one (it came back elsewhere).
  bool new_port = false;
  // --join-replace: the leader removes the member's old entry first.
  bool replace = false;
};

class Cluster {
 public:
  // Creates the directory, picks the ports and starts every member (does not
  // wait for a leader). kInternal when a directory, port or fork fails.
  static common::Result<std::unique_ptr<Cluster>> Start(const ClusterOptions& options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int size() const { return options_.members; }
  std::vector<uint64_t> ids() const;
  const std::string& dir() const { return dir_; }
  const ClusterOptions& options() const { return options_; }
  // "127.0.0.1:PORT" of member `id` (1-based).
  const std::string& Address(uint64_t id) const;
  std::vector<std::string> Addresses() const;
  // The member whose address is `address`; 0 when none.
  uint64_t IdOf(const std::string& address) const;

  // Starts a new member (the next id, a free port, a fresh data directory)
  // with --join naming the members in `via` instead of --initial-members;
  // restarts keep those flags. Returns its id. Does not wait for the join.
  common::Result<uint64_t> Join(const std::vector<uint64_t>& via);
  // Wipes the data directory of member `id` (not running) and starts it
  // again with --join naming `via`, same id, and the port and --join-replace
  // of `options`; restarts keep those flags. Without `replace` the member
  // must have been removed from the cluster, or the leader refuses the join.
  common::Status Rejoin(uint64_t id, const std::vector<uint64_t>& via, const RejoinOptions& options = {});
  // Process control. kFailedPrecondition when the member is not in the state
  // the call needs (Restart: not running; the others: running).
  common::Status Restart(uint64_t id);
  common::Status Kill(uint64_t id);
  common::Status Stop(uint64_t id);
  common::Status Cont(uint64_t id);
  // SIGTERM, then waits up to `timeout_ms` for the exit; after that SIGKILL
  // and kDeadlineExceeded (with the log's tail).
  common::Result<ExitStatus> Terminate(uint64_t id, int64_t timeout_ms = 10'000);
  // Running: started and not yet exited (a stopped member is running). Reaps
  // a member that exited by itself.
  bool Running(uint64_t id);
  bool Stopped(uint64_t id) const;
  pid_t Pid(uint64_t id) const;
  // How the member's last life ended (after it was reaped).
  ExitStatus LastExit(uint64_t id) const;
  // Waits up to `timeout_ms` for member `id` to exit by itself and returns
  // how it ended; kDeadlineExceeded (with the log's tail) when it still runs.
  common::Result<ExitStatus> WaitExited(uint64_t id, int64_t timeout_ms);

  // A stub on the member's address (channels are shared and reconnect fast).
  std::unique_ptr<replog::v1::Log::Stub> Stub(uint64_t id);
  std::shared_ptr<grpc::Channel> Channel(const std::string& address);

  common::Result<replog::v1::GetServersResponse> GetServers(uint64_t id, int64_t timeout_ms = 500);
  // One round of GetServers over the running, not stopped members: the id of
  // a member that calls itself the leader and that a majority of the
  // cluster's members name as leader; 0 when there is none.
  uint64_t LeaderId();
  // Polls LeaderId() until it is a member not in `exclude`. kDeadlineExceeded
  // after `timeout_ms` (with what each member answered); kInternal when a
  // member exited on its own meanwhile (with its log's tail).
  common::Result<uint64_t> WaitForLeader(int64_t timeout_ms, const std::set<uint64_t>& exclude = {});

  // The last offset the member has applied (ConsumeResponse.committed_offset).
  common::Result<uint64_t> CommittedOffset(uint64_t id, int64_t timeout_ms = 1'000);
  // Waits until every member in `ids` reports a committed offset >= `offset`.
  common::Status WaitCommitted(const std::vector<uint64_t>& ids, uint64_t offset, int64_t timeout_ms);
  // The first offset the member retains (ConsumeResponse.first_offset).
  common::Result<uint64_t> FirstOffset(uint64_t id, int64_t timeout_ms = 2'000);
  // Waits until every member in `ids` retains from the same first offset and
  // it has not moved for a second (members carry out a purge each in its own
  // time, and a leader may purge again); returns it. kFailedPrecondition
  // with each member's answer after `timeout_ms`.
  common::Result<uint64_t> WaitSameFirstOffset(const std::vector<uint64_t>& ids, int64_t timeout_ms);
  // Every record of the member's committed log from `from` (0: its first
  // retained offset) through `through`, read with non-linearizable Consume
  // calls straight to that member. kFailedPrecondition when the member has
  // not committed through `through`; kOutOfRange when `from` is below its
  // first retained offset.
  common::Result<std::vector<LogRecord>> ReadLog(uint64_t id, uint64_t through, uint64_t from = 0);

  // User + system CPU time of the member's process so far (/proc/PID/stat).
  common::Result<int64_t> CpuTimeMs(uint64_t id) const;

  std::string LogPath(uint64_t id) const;
  // The last `lines` lines of the member's log file.
  std::string LogTail(uint64_t id, int lines = 30) const;
  // The member's log file from its last "==== launch" line on.
  std::string LastLaunchLog(uint64_t id) const;
  // Every member's tail, headed by its id and pid.
  std::string AllLogTails(int lines = 30) const;

  common::Clock& clock() { return clock_; }
  // Calls `done` every `poll_ms` until it returns true (then true) or
  // `timeout_ms` have passed (then false).
  bool WaitUntil(const std::function<bool()>& done, int64_t timeout_ms, int64_t poll_ms = 10);

 private:
  struct Member {
    uint64_t id = 0;
    std::string address;
    std::string data_dir;
    pid_t pid = -1;  // -1: not running
    bool stopped = false;
    int launches = 0;
    ExitStatus last_exit;
    std::vector<std::string> join;  // --join addresses; empty: --initial-members
    bool join_replace = false;
  };

  explicit Cluster(ClusterOptions options) : options_(std::move(options)) {}
  common::Status Launch(Member& m);
  std::vector<std::string> Args(const Member& m) const;
  Member& At(uint64_t id);
  const Member& At(uint64_t id) const;
  void Reap(Member& m, int status);

  ClusterOptions options_;
  std::string dir_;
  std::vector<Member> members_;
  common::RealClock clock_;
  std::mutex channels_mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
};

// Nanoseconds to milliseconds, as a double, for printing.
inline double Ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace cluster_testing
