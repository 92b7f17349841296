#include "testing/faulty_fs.h"

#include <map>
#include <mutex>
#include <optional>
#include <utility>

namespace replog_testing {

using common::Result;
using common::Status;

namespace internal {

struct FaultyFsState {
  struct Rule {
    std::function<bool(std::string_view op, const std::string& path)> match;
    int err;
    int times;  // < 0: forever
  };
  struct Nth {
    int err;
    PartialWrite partial;
  };

  std::mutex mu;
  uint64_t calls = 0;
  std::map<uint64_t, Nth> nth;  // call number -> its failure
  std::vector<Rule> rules;
};

}  // namespace internal

namespace {

using internal::FaultyFsState;

// What Count() decided about one call.
struct Fault {
  Status status;
  PartialWrite partial = PartialWrite::kNo;
};

// Counts a call; returns its injected failure, if it is chosen to fail.
std::optional<Fault> Count(FaultyFsState& s, std::string_view op, const std::string& path) {
  std::lock_guard<std::mutex> lock(s.mu);
  uint64_t call = ++s.calls;
  std::optional<int> err;
  PartialWrite partial = PartialWrite::kNo;
  if (auto it = s.nth.find(call); it != s.nth.end()) {
    err = it->second.err;
    partial = it->second.partial;
    s.nth.erase(it);
  } else {
    for (FaultyFsState::Rule& rule : s.rules) {
      if (rule.times == 0 || !rule.match(op, path)) continue;
      if (rule.times > 0) --rule.times;
      err = rule.err;
      break;
    }
  }
  if (!err.has_value()) return std::nullopt;
  Status base = common::ErrnoStatus(std::string(op).c_str(), path, *err);
  return Fault{Status(base.code(), base.message() + " (injected)"), partial};
}

class FaultyMapping final : public common::MappedRegion {
 public:
  FaultyMapping(std::shared_ptr<FaultyFsState> state, std::unique_ptr<common::MappedRegion> base, std::string path)
      : state_(std::move(state)), base_(std::move(base)), path_(std::move(path)) {}

  char* data() override { return base_->data(); }
  size_t size() const override { return base_->size(); }
  Status Sync() override {
    if (std::optional<Fault> fault = Count(*state_, "msync", path_)) return fault->status;
    return base_->Sync();
  }

 private:
  std::shared_ptr<FaultyFsState> state_;
  std::unique_ptr<common::MappedRegion> base_;
  std::string path_;
};

class FaultyFile final : public common::File {
 public:
  FaultyFile(std::shared_ptr<FaultyFsState> state, std::unique_ptr<common::File> base)
      : state_(std::move(state)), base_(std::move(base)) {}

  const std::string& path() const override { return base_->path(); }

  Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    if (std::optional<Fault> fault = Count(*state_, "pread", path())) return fault->status;
    return base_->ReadAt(offset, dst, n);
  }

  Status WriteAt(uint64_t offset, const char* src, size_t n) override {
    if (std::optional<Fault> fault = Count(*state_, "pwrite", path())) {
      // A cut-short write: its own outcome does not matter, the call fails.
      if (fault->partial == PartialWrite::kYes) base_->WriteAt(offset, src, n / 2).IgnoreError();
      return fault->status;
    }
    return base_->WriteAt(offset, src, n);
  }

  Status Sync() override {
    if (std::optional<Fault> fault = Count(*state_, "fdatasync", path())) return fault->status;
    return base_->Sync();
  }

  Status StartWriteback(uint64_t offset, uint64_t n) override {
    if (std::optional<Fault> fault = Count(*state_, "sync_file_range", path())) return fault->status;
    return base_->StartWriteback(offset, n);
  }

  Status Allocate(uint64_t size) override {
    if (std::optional<Fault> fault = Count(*state_, "fallocate", path())) return fault->status;
    return base_->Allocate(size);
  }

  Result<uint64_t> Size() override {
    if (std::optional<Fault> fault = Count(*state_, "fstat", path())) return fault->status;
    return base_->Size();
  }

  Status Truncate(uint64_t size) override {
    if (std::optional<Fault> fault = Count(*state_, "ftruncate", path())) return fault->status;
    return base_->Truncate(size);
  }

  Result<std::unique_ptr<common::MappedRegion>> Map(size_t length, common::MapMode mode) override {
    if (std::optional<Fault> fault = Count(*state_, "mmap", path())) return fault->status;
    ASSIGN_OR_RETURN(std::unique_ptr<common::MappedRegion> region, base_->Map(length, mode));
    return std::unique_ptr<common::MappedRegion>(new FaultyMapping(state_, std::move(region), path()));
  }

 private:
  std::shared_ptr<FaultyFsState> state_;
  std::unique_ptr<common::File> base_;
};

}  // namespace

FaultyFs::FaultyFs(common::Fs& base) : base_(base), state_(std::make_shared<FaultyFsState>()) {}
FaultyFs::~FaultyFs() = default;

Result<std::unique_ptr<common::File>> FaultyFs::Open(const std::string& path, common::OpenMode mode) {
  if (std::optional<Fault> fault = Count(*state_, "open", path)) return fault->status;
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> file, base_.Open(path, mode));
  return std::unique_ptr<common::File>(new FaultyFile(state_, std::move(file)));
}

Result<std::vector<std::string>> FaultyFs::ListDir(const std::string& dir) {
  if (std::optional<Fault> fault = Count(*state_, "opendir", dir)) return fault->status;
  return base_.ListDir(dir);
}

Status FaultyFs::CreateDir(const std::string& dir) {
  if (std::optional<Fault> fault = Count(*state_, "mkdir", dir)) return fault->status;
  return base_.CreateDir(dir);
}

Status FaultyFs::Rename(const std::string& from, const std::string& to) {
  if (std::optional<Fault> fault = Count(*state_, "rename", from + " -> " + to)) return fault->status;
  return base_.Rename(from, to);
}

Status FaultyFs::Remove(const std::string& path) {
  if (std::optional<Fault> fault = Count(*state_, "unlink", path)) return fault->status;
  return base_.Remove(path);
}

Status FaultyFs::SyncDir(const std::string& dir) {
  if (std::optional<Fault> fault = Count(*state_, "fsync", dir)) return fault->status;
  return base_.SyncDir(dir);
}

Result<bool> FaultyFs::Exists(const std::string& path) {
  if (std::optional<Fault> fault = Count(*state_, "stat", path)) return fault->status;
  return base_.Exists(path);
}

Result<std::unique_ptr<common::FileLock>> FaultyFs::Lock(const std::string& path) {
  if (std::optional<Fault> fault = Count(*state_, "flock", path)) return fault->status;
  return base_.Lock(path);
}

void FaultyFs::FailNth(uint64_t n, int err, PartialWrite partial) {
  CHECK(n >= 1);
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->nth[state_->calls + n] = {err, partial};
}

void FaultyFs::FailMatching(std::function<bool(std::string_view op, const std::string& path)> match, int err,
                            int times) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->rules.push_back({std::move(match), err, times});
}

uint64_t FaultyFs::calls() {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->calls;
}

void FaultyFs::Reset() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->calls = 0;
  state_->nth.clear();
  state_->rules.clear();
}

}  // namespace replog_testing
