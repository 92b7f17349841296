#include "bench/baseline.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <random>

#include "bench/posix_io.h"
#include "bench/report.h"

namespace bench {

namespace {

// Bytes that are neither zero nor trivially compressible.
std::string PatternBytes(uint64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() | 1);
  return s;
}

Status PwriteAll(int fd, const char* data, uint64_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      return SysError("pwrite", path);
    }
    data += w;
    n -= static_cast<uint64_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

// Fills [0, bytes) of `fd` and makes it durable: the blocks exist before the
// measured overwrites.
Status Prewrite(int fd, uint64_t bytes, const std::string& path) {
  std::string chunk = PatternBytes(1 << 20, 7);
  for (uint64_t off = 0; off < bytes; off += chunk.size()) {
    RETURN_IF_ERROR(PwriteAll(fd, chunk.data(), std::min<uint64_t>(chunk.size(), bytes - off), off, path));
  }
  if (::fsync(fd) != 0) return SysError("fsync", path);
  return Status::Ok();
}

BaselineResult Finish(const LatencyRecorder& lat, uint64_t bytes, int64_t start_ns, int64_t end_ns) {
  BaselineResult r;
  r.ops = lat.count();
  r.bytes = bytes;
  r.seconds = static_cast<double>(end_ns - start_ns) / 1e9;
  if (r.seconds > 0) {
    r.ops_per_s = static_cast<double>(r.ops) / r.seconds;
    r.mb_per_s = static_cast<double>(bytes) / kMiB / r.seconds;
  }
  r.latency = lat.Summarize();
  r.first_latency = lat.SummarizeFirst(1000);
  return r;
}

}  // namespace

Result<BaselineResult> RunWriteBaseline(common::Clock& clock, const WriteBaselineSpec& spec) {
  const bool overwrite = spec.target == WriteTarget::kOverwrite;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? 0 : O_TRUNC);
  Fd fd(::open(spec.path.c_str(), flags, 0644));
  if (fd.get() < 0) return SysError("open", spec.path);
  const uint64_t n = spec.bytes_per_op;
  uint64_t limit = 0;  // kOverwrite: wrap to 0 before writing past this
  if (overwrite) {
    limit = std::max(n, spec.prewrite_bytes / n * n);
    RETURN_IF_ERROR(Prewrite(fd.get(), limit, spec.path));
  }
  std::string chunk = PatternBytes(n, 11);
  uint64_t offset = 0;
  LatencyRecorder lat;
  lat.Reserve(1 << 16);
  Deadlines d = StartDeadlines(clock, spec.warmup_seconds, spec.seconds);
  int64_t last_end = d.measure_start_ns;
  Status run = RunUntil(clock, d, &lat, &last_end, [&]() -> Status {
    if (overwrite && offset + n > limit) offset = 0;
    RETURN_IF_ERROR(PwriteAll(fd.get(), chunk.data(), n, offset, spec.path));
    offset += n;
    if (spec.sync == SyncMode::kFdatasync && ::fdatasync(fd.get()) != 0) return SysError("fdatasync", spec.path);
    return Status::Ok();
  });
  RETURN_IF_ERROR(run);
  return Finish(lat, lat.count() * n, d.measure_start_ns, last_end);
}

Result<BaselineResult> RunSeqReadBaseline(common::Clock& clock, const std::vector<FileExtent>& files) {
  std::vector<char> buf(1 << 20);
  LatencyRecorder lat;
  uint64_t bytes = 0;
  int64_t start = clock.NowNanos();
  for (const FileExtent& f : files) {
    Fd fd(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return SysError("open", f.path);
    uint64_t left = f.data_end;
    while (left > 0) {
      int64_t t0 = clock.NowNanos();
      ssize_t got = ::read(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), left));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return SysError("read", f.path);
      if (got == 0) break;
      lat.Add(clock.NowNanos() - t0);
      left -= static_cast<uint64_t>(got);
      bytes += static_cast<uint64_t>(got);
    }
  }
  return Finish(lat, bytes, start, clock.NowNanos());
}

Result<BaselineResult> RunRandomReadBaseline(common::Clock& clock, const std::vector<FileExtent>& files,
                                             uint64_t bytes, double seconds, uint64_t seed) {
  std::vector<std::unique_ptr<Fd>> fds;
  std::vector<uint64_t> ends;  // running sum of the files' data
  uint64_t total = 0;
  for (const FileExtent& f : files) {
    fds.push_back(std::make_unique<Fd>(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC)));
    if (fds.back()->get() < 0) return SysError("open", f.path);
    total += f.data_end;
    ends.push_back(total);
  }
  if (total < bytes) return common::FailedPreconditionError("random read baseline: files hold too little data");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint64_t> pick(0, total - 1);
  std::vector<char> buf(bytes);
  LatencyRecorder lat;
  lat.Reserve(1 << 16);
  Deadlines d = StartDeadlines(clock, 0, seconds);
  int64_t last_end = d.measure_start_ns;
  Status run = RunUntil(clock, d, &lat, &last_end, [&]() -> Status {
    uint64_t at = pick(rng);
    size_t i = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), at) - ends.begin());
    uint64_t file_start = ends[i] - files[i].data_end;
    uint64_t off = std::min(at - file_start, files[i].data_end - std::min(files[i].data_end, bytes)) & ~uint64_t{7};
    ssize_t got = ::pread(fds[i]->get(), buf.data(), bytes, static_cast<off_t>(off));
    if (got < 0) return SysError("pread", files[i].path);
    return Status::Ok();
  });
  RETURN_IF_ERROR(run);
  return Finish(lat, lat.count() * bytes, d.measure_start_ns, last_end);
}

}  // namespace bench
