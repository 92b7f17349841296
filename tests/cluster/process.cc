#include "process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>

#include "cluster_harness.h"

namespace cluster_testing {

using common::Result;
using common::Status;

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Everything the child needs, built before fork: after fork only
// async-signal-safe calls may run (the test process has gRPC threads).
struct ChildPlan {
  std::vector<std::string> storage;
  std::vector<char*> argv;
  sigset_t empty_mask;
  pid_t parent = 0;
  int output_fd = -1;
};

[[noreturn]] void RunChild(const ChildPlan& plan) {
  // The parent may have died between fork and prctl: then nobody would kill us.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != plan.parent) _exit(126);
  sigprocmask(SIG_SETMASK, &plan.empty_mask, nullptr);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (dup2(plan.output_fd, STDOUT_FILENO) < 0 || dup2(plan.output_fd, STDERR_FILENO) < 0) _exit(126);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  close_range(3, ~0U, 0);
  execv(plan.argv[0], plan.argv.data());
  // strerror is not async-signal-safe: print errno's number.
  char msg[] = "cluster harness: exec failed, errno 000\n";
  const size_t digits = sizeof(msg) - 5;
  for (int e = errno, i = 0; i < 3; i++, e /= 10) msg[digits + 2 - i] = static_cast<char>('0' + e % 10);
  (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
  _exit(127);
}

}  // namespace

Result<pid_t> Spawn(const std::string& path, const std::vector<std::string>& args, const std::string& output_path) {
  ChildPlan plan;
  plan.storage.push_back(path);
  plan.storage.insert(plan.storage.end(), args.begin(), args.end());
  for (std::string& s : plan.storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  sigemptyset(&plan.empty_mask);
  plan.parent = getpid();
  plan.output_fd = open(output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (plan.output_fd < 0) return common::InternalError(Errno("open " + output_path));
  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_errno = errno;
  close(plan.output_fd);
  if (pid < 0) return common::InternalError(std::string("fork: ") + std::strerror(fork_errno));
  return pid;
}

ExitStatus DecodeWaitStatus(int status) {
  ExitStatus e;
  e.exited = true;
  if (WIFEXITED(status)) e.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  return e;
}

Result<ExitStatus> WaitExit(pid_t pid, int64_t timeout_ms, common::Clock& clock) {
  const int64_t deadline = clock.NowNanos() + timeout_ms * 1'000'000;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return DecodeWaitStatus(status);
    if (r < 0 && errno != EINTR) return common::InternalError(Errno("waitpid " + std::to_string(pid)));
    if (clock.NowNanos() >= deadline) {
      return Status(common::Code::kDeadlineExceeded,
                    "process " + std::to_string(pid) + " still running after " + std::to_string(timeout_ms) + " ms");
    }
    clock.SleepNanos(5'000'000);
  }
}

Result<int64_t> ProcessCpuMs(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text)) return common::InternalError("cannot read " + path);
  // Field 2 (comm) may hold spaces; fields are counted after its ')'.
  const size_t close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return common::InternalError("malformed " + path);
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  long long utime = -1, stime = -1;
  // After comm: state is field 3; utime is field 14, stime field 15.
  for (int n = 3; n <= 15 && fields >> field; n++) {
    if (n == 14) utime = std::stoll(field);
    if (n == 15) stime = std::stoll(field);
  }
  if (utime < 0 || stime < 0) return common::InternalError("malformed " + path);
  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  return static_cast<int64_t>((utime + stime) * 1000 / ticks_per_s);
}

std::string ReadWholeFile(const std::string& path) {
  std::string out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  std::fclose(f);
  return out;
}

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += l + "\n";
  return out;
}

}  // namespace cluster_testing
