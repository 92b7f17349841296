// The kill -9 test of SegmentedLog on the real file system (DESIGN §7): a
// writer process (storage_crash_writer) appends and syncs, reporting each
// durable index; after a random 50-300 ms it gets SIGKILL, and the log is
// reopened here: it must hold at least every reported index, and every entry
// must be the one the writer wrote at that index. Five rounds on one
// directory, each restart continuing the log.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "common/clock.h"
#include "crash_writer.h"
#include "storage/segmented_log.h"

extern char** environ;

namespace storage_testing {
namespace {

struct WriterRun {
  uint64_t last_reported = 0;  // the last durable index the writer printed
  int lines = 0;
  std::string error;           // empty when the writer ran until killed
};

// Starts the writer on `dir`, reads its reports for `run_ms`, kills it with
// SIGKILL and reaps it.
WriterRun RunAndKill(const std::string& dir, uint64_t seed, int64_t run_ms) {
  WriterRun run;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return WriterRun{0, 0, "pipe2 failed"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::string seed_arg = std::to_string(seed);
  std::string path = REPLOG_CRASH_WRITER_PATH;
  char* argv[] = {path.data(), const_cast<char*>(dir.c_str()), seed_arg.data(), nullptr};
  pid_t pid = 0;
  int err = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return WriterRun{0, 0, "posix_spawn " + path + ": " + std::strerror(err)};
  }

  common::RealClock clock;
  const int64_t deadline = clock.NowNanos() + run_ms * 1'000'000;
  std::string partial;
  bool eof = false;
  while (!eof) {
    int64_t left_ms = (deadline - clock.NowNanos()) / 1'000'000;
    if (left_ms <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left_ms)) <= 0) continue;
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      eof = true;
      break;
    }
    partial.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = partial.find('\n')) != std::string::npos; partial.erase(0, nl + 1)) {
      run.last_reported = std::strtoull(partial.substr(0, nl).c_str(), nullptr, 10);
      run.lines++;
    }
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
    run.error = "the writer exited on its own (status " + std::to_string(status) + "); see its stderr";
  }
  return run;
}

class KillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "replog-kill-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(KillTest, KilledWriterLosesNoSyncedEntry) {
  const uint64_t seed = std::random_device{}();
  std::printf("[ seed     ] %llu (dir %s)\n", static_cast<unsigned long long>(seed), dir_.c_str());
  std::mt19937_64 rng(seed);
  common::PosixFs fs;
  uint64_t reported = 0;
  for (int round = 1; round <= 5; round++) {
    const int64_t run_ms = 50 + static_cast<int64_t>(rng() % 251);
    WriterRun run = RunAndKill(dir_, rng(), run_ms);
    ASSERT_TRUE(run.error.empty()) << "round " << round << ": " << run.error;
    if (run.lines > 0) {
      ASSERT_GE(run.last_reported, reported) << "round " << round << ": the writer reported a shorter log";
      reported = run.last_reported;
    }
    std::printf("[ round    ] %d: killed after %lld ms, %d syncs reported, last durable index %llu\n", round,
                static_cast<long long>(run_ms), run.lines, static_cast<unsigned long long>(reported));

    auto log = storage::SegmentedLog::Open(fs, dir_, CrashWriterOptions());
    ASSERT_TRUE(log.has_value()) << "round " << round << ": reopen after kill -9: " << log.error().ToString();
    const uint64_t first = (*log)->first_index();
    const uint64_t last = (*log)->last_index();
    ASSERT_GE(last, reported) << "round " << round << ": a synced entry was lost";
    for (uint64_t lo = first; lo <= last;) {
      auto batch = (*log)->Entries(lo, last + 1, 1 << 20);
      ASSERT_TRUE(batch.has_value()) << "round " << round << ": " << batch.error().ToString();
      for (const storage::LogEntry& e : *batch) {
        ASSERT_EQ(e.index, lo);
        ASSERT_EQ(e.term, 1u) << "entry " << lo;
        ASSERT_EQ(e.payload, CrashWriterPayload(lo)) << "entry " << lo;
        lo++;
      }
    }
  }
  EXPECT_GT(reported, 0u) << "the writer never got a sync done";
}

}  // namespace
}  // namespace storage_testing
