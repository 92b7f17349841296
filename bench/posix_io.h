#pragma once

// Direct POSIX helpers of the benchmark: page-cache control, where a
// zero-filled file's data ends, and the process's resident memory. They use
// system calls directly, not common::Fs, so that baselines share no code with
// the engine they are compared to.

#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace bench {

using common::Status;
template <typename T>
using Result = common::Result<T>;

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The outcome of DropPageCache, printed with every cold-cache measurement.
struct CacheDrop {
  bool ok = false;  // no error, and at most 1% of the files' pages still resident
  uint64_t files = 0;
  uint64_t pages = 0;           // pages of all the files
  uint64_t resident_pages = 0;  // of those, resident after the drop (mincore)
  std::string detail;           // "fadvise(DONTNEED): 12 of 262144 pages resident" or the error
};

// fdatasync()s every regular file directly in `dir`, asks the kernel to drop
// its pages (posix_fadvise POSIX_FADV_DONTNEED), then counts the pages still
// resident with mincore(). Pages mapped by a live process stay resident, so
// call it with no log open on `dir`.
CacheDrop DropPageCache(const std::string& dir);
// The same for the files `paths`.
CacheDrop DropFiles(const std::vector<std::string>& paths);

// A file of a log and the end of its data (bytes after it are zeros).
struct FileExtent {
  std::string path;
  uint64_t data_end = 0;
};

// The ".log" files of a log directory in name order (= index order), each
// with the position just past its last non-zero byte rounded up to 8 (the
// end of the records of a preallocated, zero-filled segment). Reads each
// file backwards from its end until it finds data.
Result<std::vector<FileExtent>> LogExtents(const std::string& dir);

// Fields of /proc/self/status in KiB (-1 when missing).
struct Memory {
  int64_t rss_kb = -1;       // VmRSS
  int64_t rss_anon_kb = -1;  // RssAnon: heap, stacks
  int64_t rss_file_kb = -1;  // RssFile: mapped files (the .index maps)
  int64_t hwm_kb = -1;       // VmHWM: peak VmRSS
};
Memory ReadMemory();

// Returns freed heap memory to the kernel (glibc malloc_trim), so that a
// following ReadMemory() does not count what earlier phases freed.
void ReleaseFreeHeap();

// The Status for a failed system call (errno), "<op> <path>: <strerror>".
Status SysError(const char* op, const std::string& path);

}  // namespace bench
