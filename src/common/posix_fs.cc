#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/fs.h"

namespace common {

Status ErrnoStatus(const char* op, const std::string& path, int err) {
  std::string msg = std::string(op) + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFoundError(std::move(msg));
    case EEXIST: return AlreadyExistsError(std::move(msg));
    case ENOSPC:
    case EDQUOT: return ResourceExhaustedError(std::move(msg));
    default: return InternalError(std::move(msg));
  }
}

Result<std::string> ReadWholeFile(Fs& fs, const std::string& path, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, f->Size());
  if (size > max_bytes) {
    return InvalidArgumentError(path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string text(size, '\0');
  ASSIGN_OR_RETURN(size_t n, f->ReadAt(0, text.data(), text.size()));
  text.resize(n);
  return text;
}

Status ReplaceFileDurably(Fs& fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, fs.Open(tmp, OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->WriteAt(0, data.data(), data.size()));
    RETURN_IF_ERROR(f->Sync());
  }
  RETURN_IF_ERROR(fs.Rename(tmp, path));
  return fs.SyncDir(DirName(path));
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status RemoveIfExists(Fs& fs, const std::string& path) {
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  return exists ? fs.Remove(path) : Status::Ok();
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

namespace {

class PosixMapping final : public MappedRegion {
 public:
  PosixMapping(std::string path, char* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  ~PosixMapping() override {
    if (size_ > 0) munmap(data_, size_);
  }
  char* data() override { return data_; }
  size_t size() const override { return size_; }
  Status Sync() override {
    if (size_ > 0 && msync(data_, size_, MS_SYNC) != 0) return ErrnoStatus("msync", path_, errno);
    return Status::Ok();
  }

 private:
  std::string path_;
  char* data_;
  size_t size_;
};

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, bool writable) : path_(std::move(path)), fd_(fd), writable_(writable) {}
  ~PosixFile() override { ::close(fd_); }

  const std::string& path() const override { return path_; }

  Result<size_t> ReadAt(uint64_t offset, char* dst, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, dst + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pread", path_, errno);
      }
      if (r == 0) break;
      done += static_cast<size_t>(r);
    }
    return done;
  }

  Status WriteAt(uint64_t offset, const char* src, size_t n) override {
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pwrite(fd_, src + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("pwrite", path_, errno);
      }
      done += static_cast<size_t>(r);
    }
    return Status::Ok();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoStatus("fdatasync", path_, errno);
    return Status::Ok();
  }

  Status StartWriteback(uint64_t offset, uint64_t n) override {
    if (::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE) != 0) {
      return ErrnoStatus("sync_file_range", path_, errno);
    }
    return Status::Ok();
  }

  Status Allocate(uint64_t size) override {
    if (::fallocate(fd_, 0, 0, static_cast<off_t>(size)) == 0) return Status::Ok();
    if (errno == EOPNOTSUPP) return Status::Ok();
    return ErrnoStatus("fallocate", path_, errno);
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus("fstat", path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return ErrnoStatus("ftruncate", path_, errno);
    return Status::Ok();
  }

  Result<std::unique_ptr<MappedRegion>> Map(size_t length, MapMode mode) override {
    if (length == 0) return std::unique_ptr<MappedRegion>(new PosixMapping(path_, nullptr, 0));
    if (mode == MapMode::kReadWrite && !writable_) {
      return FailedPreconditionError("mmap " + path_ + ": file opened read-only");
    }
    int prot = mode == MapMode::kReadWrite ? PROT_READ | PROT_WRITE : PROT_READ;
    void* p = ::mmap(nullptr, length, prot, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return ErrnoStatus("mmap", path_, errno);
    return std::unique_ptr<MappedRegion>(new PosixMapping(path_, static_cast<char*>(p), length));
  }

 private:
  std::string path_;
  int fd_;
  bool writable_;
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  ~PosixLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

}  // namespace

Result<std::unique_ptr<File>> PosixFs::Open(const std::string& path, OpenMode mode) {
  int flags = O_CLOEXEC;
  bool writable = true;
  switch (mode) {
    case OpenMode::kRead: flags |= O_RDONLY; writable = false; break;
    case OpenMode::kReadWrite: flags |= O_RDWR; break;
    case OpenMode::kCreate: flags |= O_RDWR | O_CREAT; break;
    case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
  }
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  return std::unique_ptr<File>(new PosixFile(path, fd, writable));
}

Result<std::vector<std::string>> PosixFs::ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoStatus("opendir", dir, errno);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus("readdir", dir, err);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFs::CreateDir(const std::string& dir) {
  if (dir.empty()) return InvalidArgumentError("mkdir: empty path");
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", partial, errno);
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return FailedPreconditionError("mkdir " + dir + ": exists and is not a directory");
  return Status::Ok();
}

Status PosixFs::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return ErrnoStatus("rename", from + " -> " + to, errno);
  return Status::Ok();
}

Status PosixFs::Remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  return Status::Ok();
}

Status PosixFs::SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus("fsync", dir, err);
  return Status::Ok();
}

Result<bool> PosixFs::Exists(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return ErrnoStatus("stat", path, errno);
}

Result<std::unique_ptr<FileLock>> PosixFs::Lock(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("open", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return FailedPreconditionError(path + " is locked by pid " + pid);
    }
    return ErrnoStatus("flock", path, err);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus("write", path, err);
  }
  return std::unique_ptr<FileLock>(new PosixLock(fd));
}

}  // namespace common
