#include "testing/mem_fs.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

namespace replog_testing {

using common::ErrnoStatus;
using common::Result;
using common::Status;

namespace internal {

// The bytes of one file. They live in a std::string until the file is first
// mapped; from then on in an address range reserved (PROT_NONE) for
// kMaxFileBytes and committed as the file grows, so that they never move and
// mapped pointers stay valid whatever the file's size does.
class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() {
    if (region_ != nullptr) ::munmap(region_, MemFs::kMaxFileBytes);
  }

  char* data() { return region_ != nullptr ? region_ : heap_.data(); }
  size_t size() const { return region_ != nullptr ? size_ : heap_.size(); }
  std::string_view view() { return {data(), size()}; }

  // Grows (with zeros) or shrinks to `n` bytes; n <= kMaxFileBytes.
  void Resize(size_t n) {
    CHECK(n <= MemFs::kMaxFileBytes);
    if (region_ == nullptr) {
      heap_.resize(n);
      return;
    }
    if (n > committed_) {
      size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
      size_t commit = (n + page - 1) / page * page;
      CHECK(::mprotect(region_, commit, PROT_READ | PROT_WRITE) == 0);
      committed_ = commit;
    }
    // Bytes past the old end may hold what a shrink left there: zero them.
    if (n > size_) std::memset(region_ + size_, 0, n - size_);
    size_ = n;
  }

  // Writes `n` bytes at `offset`, growing the buffer if needed. Like pwrite,
  // an empty write does not grow it.
  void Write(uint64_t offset, const char* src, size_t n) {
    if (n == 0) return;
    if (offset + n > size()) Resize(offset + n);
    std::memcpy(data() + offset, src, n);
  }

  void Assign(std::string_view bytes) {
    Resize(bytes.size());
    if (!bytes.empty()) std::memcpy(data(), bytes.data(), bytes.size());
  }

  // Moves the bytes to their stable address range (once).
  void Pin() {
    if (region_ != nullptr) return;
    void* p = ::mmap(nullptr, MemFs::kMaxFileBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK_MSG(p != MAP_FAILED, std::string("MemFs: cannot reserve a mapped file's range: ") + std::strerror(errno));
    std::string old = std::move(heap_);
    heap_ = std::string();
    region_ = static_cast<char*>(p);
    Assign(old);
  }

 private:
  std::string heap_;
  char* region_ = nullptr;
  size_t size_ = 0;       // when region_ is set
  size_t committed_ = 0;  // bytes of region_ readable and writable
};

// An unsynced WriteAt (bytes at offset) or Truncate (to offset).
struct PendingOp {
  enum class Kind { kWrite, kTruncate };
  Kind kind;
  uint64_t offset;
  std::string bytes;
};

struct Inode {
  Buffer data;
  std::string durable;
  std::vector<PendingOp> unsynced;  // since `durable` was taken, in order

  void Write(uint64_t offset, const char* src, size_t n) {
    data.Write(offset, src, n);
    unsynced.push_back({PendingOp::Kind::kWrite, offset, std::string(src, n)});
  }
  void Truncate(uint64_t size) {
    data.Resize(size);
    unsynced.push_back({PendingOp::Kind::kTruncate, size, {}});
  }
  void MakeDurable() {
    durable.assign(data.view());
    unsynced.clear();
  }
};

struct MemFsState {
  std::mutex mu;
  uint64_t epoch = 0;  // bumped by every crash; handles of older epochs are dead
  std::map<std::string, std::shared_ptr<Inode>> files;
  std::map<std::string, std::shared_ptr<Inode>> durable_files;
  std::set<std::string> dirs = {"/", "."};
  std::map<std::string, uint64_t> locks;  // path -> token of the holding FileLock
  uint64_t next_lock_token = 1;
  uint64_t sync_count = 0;
  std::function<void(const std::string&)> sync_hook;
};

}  // namespace internal

namespace {

using internal::Inode;
using internal::MemFsState;

// Drops repeated and trailing slashes and a leading "./".
std::string Normalize(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out += c;
  }
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  while (out.size() > 2 && out.starts_with("./")) out.erase(0, 2);
  return out;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Status Crashed(const char* op, const std::string& path) {
  return common::UnavailableError(std::string(op) + " " + path + ": crashed");
}

bool TooBig(uint64_t offset, uint64_t n) { return n > MemFs::kMaxFileBytes || offset > MemFs::kMaxFileBytes - n; }

// OK if the directory that would hold `path` exists. Caller holds mu.
Status CheckParent(const MemFsState& s, const char* op, const std::string& path) {
  if (path.empty()) return ErrnoStatus(op, path, ENOENT);
  std::string parent = common::DirName(path);
  if (s.dirs.contains(parent)) return Status::Ok();
  return ErrnoStatus(op, path, s.files.contains(parent) ? ENOTDIR : ENOENT);
}

// Creates `dir` and its missing parents, like PosixFs::CreateDir. Caller holds mu.
Status CreateDirLocked(MemFsState& s, const std::string& dir) {
  if (dir.empty()) return common::InvalidArgumentError("mkdir: empty path");
  std::vector<std::string> missing;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string partial = dir.substr(0, pos);
    if (partial.empty() || s.dirs.contains(partial)) continue;
    if (s.files.contains(partial)) {
      if (partial == dir) return common::FailedPreconditionError("mkdir " + dir + ": exists and is not a directory");
      return ErrnoStatus("mkdir", dir, ENOTDIR);
    }
    missing.push_back(std::move(partial));
  }
  s.dirs.insert(missing.begin(), missing.end());
  return Status::Ok();
}

// Runs the sync hook, outside the mutex, for a sync that began at `epoch`.
// Returns false (and runs nothing) if a crash came in between.
bool RunSyncHook(MemFsState& s, uint64_t epoch, const std::string& path) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.epoch != epoch) return false;
    hook = s.sync_hook;
  }
  if (hook) hook(path);
  return true;
}

// The file as the disk holds it after a crash: its durable bytes, plus (for
// kTearLastWrite) a random prefix of its unsynced operations, the last of
// which may be a torn write.
std::shared_ptr<Inode> Recover(const Inode& old, CrashMode mode, std::mt19937_64& rng) {
  auto inode = std::make_shared<Inode>();
  inode->data.Assign(old.durable);
  if (mode == CrashMode::kTearLastWrite && !old.unsynced.empty()) {
    size_t keep = std::uniform_int_distribution<size_t>(0, old.unsynced.size())(rng);
    for (size_t i = 0; i < keep; ++i) {
      const internal::PendingOp& op = old.unsynced[i];
      if (op.kind == internal::PendingOp::Kind::kTruncate) {
        inode->data.Resize(op.offset);
        continue;
      }
      size_t n = op.bytes.size();
      if (i + 1 == keep) n = std::uniform_int_distribution<size_t>(0, n)(rng);
      inode->data.Write(op.offset, op.bytes.data(), n);
    }
  }
  inode->MakeDurable();
  return inode;
}

class MemMapping final : public common::MappedRegion {
 public:
  MemMapping(std::shared_ptr<MemFsState> state, std::shared_ptr<Inode> inode, std::string path, uint64_t epoch,
             size_t size)
      : state_(std::move(state)), inode_(std::move(inode)), path_(std::move(path)), epoch_(epoch),
        data_(inode_->data.data()), size_(size) {}

  char* data() override { return data_; }
  size_t size() const override { return size_; }

  Status Sync() override {
    if (!RunSyncHook(*state_, epoch_, path_)) return Crashed("msync", path_);
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("msync", path_);
    inode_->MakeDurable();
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemFsState> state_;
  std::shared_ptr<Inode> inode_;  // keeps data_ valid
  std::string path_;
  uint64_t epoch_;
  char* data_;
  size_t size_;
};

class MemFile final : public common::File {
 public:
  MemFile(std::shared_ptr<MemFsState> state, std::shared_ptr<Inode> inode, std::string path, uint64_t epoch,
          bool writable)
      : state_(std::move(state)), inode_(std::move(inode)), path_(std::move(path)), epoch_(epoch),
        writable_(writable) {}

  const std::string& path() const override { return path_; }

  Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("pread", path_);
    size_t size = inode_->data.size();
    if (offset >= size) return size_t{0};
    size_t count = std::min<size_t>(n, size - offset);
    std::memcpy(dst, inode_->data.data() + offset, count);
    return count;
  }

  Status WriteAt(uint64_t offset, const char* src, size_t n) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("pwrite", path_);
    if (!writable_) return ErrnoStatus("pwrite", path_, EBADF);
    if (TooBig(offset, n)) return ErrnoStatus("pwrite", path_, EFBIG);
    inode_->Write(offset, src, n);
    return Status::Ok();
  }

  Status Sync() override {
    if (!RunSyncHook(*state_, epoch_, path_)) return Crashed("fdatasync", path_);
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("fdatasync", path_);
    inode_->MakeDurable();
    ++state_->sync_count;
    return Status::Ok();
  }

  // Nothing to hand over: durability comes only from Sync().
  Status StartWriteback(uint64_t /*offset*/, uint64_t /*n*/) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("sync_file_range", path_);
    return Status::Ok();
  }

  // Extends a shorter file with zeros, as an ftruncate would (and with the
  // same crash semantics): what fallocate leaves is read as zeros.
  Status Allocate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("fallocate", path_);
    if (!writable_) return ErrnoStatus("fallocate", path_, EBADF);
    if (TooBig(size, 0)) return ErrnoStatus("fallocate", path_, EFBIG);
    if (inode_->data.size() < size) inode_->Truncate(size);
    return Status::Ok();
  }

  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("fstat", path_);
    return uint64_t{inode_->data.size()};
  }

  Status Truncate(uint64_t size) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("ftruncate", path_);
    if (!writable_) return ErrnoStatus("ftruncate", path_, EBADF);
    if (TooBig(size, 0)) return ErrnoStatus("ftruncate", path_, EFBIG);
    inode_->Truncate(size);
    return Status::Ok();
  }

  Result<std::unique_ptr<common::MappedRegion>> Map(size_t length, common::MapMode mode) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->epoch != epoch_) return Crashed("mmap", path_);
    if (mode == common::MapMode::kReadWrite && !writable_) {
      return common::FailedPreconditionError("mmap " + path_ + ": file opened read-only");
    }
    size_t size = inode_->data.size();
    if (length > size) {
      return common::OutOfRangeError("mmap " + path_ + ": file has " + std::to_string(size) + " bytes, fewer than " +
                                     std::to_string(length));
    }
    inode_->data.Pin();
    return std::unique_ptr<common::MappedRegion>(new MemMapping(state_, inode_, path_, epoch_, length));
  }

 private:
  std::shared_ptr<MemFsState> state_;
  std::shared_ptr<Inode> inode_;
  std::string path_;
  uint64_t epoch_;
  bool writable_;
};

class MemLock final : public common::FileLock {
 public:
  MemLock(std::shared_ptr<MemFsState> state, std::string path, uint64_t token)
      : state_(std::move(state)), path_(std::move(path)), token_(token) {}
  ~MemLock() override {
    std::lock_guard<std::mutex> lock(state_->mu);
    // After a crash the path may be held by a newer lock: leave that one be.
    auto it = state_->locks.find(path_);
    if (it != state_->locks.end() && it->second == token_) state_->locks.erase(it);
  }

 private:
  std::shared_ptr<MemFsState> state_;
  std::string path_;
  uint64_t token_;
};

}  // namespace

MemFs::MemFs() : state_(std::make_shared<MemFsState>()) {}
MemFs::~MemFs() = default;

Result<std::unique_ptr<common::File>> MemFs::Open(const std::string& path, common::OpenMode mode) {
  std::string p = Normalize(path);
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.dirs.contains(p)) return ErrnoStatus("open", p, EISDIR);
  auto it = s.files.find(p);
  if (it != s.files.end()) {
    if (mode == common::OpenMode::kCreateNew) return ErrnoStatus("open", p, EEXIST);
  } else {
    if (mode == common::OpenMode::kRead || mode == common::OpenMode::kReadWrite) {
      return ErrnoStatus("open", p, ENOENT);
    }
    RETURN_IF_ERROR(CheckParent(s, "open", p));
    it = s.files.emplace(p, std::make_shared<Inode>()).first;
  }
  bool writable = mode != common::OpenMode::kRead;
  return std::unique_ptr<common::File>(new MemFile(state_, it->second, path, s.epoch, writable));
}

Result<std::vector<std::string>> MemFs::ListDir(const std::string& dir) {
  std::string d = Normalize(dir);
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.dirs.contains(d)) return ErrnoStatus("opendir", d, s.files.contains(d) ? ENOTDIR : ENOENT);
  std::set<std::string> names;
  auto add = [&](const std::string& p) {
    if (p != d && common::DirName(p) == d) names.insert(BaseName(p));
  };
  for (const auto& [p, inode] : s.files) add(p);
  for (const std::string& p : s.dirs) add(p);
  return std::vector<std::string>(names.begin(), names.end());
}

Status MemFs::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(state_->mu);
  return CreateDirLocked(*state_, Normalize(dir));
}

Status MemFs::Rename(const std::string& from, const std::string& to) {
  std::string f = Normalize(from);
  std::string t = Normalize(to);
  std::string what = f + " -> " + t;
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.files.find(f);
  if (it == s.files.end()) {
    if (s.dirs.contains(f)) return common::InvalidArgumentError("rename " + what + ": MemFs cannot rename directories");
    return ErrnoStatus("rename", what, ENOENT);
  }
  if (s.dirs.contains(t)) return ErrnoStatus("rename", what, EISDIR);
  if (t.empty() || !s.dirs.contains(common::DirName(t))) return ErrnoStatus("rename", what, ENOENT);
  if (f == t) return Status::Ok();
  std::shared_ptr<Inode> inode = it->second;
  s.files.erase(it);
  s.files[t] = std::move(inode);
  return Status::Ok();
}

Status MemFs::Remove(const std::string& path) {
  std::string p = Normalize(path);
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.dirs.contains(p)) return ErrnoStatus("unlink", p, EISDIR);
  if (s.files.erase(p) == 0) return ErrnoStatus("unlink", p, ENOENT);
  return Status::Ok();
}

Status MemFs::SyncDir(const std::string& dir) {
  std::string d = Normalize(dir);
  MemFsState& s = *state_;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    epoch = s.epoch;
  }
  // A crash from inside the hook (or another thread) fails this sync.
  if (!RunSyncHook(s, epoch, d)) return Crashed("fsync", d);
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.epoch != epoch) return Crashed("fsync", d);
  if (!s.dirs.contains(d)) return ErrnoStatus("open", d, s.files.contains(d) ? ENOTDIR : ENOENT);
  auto in_dir = [&](const std::string& p) { return p != d && common::DirName(p) == d; };
  std::erase_if(s.durable_files, [&](const auto& entry) { return in_dir(entry.first); });
  for (const auto& [p, inode] : s.files) {
    if (in_dir(p)) s.durable_files[p] = inode;
  }
  return Status::Ok();
}

Result<bool> MemFs::Exists(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->files.contains(p) || state_->dirs.contains(p);
}

Result<std::unique_ptr<common::FileLock>> MemFs::Lock(const std::string& path) {
  std::string p = Normalize(path);
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.dirs.contains(p)) return ErrnoStatus("open", p, EISDIR);
  if (s.locks.contains(p)) {
    return common::FailedPreconditionError(p + " is locked by pid " + std::to_string(::getpid()));
  }
  auto it = s.files.find(p);
  if (it == s.files.end()) {
    RETURN_IF_ERROR(CheckParent(s, "open", p));
    it = s.files.emplace(p, std::make_shared<Inode>()).first;
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  it->second->Truncate(0);
  it->second->Write(0, pid.data(), pid.size());
  uint64_t token = s.next_lock_token++;
  s.locks[p] = token;
  return std::unique_ptr<common::FileLock>(new MemLock(state_, p, token));
}

void MemFs::Crash(CrashMode mode, uint64_t seed) {
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::mt19937_64 rng(seed);
  ++s.epoch;
  s.locks.clear();
  // Fresh inodes, so that old handles (which keep the old ones alive) can
  // never reach the new state. Two durable names of one inode stay one inode.
  std::map<const Inode*, std::shared_ptr<Inode>> recovered;
  std::map<std::string, std::shared_ptr<Inode>> files;
  for (const auto& [path, old] : s.durable_files) {
    std::shared_ptr<Inode>& fresh = recovered[old.get()];
    if (!fresh) fresh = Recover(*old, mode, rng);
    files[path] = fresh;
  }
  s.files = files;
  s.durable_files = std::move(files);
}

void MemFs::SetSyncHook(std::function<void(const std::string& path)> hook) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->sync_hook = std::move(hook);
}

Result<std::string> MemFs::ReadFileForTest(const std::string& path) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(p);
  if (it == state_->files.end()) return ErrnoStatus("read", p, ENOENT);
  return std::string(it->second->data.view());
}

Status MemFs::WriteFileForTest(const std::string& path, std::string_view bytes) {
  std::string p = Normalize(path);
  MemFsState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  if (p.empty()) return ErrnoStatus("write", p, ENOENT);
  if (s.dirs.contains(p)) return ErrnoStatus("write", p, EISDIR);
  if (TooBig(0, bytes.size())) return ErrnoStatus("write", p, EFBIG);
  RETURN_IF_ERROR(CreateDirLocked(s, common::DirName(p)));
  std::shared_ptr<Inode>& inode = s.files[p];
  if (!inode) inode = std::make_shared<Inode>();
  inode->data.Assign(bytes);
  inode->MakeDurable();
  s.durable_files[p] = inode;
  return Status::Ok();
}

void MemFs::FlipByteForTest(const std::string& path, uint64_t offset) {
  std::string p = Normalize(path);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->files.find(p);
  CHECK_MSG(it != state_->files.end(), "FlipByteForTest: no file " + p);
  Inode& inode = *it->second;
  CHECK_MSG(offset < inode.data.size(), "FlipByteForTest: offset past the end of " + p);
  inode.data.data()[offset] ^= static_cast<char>(0xFF);
  if (offset < inode.durable.size()) inode.durable[offset] ^= static_cast<char>(0xFF);
}

uint64_t MemFs::sync_count() {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->sync_count;
}

std::vector<std::string> MemFs::ListAll() {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::vector<std::string> paths;
  for (const auto& [p, inode] : state_->files) paths.push_back(p);
  return paths;
}

}  // namespace replog_testing
