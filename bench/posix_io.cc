#include "bench/posix_io.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/fs.h"

namespace bench {

namespace {

// Pages of the open file `fd` (of `size` bytes) that are in the page cache.
Result<uint64_t> ResidentPages(int fd, uint64_t size, const std::string& path) {
  if (size == 0) return uint64_t{0};
  void* addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) return SysError("mmap", path);
  auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((size + page - 1) / page);
  int rc = ::mincore(addr, size, vec.data());
  int err = errno;
  ::munmap(addr, size);
  if (rc != 0) return common::ErrnoStatus("mincore", path, err);
  return static_cast<uint64_t>(std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return (v & 1) != 0; }));
}

}  // namespace

Status SysError(const char* op, const std::string& path) { return common::ErrnoStatus(op, path, errno); }

CacheDrop DropPageCache(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& ent : std::filesystem::directory_iterator(dir, ec)) {
    if (ent.is_regular_file()) paths.push_back(ent.path().string());
  }
  if (ec) {
    CacheDrop r;
    r.detail = "listing " + dir + ": " + ec.message();
    return r;
  }
  return DropFiles(paths);
}

CacheDrop DropFiles(const std::vector<std::string>& paths) {
  CacheDrop r;
  auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::string error;
  for (const std::string& path : paths) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) {
      if (error.empty()) error = SysError("open", path).ToString();
      continue;
    }
    if (::fdatasync(fd.get()) != 0 && error.empty()) error = SysError("fdatasync", path).ToString();
    int rc = ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);  // returns the error number
    if (rc != 0 && error.empty()) error = common::ErrnoStatus("posix_fadvise", path, rc).ToString();
    auto size = static_cast<uint64_t>(st.st_size);
    Result<uint64_t> resident = ResidentPages(fd.get(), size, path);
    if (!resident.has_value()) {
      if (error.empty()) error = resident.error().ToString();
      continue;
    }
    r.files++;
    r.pages += (size + page - 1) / page;
    r.resident_pages += *resident;
  }
  r.ok = error.empty() && r.resident_pages * 100 <= r.pages;
  r.detail = error.empty() ? "fadvise(DONTNEED): " + std::to_string(r.resident_pages) + " of " +
                                 std::to_string(r.pages) + " pages still resident"
                           : error;
  return r;
}

Result<std::vector<FileExtent>> LogExtents(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& ent : std::filesystem::directory_iterator(dir, ec)) {
    if (ent.is_regular_file() && ent.path().extension() == ".log") paths.push_back(ent.path().string());
  }
  if (ec) return common::InternalError("listing " + dir + ": " + ec.message());
  std::sort(paths.begin(), paths.end());
  std::vector<FileExtent> out;
  constexpr uint64_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk);
  for (const std::string& path : paths) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0) return SysError("open", path);
    uint64_t end = static_cast<uint64_t>(st.st_size);
    uint64_t data_end = 0;
    while (end > 0 && data_end == 0) {
      uint64_t start = end - std::min(kChunk, end);
      size_t n = end - start;
      ssize_t got = ::pread(fd.get(), buf.data(), n, static_cast<off_t>(start));
      if (got != static_cast<ssize_t>(n)) return SysError("pread", path);
      for (size_t i = n; i > 0; i--) {
        if (buf[i - 1] != 0) {
          data_end = (start + i + 7) & ~uint64_t{7};
          break;
        }
      }
      end = start;
    }
    out.push_back(FileExtent{path, data_end});
  }
  return out;
}

Memory ReadMemory() {
  Memory m;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kb = -1;
    fields >> key >> kb;
    if (key == "VmRSS:") m.rss_kb = kb;
    if (key == "RssAnon:") m.rss_anon_kb = kb;
    if (key == "RssFile:") m.rss_file_kb = kb;
    if (key == "VmHWM:") m.hwm_kb = kb;
  }
  return m;
}

void ReleaseFreeHeap() { ::malloc_trim(0); }

}  // namespace bench
