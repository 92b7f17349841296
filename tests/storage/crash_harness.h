#pragma once

// Helpers for running a SegmentedLog on a MemFs that fails: a Life is one run
// of a writer process on a machine. After Fail() that process can no longer
// touch the disk (every call of its Fs fails) while the test keeps the MemFs
// to reopen the log on, as a restarted process would.

#include <cerrno>
#include <mutex>
#include <string>

#include "testing/faulty_fs.h"
#include "testing/mem_fs.h"

namespace storage_testing {

enum class Failure {
  kPowerLoss,              // the machine loses power (MemFs::Crash)
  kPowerLossDirCommitted,  // ... just after the file system committed the log directory's
                           // creations, renames and removals on its own, as a journaling
                           // file system may at any time without being asked
  kProcessKill,            // only the process dies (kill -9): the page cache survives
};

inline const char* FailureName(Failure f) {
  switch (f) {
    case Failure::kPowerLoss: return "power-loss";
    case Failure::kPowerLossDirCommitted: return "power-loss-dir-committed";
    case Failure::kProcessKill: return "process-kill";
  }
  return "?";
}

inline const char* CrashModeName(replog_testing::CrashMode mode) {
  return mode == replog_testing::CrashMode::kDropUnsynced ? "kDropUnsynced" : "kTearLastWrite";
}

class Life {
 public:
  // `mem` must outlive the Life; `dir` is the log's directory.
  Life(replog_testing::MemFs& mem, std::string dir) : mem_(mem), dir_(std::move(dir)), fs_(mem) {}

  // The Fs this life's log uses.
  common::Fs& fs() { return fs_; }

  // Ends this life: its Fs fails every later call, and for a power loss the
  // MemFs keeps only what was durable (per `mode`, `seed`). Only the first
  // call has an effect. Any thread, also from inside the MemFs sync hook.
  void Fail(Failure failure, replog_testing::CrashMode mode, uint64_t seed) {
    // Recursive: SyncDir below runs the sync hook, which may call Fail again
    // on this thread.
    std::lock_guard lk(mu_);
    if (failed_) return;
    failed_ = true;
    // First cut the process off the disk, then lose power: a call already
    // past the FaultyFs lands before the crash, as it would on a real disk.
    fs_.FailMatching([](std::string_view, const std::string&) { return true; }, EIO);
    if (failure == Failure::kPowerLossDirCommitted) mem_.SyncDir(dir_).IgnoreError();
    if (failure != Failure::kProcessKill) mem_.Crash(mode, seed);
  }

  // Kills the process just before the n-th call of its Fs (counted from the
  // creation of the Life; 1 is the first call): that call and every later
  // one fail, as if the process had died there.
  void KillAtCall(uint64_t n) {
    fs_.FailMatching([n, count = uint64_t{0}](std::string_view, const std::string&) mutable { return ++count >= n; },
                     EIO);
  }

  // Calls made through fs() so far.
  uint64_t calls() { return fs_.calls(); }

 private:
  replog_testing::MemFs& mem_;
  const std::string dir_;
  replog_testing::FaultyFs fs_;
  std::recursive_mutex mu_;
  bool failed_ = false;
};

}  // namespace storage_testing
