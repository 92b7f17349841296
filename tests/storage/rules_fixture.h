#pragma once

// Shared by the design-rule tests (design_rules_test.cc, recovery_rules_test.cc):
// a log on a MemFs with small segments, a Fs that counts reads, and a parser
// of .log records that does not use the engine's scanner.

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/segmented_log.h"
#include "testing/mem_fs.h"
#include "workload.h"

namespace storage_testing {

namespace f = storage::format;

inline constexpr char kDir[] = "/data/log";
inline constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();

inline std::string LogPath(uint64_t first) { return std::string(kDir) + "/" + storage::SegmentLogName(first); }
inline std::string IndexPath(uint64_t first) { return std::string(kDir) + "/" + storage::SegmentIndexName(first); }

// ---- A Fs that counts reads per file ----

struct ReadCounts {
  std::mutex mu;
  std::map<std::string, uint64_t> calls;  // ReadAt calls by path
  std::map<std::string, uint64_t> bytes;  // bytes returned by path

  uint64_t Calls(const std::string& path) {
    std::lock_guard lk(mu);
    return calls[path];
  }
  uint64_t Bytes(const std::string& path) {
    std::lock_guard lk(mu);
    return bytes[path];
  }
  uint64_t TotalCalls() {
    std::lock_guard lk(mu);
    uint64_t n = 0;
    for (const auto& [path, c] : calls) n += c;
    return n;
  }
  void Clear() {
    std::lock_guard lk(mu);
    calls.clear();
    bytes.clear();
  }
};

class CountingFile final : public common::File {
 public:
  CountingFile(std::unique_ptr<common::File> base, ReadCounts& counts) : base_(std::move(base)), counts_(counts) {}
  const std::string& path() const override { return base_->path(); }
  common::Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    common::Result<size_t> r = base_->ReadAt(offset, dst, n);
    std::lock_guard lk(counts_.mu);
    counts_.calls[path()]++;
    if (r.has_value()) counts_.bytes[path()] += *r;
    return r;
  }
  common::Status WriteAt(uint64_t offset, const char* src, size_t n) override { return base_->WriteAt(offset, src, n); }
  common::Status Sync() override { return base_->Sync(); }
  common::Status StartWriteback(uint64_t offset, uint64_t n) override { return base_->StartWriteback(offset, n); }
  common::Status Allocate(uint64_t size) override { return base_->Allocate(size); }
  common::Result<uint64_t> Size() override { return base_->Size(); }
  common::Status Truncate(uint64_t size) override { return base_->Truncate(size); }
  common::Result<std::unique_ptr<common::MappedRegion>> Map(size_t length, common::MapMode mode) override {
    return base_->Map(length, mode);
  }

 private:
  std::unique_ptr<common::File> base_;
  ReadCounts& counts_;
};

// Forwards to `base`; counts File::ReadAt calls and bytes by path.
class CountingFs final : public common::Fs {
 public:
  explicit CountingFs(common::Fs& base) : base_(base) {}
  ReadCounts& counts() { return counts_; }

  common::Result<std::unique_ptr<common::File>> Open(const std::string& path, common::OpenMode mode) override {
    ASSIGN_OR_RETURN(std::unique_ptr<common::File> file, base_.Open(path, mode));
    return std::unique_ptr<common::File>(new CountingFile(std::move(file), counts_));
  }
  common::Result<std::vector<std::string>> ListDir(const std::string& dir) override { return base_.ListDir(dir); }
  common::Status CreateDir(const std::string& dir) override { return base_.CreateDir(dir); }
  common::Status Rename(const std::string& from, const std::string& to) override { return base_.Rename(from, to); }
  common::Status Remove(const std::string& path) override { return base_.Remove(path); }
  common::Status SyncDir(const std::string& dir) override { return base_.SyncDir(dir); }
  common::Result<bool> Exists(const std::string& path) override { return base_.Exists(path); }
  common::Result<std::unique_ptr<common::FileLock>> Lock(const std::string& path) override { return base_.Lock(path); }

 private:
  common::Fs& base_;
  ReadCounts counts_;
};

// ---- Records of a .log file, parsed independently of the engine ----

struct RecordPos {
  uint64_t start = 0;
  uint64_t size = 0;      // header, body and padding
  uint64_t body_end = 0;  // bytes from here to start + size are padding
  f::RecordType type = f::RecordType::kEntry;
};

// Every record of a .log image up to the first zero header.
inline std::vector<RecordPos> ParseRecords(const std::string& bytes) {
  std::vector<RecordPos> out;
  uint64_t pos = f::kLogHeaderSize;
  auto header = storage::DecodeLogHeader(bytes);
  if (!header.has_value()) return out;
  while (pos < bytes.size()) {
    storage::RecordView rec;
    if (storage::DecodeRecord(std::string_view(bytes).substr(pos), &rec, header->salt) != storage::DecodeResult::kOk) {
      break;
    }
    out.push_back(RecordPos{pos, rec.size, pos + f::kRecordHeaderSize + rec.body.size(), rec.type});
    pos += rec.size;
  }
  return out;
}

// Start positions of the write rounds (each ends with a BatchEnd), and the
// end of the last one, as the last element.
inline std::vector<uint64_t> RoundBounds(const std::vector<RecordPos>& records) {
  std::vector<uint64_t> bounds = {f::kLogHeaderSize};
  for (const RecordPos& r : records) {
    if (r.type == f::RecordType::kBatchEnd) bounds.push_back(r.start + r.size);
  }
  return bounds;
}

// ---- Fixture ----

class RulesTest : public ::testing::Test {
 protected:
  RulesTest() {
    opts_.segment_bytes = 16 << 10;
    opts_.max_segment_entries = 1024;  // small .index files
    opts_.preallocate = false;
    opts_.cache_bytes = 0;
  }

  std::unique_ptr<storage::SegmentedLog> OpenLog(common::Fs& fs) {
    auto log = storage::SegmentedLog::Open(fs, kDir, opts_);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log.has_value() ? std::move(*log) : nullptr;
  }
  std::unique_ptr<storage::SegmentedLog> OpenLog() { return OpenLog(mem_); }

  // Appends entries [1, n] of term 1 in synced batches of `batch`; returns them.
  std::vector<LogEntry> Fill(uint64_t n, uint64_t batch, size_t payload) {
    std::vector<LogEntry> all = MakeEntries(1, n, 1, payload);
    auto log = OpenLog();
    for (uint64_t i = 0; i < n; i += batch) {
      std::vector<LogEntry> part(all.begin() + i, all.begin() + std::min(n, i + batch));
      EXPECT_TRUE(log->Append(part).ok());
      EXPECT_TRUE(log->Sync().ok());
    }
    return all;
  }

  // First indexes of the segments on disk, in order.
  std::vector<uint64_t> Segments() {
    std::vector<uint64_t> firsts;
    for (const std::string& path : mem_.ListAll()) {
      uint64_t first = 0;
      bool is_index = false;
      std::string name = path.substr(path.find_last_of('/') + 1);
      if (storage::ParseSegmentName(name, &first, &is_index) && !is_index) firsts.push_back(first);
    }
    return firsts;
  }

  void ExpectEntries(storage::SegmentedLog& log, const std::vector<LogEntry>& want) {
    auto got = log.Entries(want.front().index, want.back().index + 1, kAll);
    ASSERT_TRUE(got.has_value()) << got.error().ToString();
    EXPECT_TRUE(*got == want);
  }

  replog_testing::MemFs mem_;
  storage::Options opts_;
};


}  // namespace storage_testing
