#include "cluster_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "process.h"

namespace cluster_testing {

using common::Result;
using common::Status;

// Binds `n` loopback sockets to port 0 at once (so the ports differ), reads
// the ports and closes them. A listening socket that never accepted leaves
// no TIME_WAIT behind, so replogd can bind the port right after.
Result<std::vector<int>> FreeLoopbackPorts(int n) {
  std::vector<int> fds, ports;
  Status error;
  for (int i = 0; i < n && error.ok(); i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = common::InternalError(std::string("socket: ") + std::strerror(errno));
      break;
    }
    fds.push_back(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      error = common::InternalError(std::string("bind/getsockname: ") + std::strerror(errno));
      break;
    }
    ports.push_back(ntohs(addr.sin_port));
  }
  for (int fd : fds) close(fd);
  if (!error.ok()) return error;
  return ports;
}

namespace {

Status GrpcError(const std::string& what, const grpc::Status& s) {
  return Status(static_cast<common::Code>(static_cast<int>(s.error_code())), what + ": " + s.error_message());
}

// REPLOG_CLUSTER_VERBOSE=1: print every round of GetServers.
bool Verbose() {
  static const bool verbose = [] {
    const char* v = std::getenv("REPLOG_CLUSTER_VERBOSE");
    return v != nullptr && std::string(v) == "1";
  }();
  return verbose;
}

// REPLOG_CLUSTER_LOG_LEVEL overrides every member's --log-level.
std::string LogLevel(const std::string& fallback) {
  const char* v = std::getenv("REPLOG_CLUSTER_LOG_LEVEL");
  return v != nullptr && v[0] != '\0' ? v : fallback;
}

bool KeepDirAlways() {
  const char* keep = std::getenv("REPLOG_CLUSTER_KEEP");
  return keep != nullptr && std::string(keep) == "1";
}

}  // namespace

void SetDeadline(grpc::ClientContext& ctx, int64_t timeout_ms) {
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  ctx.set_wait_for_ready(true);
}

std::string ReplogdPath() {
  const char* env = std::getenv("REPLOGD");
  if (env != nullptr && env[0] != '\0') return env;
  return REPLOGD_PATH;
}

std::string ExitStatus::ToString() const {
  if (!exited) return "running";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

Result<RunOutput> RunReplogd(const std::vector<std::string>& args, const std::string& work_dir, int64_t timeout_ms) {
  static int runs = 0;
  const std::string out_path = work_dir + "/run-" + std::to_string(++runs) + ".out";
  ASSIGN_OR_RETURN(pid_t pid, Spawn(ReplogdPath(), args, out_path));
  common::RealClock clock;
  Result<ExitStatus> exit = WaitExit(pid, timeout_ms, clock);
  if (!exit.has_value() && exit.error().code() == common::Code::kDeadlineExceeded) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return Status(common::Code::kDeadlineExceeded,
                  "replogd did not exit within " + std::to_string(timeout_ms) + " ms; its output:\n" +
                      TailOfFile(out_path, 40));
  }
  if (!exit.has_value()) return exit.error();
  return RunOutput{*exit, ReadWholeFile(out_path)};
}

Result<std::unique_ptr<Cluster>> Cluster::Start(const ClusterOptions& options) {
  if (options.members < 1) return common::InvalidArgumentError("a cluster needs at least one member");
  std::unique_ptr<Cluster> c(new Cluster(options));
  std::string tmpl = (std::filesystem::temp_directory_path() / ("replog-" + options.name + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) return common::InternalError("mkdtemp " + tmpl + ": " + std::strerror(errno));
  c->dir_ = tmpl;
  ASSIGN_OR_RETURN(std::vector<int> ports, FreeLoopbackPorts(options.members));
  for (int i = 0; i < options.members; i++) {
    Member m;
    m.id = static_cast<uint64_t>(i + 1);
    m.address = "127.0.0.1:" + std::to_string(ports[static_cast<size_t>(i)]);
    m.data_dir = c->dir_ + "/data/" + std::to_string(m.id);
    c->members_.push_back(std::move(m));
  }
  std::printf("[ cluster  ] %d members in %s\n", options.members, c->dir_.c_str());
  for (Member& m : c->members_) RETURN_IF_ERROR(c->Launch(m));
  return c;
}

Result<uint64_t> Cluster::Join(const std::vector<uint64_t>& via) {
  ASSIGN_OR_RETURN(std::vector<int> ports, FreeLoopbackPorts(1));
  Member m;
  for (const Member& other : members_) m.id = std::max(m.id, other.id);
  ++m.id;
  m.address = "127.0.0.1:" + std::to_string(ports[0]);
  m.data_dir = dir_ + "/data/" + std::to_string(m.id);
  for (uint64_t id : via) m.join.push_back(Address(id));
  members_.push_back(std::move(m));
  RETURN_IF_ERROR(Launch(members_.back()));
  return members_.back().id;
}

Status Cluster::Rejoin(uint64_t id, const std::vector<uint64_t>& via, const RejoinOptions& options) {
  if (Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is running");
  Member& m = At(id);
  std::error_code ec;
  std::filesystem::remove_all(m.data_dir, ec);
  if (ec) return common::InternalError("wipe " + m.data_dir + ": " + ec.message());
  if (options.new_port) {
    ASSIGN_OR_RETURN(std::vector<int> ports, FreeLoopbackPorts(1));
    m.address = "127.0.0.1:" + std::to_string(ports[0]);
  }
  m.join.clear();
  for (uint64_t v : via) m.join.push_back(Address(v));
  m.join_replace = options.replace;
  return Launch(m);
}

Cluster::~Cluster() {
  for (Member& m : members_) {
    if (m.pid <= 0) continue;
    kill(m.pid, SIGKILL);
    int status = 0;
    waitpid(m.pid, &status, 0);
    m.pid = -1;
  }
  const bool failed = ::testing::Test::HasFailure();
  if (failed) {
    std::printf("[ cluster  ] the test failed; member logs (kept in %s):\n%s", dir_.c_str(),
                AllLogTails(40).c_str());
  }
  if (!failed && !KeepDirAlways()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::vector<uint64_t> Cluster::ids() const {
  std::vector<uint64_t> out;
  for (const Member& m : members_) out.push_back(m.id);
  return out;
}

Cluster::Member& Cluster::At(uint64_t id) {
  CHECK_MSG(id >= 1 && id <= members_.size(), "no member " + std::to_string(id));
  return members_[id - 1];
}

const Cluster::Member& Cluster::At(uint64_t id) const {
  CHECK_MSG(id >= 1 && id <= members_.size(), "no member " + std::to_string(id));
  return members_[id - 1];
}

const std::string& Cluster::Address(uint64_t id) const { return At(id).address; }

std::vector<std::string> Cluster::Addresses() const {
  std::vector<std::string> out;
  for (const Member& m : members_) out.push_back(m.address);
  return out;
}

uint64_t Cluster::IdOf(const std::string& address) const {
  for (const Member& m : members_) {
    if (m.address == address) return m.id;
  }
  return 0;
}

std::vector<std::string> Cluster::Args(const Member& m) const {
  std::string initial;
  for (const Member& other : members_) {
    if (!initial.empty()) initial += ",";
    initial += std::to_string(other.id) + "=" + other.address;
  }
  std::string join;
  for (const std::string& a : m.join) join += (join.empty() ? "" : ",") + a;
  std::vector<std::string> args = {"--id", std::to_string(m.id), "--data-dir", m.data_dir, "--listen", m.address,
                                   m.join.empty() ? "--initial-members" : "--join", m.join.empty() ? initial : join,
                                   "--log-level", LogLevel(options_.log_level)};
  if (m.join_replace) args.push_back("--join-replace");
  auto add = [&](const char* flag, int value) {
    if (value == 0) return;
    args.push_back(flag);
    args.push_back(std::to_string(value));
  };
  add("--tick-ms", options_.tick_ms);
  add("--heartbeat-ticks", options_.heartbeat_ticks);
  add("--election-ticks", options_.election_ticks);
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  if (options_.member_args) {
    const std::vector<std::string> own = options_.member_args(m.id);
    args.insert(args.end(), own.begin(), own.end());
  }
  return args;
}

Status Cluster::Launch(Member& m) {
  const std::vector<std::string> args = Args(m);
  {
    std::ofstream log(LogPath(m.id), std::ios::app);
    log << "==== launch " << ++m.launches << ": " << ReplogdPath();
    for (const std::string& a : args) log << " " << a;
    log << "\n";
  }
  ASSIGN_OR_RETURN(m.pid, Spawn(ReplogdPath(), args, LogPath(m.id)));
  m.stopped = false;
  m.last_exit = ExitStatus{};
  return Status::Ok();
}

void Cluster::Reap(Member& m, int status) {
  m.last_exit = DecodeWaitStatus(status);
  m.pid = -1;
  m.stopped = false;
  std::ofstream(LogPath(m.id), std::ios::app) << "==== harness: member " << m.id << " ended: "
                                              << m.last_exit.ToString() << "\n";
}

bool Cluster::Running(uint64_t id) {
  Member& m = At(id);
  if (m.pid <= 0) return false;
  int status = 0;
  if (waitpid(m.pid, &status, WNOHANG) == m.pid) {
    Reap(m, status);
    return false;
  }
  return true;
}

bool Cluster::Stopped(uint64_t id) const { return At(id).stopped; }
pid_t Cluster::Pid(uint64_t id) const { return At(id).pid; }
ExitStatus Cluster::LastExit(uint64_t id) const { return At(id).last_exit; }

Result<ExitStatus> Cluster::WaitExited(uint64_t id, int64_t timeout_ms) {
  if (WaitUntil([&] { return !Running(id); }, timeout_ms)) return LastExit(id);
  return Status(common::Code::kDeadlineExceeded, "member " + std::to_string(id) + " still runs after " +
                                                     std::to_string(timeout_ms) + " ms; log tail:\n" + LogTail(id));
}

bool Cluster::WaitUntil(const std::function<bool()>& done, int64_t timeout_ms, int64_t poll_ms) {
  const int64_t deadline = clock_.NowNanos() + timeout_ms * 1'000'000;
  while (!done()) {
    if (clock_.NowNanos() >= deadline) return false;
    clock_.SleepNanos(poll_ms * 1'000'000);
  }
  return true;
}

Status Cluster::Restart(uint64_t id) {
  if (Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is running");
  return Launch(At(id));
}

Status Cluster::Kill(uint64_t id) {
  if (!Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is not running");
  Member& m = At(id);
  kill(m.pid, SIGKILL);
  int status = 0;
  waitpid(m.pid, &status, 0);
  Reap(m, status);
  return Status::Ok();
}

Status Cluster::Stop(uint64_t id) {
  if (!Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is not running");
  Member& m = At(id);
  if (kill(m.pid, SIGSTOP) != 0) return common::InternalError(std::string("SIGSTOP: ") + std::strerror(errno));
  m.stopped = true;
  return Status::Ok();
}

Status Cluster::Cont(uint64_t id) {
  if (!Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is not running");
  Member& m = At(id);
  if (kill(m.pid, SIGCONT) != 0) return common::InternalError(std::string("SIGCONT: ") + std::strerror(errno));
  m.stopped = false;
  return Status::Ok();
}

Result<ExitStatus> Cluster::Terminate(uint64_t id, int64_t timeout_ms) {
  if (!Running(id)) return common::FailedPreconditionError("member " + std::to_string(id) + " is not running");
  Member& m = At(id);
  if (m.stopped) kill(m.pid, SIGCONT);
  kill(m.pid, SIGTERM);
  Result<ExitStatus> exit = WaitExit(m.pid, timeout_ms, clock_);
  if (exit.has_value()) {
    m.pid = -1;
    m.stopped = false;
    m.last_exit = *exit;
    std::ofstream(LogPath(id), std::ios::app) << "==== harness: member " << id << " ended after SIGTERM: "
                                              << exit->ToString() << "\n";
    return exit;
  }
  const std::string tail = LogTail(id, 40);
  Status kill_status = Kill(id);
  return Status(exit.error().code(), "member " + std::to_string(id) + " after SIGTERM: " + exit.error().message() +
                                         " (then SIGKILL: " + kill_status.ToString() + "); log tail:\n" + tail);
}

std::shared_ptr<grpc::Channel> Cluster::Channel(const std::string& address) {
  std::lock_guard<std::mutex> lock(channels_mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  grpc::ChannelArguments args;
  // A member comes back within a second of being restarted: reconnect fast.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  args.SetMaxReceiveMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(
      "ipv4:" + address, options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials(), args);
  channels_[address] = channel;
  return channel;
}

std::unique_ptr<replog::v1::Log::Stub> Cluster::Stub(uint64_t id) {
  return replog::v1::Log::NewStub(Channel(Address(id)));
}

Result<replog::v1::GetServersResponse> Cluster::GetServers(uint64_t id, int64_t timeout_ms) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms);
  replog::v1::GetServersResponse resp;
  grpc::Status s = Stub(id)->GetServers(&ctx, replog::v1::GetServersRequest(), &resp);
  if (!s.ok()) return GrpcError("GetServers on member " + std::to_string(id), s);
  return resp;
}

uint64_t Cluster::LeaderId() {
  std::map<uint64_t, uint64_t> named;  // member -> the leader it names
  std::string trace;
  for (const Member& m : members_) {
    if (m.pid <= 0 || m.stopped) continue;
    Result<replog::v1::GetServersResponse> r = GetServers(m.id, 300);
    if (r.has_value()) named[m.id] = r->leader_id();
    if (Verbose()) {
      trace += " " + std::to_string(m.id) + ":" +
               (r.has_value() ? "leader=" + std::to_string(r->leader_id()) + ",term=" + std::to_string(r->term())
                              : r.error().ToString());
    }
  }
  if (Verbose()) std::printf("[ cluster  ] %.0f ms GetServers%s\n", Ms(clock_.NowNanos()), trace.c_str());
  for (const auto& [id, leader] : named) {
    if (id != leader) continue;
    const auto votes = std::count_if(named.begin(), named.end(), [&](const auto& e) { return e.second == leader; });
    if (votes > static_cast<long>(members_.size()) / 2) return leader;
  }
  return 0;
}

Result<uint64_t> Cluster::WaitForLeader(int64_t timeout_ms, const std::set<uint64_t>& exclude) {
  const int64_t start = clock_.NowNanos();
  const int64_t deadline = start + timeout_ms * 1'000'000;
  while (true) {
    for (const Member& m : members_) {
      if (m.pid > 0 && !Running(m.id)) {
        return common::InternalError("member " + std::to_string(m.id) + " exited (" + At(m.id).last_exit.ToString() +
                                     ") while waiting for a leader; log tail:\n" + LogTail(m.id, 40));
      }
    }
    const uint64_t leader = LeaderId();
    if (leader != 0 && !exclude.contains(leader)) {
      std::printf("[ cluster  ] leader %llu (after %.0f ms)\n", static_cast<unsigned long long>(leader),
                  Ms(clock_.NowNanos() - start));
      return leader;
    }
    if (clock_.NowNanos() >= deadline) break;
    clock_.SleepNanos(10'000'000);
  }
  std::string seen;
  for (const Member& m : members_) {
    if (m.pid <= 0 || m.stopped) continue;
    Result<replog::v1::GetServersResponse> r = GetServers(m.id, 300);
    seen += "\n  member " + std::to_string(m.id) + ": " +
            (r.has_value() ? "leader " + std::to_string(r->leader_id()) + ", term " + std::to_string(r->term())
                           : r.error().ToString());
  }
  return Status(common::Code::kDeadlineExceeded,
                "no leader after " + std::to_string(timeout_ms) + " ms; members answered:" + seen);
}

Result<uint64_t> Cluster::CommittedOffset(uint64_t id, int64_t timeout_ms) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms);
  replog::v1::ConsumeRequest req;
  req.set_from_offset(0);
  req.set_max_records(1);
  replog::v1::ConsumeResponse resp;
  grpc::Status s = Stub(id)->Consume(&ctx, req, &resp);
  if (!s.ok()) return GrpcError("Consume on member " + std::to_string(id), s);
  return resp.committed_offset();
}

Status Cluster::WaitCommitted(const std::vector<uint64_t>& ids, uint64_t offset, int64_t timeout_ms) {
  const int64_t deadline = clock_.NowNanos() + timeout_ms * 1'000'000;
  while (true) {
    std::string lagging;
    for (uint64_t id : ids) {
      Result<uint64_t> c = CommittedOffset(id);
      if (!c.has_value() || *c < offset) {
        lagging += "\n  member " + std::to_string(id) + ": " +
                   (c.has_value() ? "committed " + std::to_string(*c) : c.error().ToString());
      }
    }
    if (lagging.empty()) return Status::Ok();
    if (clock_.NowNanos() >= deadline) {
      return Status(common::Code::kDeadlineExceeded, "members not committed through " + std::to_string(offset) +
                                                         " after " + std::to_string(timeout_ms) + " ms:" + lagging);
    }
    clock_.SleepNanos(20'000'000);
  }
}

Result<uint64_t> Cluster::FirstOffset(uint64_t id, int64_t timeout_ms) {
  auto stub = Stub(id);
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms);
  replog::v1::ConsumeRequest req;
  req.set_max_records(1);
  replog::v1::ConsumeResponse resp;
  grpc::Status s = stub->Consume(&ctx, req, &resp);
  if (!s.ok()) return GrpcError("Consume on member " + std::to_string(id), s);
  return resp.first_offset();
}

Result<uint64_t> Cluster::WaitSameFirstOffset(const std::vector<uint64_t>& ids, int64_t timeout_ms) {
  const int64_t end = clock_.NowNanos() + timeout_ms * 1'000'000;
  std::string answers;
  uint64_t previous = 0;
  int stable = 0;
  while (clock_.NowNanos() < end) {
    std::set<uint64_t> firsts;
    answers.clear();
    for (uint64_t id : ids) {
      auto f = FirstOffset(id);
      answers += " " + std::to_string(id) + ": " + (f.has_value() ? std::to_string(*f) : f.error().ToString()) + ";";
      if (f.has_value()) firsts.insert(*f);
    }
    const bool same = firsts.size() == 1 && *firsts.begin() == previous;
    stable = same ? stable + 1 : 0;
    if (stable >= 5) return previous;
    previous = firsts.size() == 1 ? *firsts.begin() : 0;
    clock_.SleepNanos(200'000'000);
  }
  return common::FailedPreconditionError("the members' first offsets did not settle on one:" + answers);
}

Result<std::vector<LogRecord>> Cluster::ReadLog(uint64_t id, uint64_t through, uint64_t from) {
  std::vector<LogRecord> out;
  auto stub = Stub(id);
  while (true) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 10'000);
    replog::v1::ConsumeRequest req;
    req.set_from_offset(from);
    req.set_max_records(5000);
    req.set_linearizable(false);
    replog::v1::ConsumeResponse resp;
    grpc::Status s = stub->Consume(&ctx, req, &resp);
    if (!s.ok()) return GrpcError("Consume from " + std::to_string(from) + " on member " + std::to_string(id), s);
    for (const replog::v1::Record& r : resp.records()) {
      if (r.offset() <= through) out.push_back(LogRecord{r.offset(), r.value()});
    }
    if (resp.next_offset() > through) return out;
    if (resp.next_offset() <= from && resp.records_size() == 0) {
      return common::FailedPreconditionError("member " + std::to_string(id) + " has committed only through " +
                                             std::to_string(resp.committed_offset()) + ", not " +
                                             std::to_string(through));
    }
    from = resp.next_offset();
  }
}

Result<int64_t> Cluster::CpuTimeMs(uint64_t id) const {
  const Member& m = At(id);
  if (m.pid <= 0) return common::FailedPreconditionError("member " + std::to_string(id) + " is not running");
  return ProcessCpuMs(m.pid);
}

std::string Cluster::LogPath(uint64_t id) const { return dir_ + "/" + std::to_string(id) + ".log"; }

std::string Cluster::LogTail(uint64_t id, int lines) const { return TailOfFile(LogPath(id), lines); }

std::string Cluster::LastLaunchLog(uint64_t id) const {
  const std::string text = ReadWholeFile(LogPath(id));
  const size_t at = text.rfind("==== launch ");
  return at == std::string::npos ? text : text.substr(at);
}

std::string Cluster::AllLogTails(int lines) const {
  std::string out;
  for (const Member& m : members_) {
    out += "---- member " + std::to_string(m.id) + " (" + m.address + ", pid " + std::to_string(m.pid) + ", " +
           LogPath(m.id) + ") ----\n" + LogTail(m.id, lines);
  }
  return out;
}

}  // namespace cluster_testing
