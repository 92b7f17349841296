#pragma once

// MemFs: an in-memory common::Fs that can lose power.
//
// Model. A file is an inode holding its current bytes, its durable bytes (the
// content as of the last File::Sync or MappedRegion::Sync) and the log of the
// WriteAt and Truncate calls made since then. The namespace (path -> inode)
// exists twice: the current one, which Open(kCreate), Rename and Remove change
// at once, and the durable one, which SyncDir(dir) brings up to date for the
// entries directly inside `dir` (and only those). So, as on a strict POSIX
// file system, a new file needs both File::Sync (its bytes) and SyncDir of its
// directory (its name) to survive a crash, and a removed or renamed-away name
// can reappear after one. A rename between two directories behaves like a
// hard link until both are synced.
//
// Directories are simpler: CreateDir is durable at once, and directories can
// be neither removed nor renamed. "/" and "." always exist. Paths are taken
// literally except that repeated and trailing slashes and a leading "./" are
// dropped; ".." is not resolved.
//
// Crash(mode, seed) simulates power loss: the namespace becomes the durable
// one, and every surviving file its durable bytes (kDropUnsynced), or its
// durable bytes plus a random prefix of its unsynced WriteAt/Truncate log,
// the last replayed write possibly torn (kTearLastWrite). Writes made through
// a MappedRegion are not in that log: unless synced, they are always lost.
// Every File, MappedRegion and FileLock handed out before the crash is then
// dead: its calls return kUnavailable "<op> <path>: crashed" and never touch
// the new state; a dead region's data() stays valid memory (of the old,
// discarded file) until the region is destroyed. Crash releases all locks.
//
// Mapping. A mapped file's bytes never move, so data() stays valid while the
// file grows or shrinks (a mapped file's buffer is an address range of
// kMaxFileBytes reserved up front, committed as it grows). Every file is
// limited to kMaxFileBytes; growing past it fails with EFBIG ("File too
// large").
//
// Errors mirror PosixFs: "<op> <path>: <strerror>" through common::ErrnoStatus
// (so a missing file is kNotFound), with the same op names (open, pread,
// pwrite, fdatasync, ...).
//
// Threads: every method, and every method of the handles, may be called from
// any thread; one mutex guards all state. As with a real mmap, writes through
// data() race with other access to the same bytes unless the caller orders
// them. Handles may outlive the MemFs.

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
struct MemFsState;
}  // namespace internal

enum class CrashMode {
  kDropUnsynced,    // files revert to their durable bytes
  kTearLastWrite,   // ... plus a random prefix of their unsynced writes
};

class MemFs final : public common::Fs {
 public:
  static constexpr uint64_t kMaxFileBytes = uint64_t{1} << 30;

  MemFs();
  ~MemFs() override;
  MemFs(const MemFs&) = delete;
  MemFs& operator=(const MemFs&) = delete;

  common::Result<std::unique_ptr<common::File>> Open(const std::string& path, common::OpenMode mode) override;
  common::Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  common::Status CreateDir(const std::string& dir) override;
  common::Status Rename(const std::string& from, const std::string& to) override;
  common::Status Remove(const std::string& path) override;
  common::Status SyncDir(const std::string& dir) override;
  common::Result<bool> Exists(const std::string& path) override;
  // Exclusive within this MemFs: a second Lock of the same path while the
  // first FileLock lives is kFailedPrecondition "<path> is locked by pid <our
  // pid>". Creates the file if missing and writes our pid into it (unsynced).
  common::Result<std::unique_ptr<common::FileLock>> Lock(const std::string& path) override;

  // Simulates power loss as described above. The same seed and the same
  // history give the same result. Safe while other threads use the MemFs:
  // their handles simply die.
  void Crash(CrashMode mode, uint64_t seed);

  // Calls `hook(path)` at the start of every SyncDir, and of every File::Sync
  // and MappedRegion::Sync on a live handle, before it takes effect and without
  // holding the mutex, so a test can count the sync points of a run and, in a
  // later run, Crash() from inside the hook at the k-th one: the sync then
  // fails with kUnavailable and nothing it would have made durable is. An
  // empty function removes the hook. The hook may be called from any thread
  // that syncs.
  void SetSyncHook(std::function<void(const std::string& path)> hook);

  // The current bytes of `path` (kNotFound if missing).
  common::Result<std::string> ReadFileForTest(const std::string& path);
  // Creates or replaces `path` with `bytes`, durably (contents and name);
  // creates missing parent directories.
  common::Status WriteFileForTest(const std::string& path, std::string_view bytes);
  // XORs the byte at `offset` with 0xFF, in both the current and the durable
  // bytes (meant for synced files: an unsynced write replayed by
  // kTearLastWrite may cover it). CHECKs that the byte exists.
  void FlipByteForTest(const std::string& path, uint64_t offset);
  // How many File::Sync calls took effect (MappedRegion::Sync and SyncDir
  // are not counted).
  uint64_t sync_count();
  // Every file path of the current namespace, sorted (directories left out).
  std::vector<std::string> ListAll();

 private:
  std::shared_ptr<internal::MemFsState> state_;
};

}  // namespace replog_testing
