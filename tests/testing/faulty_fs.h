#pragma once

// FaultyFs: a common::Fs that forwards to another one and fails chosen calls.
//
// Every call on the FaultyFs and on the Files and MappedRegions it hands out
// is counted (MappedRegion::data() and size(), File::path() and destructors
// are not calls). A call chosen to fail does nothing at all (except a partial
// write, below) and returns common::ErrnoStatus(op, path, err) with
// " (injected)" appended: "fdatasync /d/1.log: Input/output error (injected)"
// is kInternal, ENOSPC gives kResourceExhausted.
//
// `op` is the name of the system call PosixFs makes, and `path` the one it
// reports:
//   Fs::Open "open"       Fs::ListDir "opendir"    Fs::CreateDir "mkdir"
//   Fs::Rename "rename" (path "<from> -> <to>")    Fs::Remove "unlink"
//   Fs::SyncDir "fsync"   Fs::Exists "stat"        Fs::Lock "flock"
//   File::ReadAt "pread"  File::WriteAt "pwrite"   File::Sync "fdatasync"
//   File::Size "fstat"    File::Truncate "ftruncate"  File::Map "mmap"
//   MappedRegion::Sync "msync"
// Paths are the ones the caller passed (a File's path() for its calls).
//
// Threads: all methods, and those of the handles, are thread-safe as far as
// the wrapped Fs is; counting and choosing which call fails is atomic.
// Lifetime: the wrapped Fs must outlive the FaultyFs and all its handles;
// handles may outlive the FaultyFs.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "common/status.h"

namespace replog_testing {

namespace internal {
struct FaultyFsState;
}  // namespace internal

// Whether an injected failure of a WriteAt first writes the first half
// (rounded down) of its bytes, as a write cut short by a full disk would.
enum class PartialWrite { kNo, kYes };

class FaultyFs final : public common::Fs {
 public:
  explicit FaultyFs(common::Fs& base);
  ~FaultyFs() override;
  FaultyFs(const FaultyFs&) = delete;
  FaultyFs& operator=(const FaultyFs&) = delete;

  common::Result<std::unique_ptr<common::File>> Open(const std::string& path, common::OpenMode mode) override;
  common::Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  common::Status CreateDir(const std::string& dir) override;
  common::Status Rename(const std::string& from, const std::string& to) override;
  common::Status Remove(const std::string& path) override;
  common::Status SyncDir(const std::string& dir) override;
  common::Result<bool> Exists(const std::string& path) override;
  // The returned FileLock is the wrapped Fs's own (it has no calls to fail).
  common::Result<std::unique_ptr<common::FileLock>> Lock(const std::string& path) override;

  // Makes the n-th counted call from now (n >= 1; 1 is the next call) fail
  // with `err` (e.g. EIO, ENOSPC). Several pending FailNth may be set.
  void FailNth(uint64_t n, int err, PartialWrite partial = PartialWrite::kNo);
  // Makes every call for which `match(op, path)` is true fail with `err`, the
  // next `times` such calls only if times >= 0. `match` runs under the
  // FaultyFs's mutex: it must not call back into it.
  void FailMatching(std::function<bool(std::string_view op, const std::string& path)> match, int err,
                    int times = -1);
  // Calls counted since construction or the last Reset().
  uint64_t calls();
  // Zeroes the count and forgets every pending failure.
  void Reset();

 private:
  common::Fs& base_;
  std::shared_ptr<internal::FaultyFsState> state_;
};

}  // namespace replog_testing
