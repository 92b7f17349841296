#pragma once

// The file system, behind an interface so that storage can be crashed and
// fault-injected in tests (tests/testing/mem_fs.h, faulty_fs.h).
//
// Every error names the operation and the file ("fdatasync /d/1.log: Input/output
// error"). ENOSPC maps to kResourceExhausted, a missing file to kNotFound, other
// errno values to kInternal.
//
// Threads: an Fs may be used from any thread. A File may be used from several
// threads at once for ReadAt; writes, Sync, Truncate and Map on one File are
// serialized by its user.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace common {

enum class OpenMode {
  kRead,       // must exist; read-only
  kReadWrite,  // must exist
  kCreate,     // read-write; created empty if missing
  kCreateNew,  // read-write; kAlreadyExists if present
};

enum class MapMode { kReadOnly, kReadWrite };

// A shared mapping of the start of a file. Writes through data() reach the
// file (and so other mappings and ReadAt); they are durable after Sync().
// Valid until destroyed; may outlive the File it came from.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;
  virtual char* data() = 0;
  virtual size_t size() const = 0;
  // msync(MS_SYNC): makes writes through data() durable.
  virtual Status Sync() = 0;
};

class File {
 public:
  virtual ~File() = default;
  virtual const std::string& path() const = 0;

  // Reads up to `n` bytes at `offset` into `dst`; returns how many were read,
  // fewer than `n` only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) = 0;
  // Writes all `n` bytes at `offset`, extending the file if needed.
  virtual Status WriteAt(uint64_t offset, const char* src, size_t n) = 0;
  // fdatasync: everything written so far is durable once this returns OK.
  virtual Status Sync() = 0;
  // Starts writing bytes [offset, offset + n) back to the device without
  // waiting for them (sync_file_range WRITE): a later Sync() then has less
  // left to do. It promises nothing about durability; a file system without
  // writeback (a test's in-memory one) does nothing. An I/O error is
  // returned like any other.
  virtual Status StartWriteback(uint64_t offset, uint64_t n) = 0;
  // Reserves blocks for bytes [0, size) without writing them (fallocate),
  // extending a shorter file to `size`; the reserved range reads as zeros.
  // Writes into it then allocate nothing. A file system that cannot reserve
  // (EOPNOTSUPP) does nothing and returns OK; a full disk (ENOSPC) or any
  // other failure is an error naming the call and the file.
  virtual Status Allocate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  // Maps bytes [0, length) of the file, which must be at least that long.
  virtual Result<std::unique_ptr<MappedRegion>> Map(size_t length, MapMode mode) = 0;
};

// An exclusive lock on a file, released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Fs {
 public:
  virtual ~Fs() = default;

  virtual Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Names (not paths) of the entries of `dir`, sorted; "." and ".." left out.
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  // Creates `dir` and missing parents; OK if it exists.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Atomically replaces `to` with `from`. Durable after SyncDir of the parent.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  // Removes a file. Durable after SyncDir of the parent.
  virtual Status Remove(const std::string& path) = 0;
  // fsync of a directory: creations, renames and removals in it become durable.
  virtual Status SyncDir(const std::string& dir) = 0;
  virtual Result<bool> Exists(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (created if missing) and writes our pid
  // into it. kFailedPrecondition "<path> is locked by pid N" when another
  // holder has it (another process, or another Lock() of this Fs).
  virtual Result<std::unique_ptr<FileLock>> Lock(const std::string& path) = 0;
};

// The real file system (pread/pwrite/fdatasync/mmap/flock).
class PosixFs final : public Fs {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  Result<std::vector<std::string>> ListDir(const std::string& dir) override;
  Status CreateDir(const std::string& dir) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Remove(const std::string& path) override;
  Status SyncDir(const std::string& dir) override;
  Result<bool> Exists(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> Lock(const std::string& path) override;
};

// The Status for a failed system call: "<op> <path>: <strerror>".
Status ErrnoStatus(const char* op, const std::string& path, int err);

// The whole file at `path`, if it holds at most `max_bytes`:
// kInvalidArgument "<path>: larger than N bytes" otherwise; the Fs's errors
// (kNotFound for a missing file).
Result<std::string> ReadWholeFile(Fs& fs, const std::string& path, uint64_t max_bytes);

// Replaces the file at `path` with `data`, durably and atomically: written
// to `path`.tmp, synced, renamed over `path`, the directory synced. A
// reader sees the old file or the new one, never part of either.
Status ReplaceFileDurably(Fs& fs, const std::string& path, std::string_view data);

// "a/b" from ("a", "b"); the parent directory of a path ("." if none).
std::string JoinPath(const std::string& dir, const std::string& name);
std::string DirName(const std::string& path);

// Removes `path` if it is there (Exists, then Remove); Ok if it is not.
Status RemoveIfExists(Fs& fs, const std::string& path);

}  // namespace common
