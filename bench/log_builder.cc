#include "bench/log_builder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/workloads.h"

namespace bench {

namespace {

std::string BuildName(const BuildSpec& spec) {
  std::string size = spec.log_bytes > 0 ? std::to_string(spec.log_bytes) + "B" : std::to_string(spec.entries) + "E";
  return "build-" + size + "-r" + std::to_string(spec.record_size) + "-s" +
         std::to_string(spec.options.segment_bytes);
}

// Reads "<first> <last>" from a .done file; false if it is missing or bad.
bool ReadDone(const std::string& path, BuiltLog* built) {
  std::ifstream in(path);
  return static_cast<bool>(in >> built->first_index >> built->last_index) && built->last_index >= built->first_index;
}

Status WriteDone(const std::string& path, const BuiltLog& built) {
  std::ofstream out(path, std::ios::trunc);
  out << built.first_index << " " << built.last_index << "\n";
  out.flush();
  if (!out) return common::InternalError("writing " + path);
  return Status::Ok();
}

}  // namespace

Result<BuiltLog> BuildOrReuse(common::Fs& fs, common::Clock& clock, const BuildSpec& spec) {
  BuiltLog built;
  built.dir = common::JoinPath(spec.parent, BuildName(spec));
  const std::string done = built.dir + ".done";
  std::error_code ec;
  if (std::filesystem::exists(built.dir, ec) && ReadDone(done, &built)) {
    built.reused = true;
    std::fprintf(stderr, "reusing %s (indexes %llu..%llu)\n", built.dir.c_str(),
                 static_cast<unsigned long long>(built.first_index), static_cast<unsigned long long>(built.last_index));
    return built;
  }
  RemoveTree(built.dir);
  std::filesystem::remove(done, ec);

  const uint64_t record_bytes = EntryRecordBytes(spec.record_size);
  const uint64_t total = spec.log_bytes > 0 ? (spec.log_bytes + record_bytes - 1) / record_bytes : spec.entries;
  if (total == 0) return common::InvalidArgumentError("a log to build needs at least one entry");
  const uint64_t per_call = std::clamp<uint64_t>((4u << 20) / record_bytes, 1, 65536);
  std::fprintf(stderr, "building %s: %llu entries of %llu bytes\n", built.dir.c_str(),
               static_cast<unsigned long long>(total), static_cast<unsigned long long>(spec.record_size));

  int64_t start = clock.NowNanos();
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, storage::SegmentedLog::Open(fs, built.dir, spec.options));
  std::vector<storage::LogEntry> batch = MakeBatch(spec.record_size, per_call, spec.seed);
  built.first_index = log->last_index() + 1;
  uint64_t next = built.first_index;
  const uint64_t last = built.first_index + total - 1;
  uint64_t reported = 0;
  while (next <= last) {
    uint64_t k = std::min<uint64_t>(per_call, last - next + 1);
    std::span<storage::LogEntry> part(batch.data(), k);
    SetIndexes(part, next);
    RETURN_IF_ERROR(log->Append(part));
    next += k;
    uint64_t tenth = (next - built.first_index) * 10 / total;
    if (tenth > reported) {
      reported = tenth;
      std::fprintf(stderr, "  %llu%%\n", static_cast<unsigned long long>(tenth * 10));
    }
  }
  RETURN_IF_ERROR(log->Sync());
  built.last_index = log->last_index();
  built.memory_after_build = ReadMemory();
  built.stats_after_build = log->stats();
  log.reset();
  built.build_seconds = Seconds(start, clock.NowNanos());
  RETURN_IF_ERROR(WriteDone(done, built));
  std::fprintf(stderr, "built in %.1f s (kept for reuse; delete %s and %s to free the space)\n",
               built.build_seconds, built.dir.c_str(), done.c_str());
  return built;
}

}  // namespace bench
