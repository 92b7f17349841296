#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "common/fs.h"

namespace common {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class PosixFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/posix_fs_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  std::string Path(const std::string& name) const { return JoinPath(dir_, name); }

  std::unique_ptr<File> OpenOrDie(const std::string& path, OpenMode mode = OpenMode::kCreate) {
    auto file = fs_.Open(path, mode);
    EXPECT_TRUE(file.has_value()) << file.status().ToString();
    return std::move(file).value();
  }

  PosixFs fs_;
  std::string dir_;
};

TEST(ErrnoStatusTest, MapsErrnoToCodes) {
  EXPECT_EQ(ErrnoStatus("pwrite", "/d/f", ENOSPC).code(), Code::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("pwrite", "/d/f", EDQUOT).code(), Code::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("open", "/d/f", ENOENT).code(), Code::kNotFound);
  EXPECT_EQ(ErrnoStatus("open", "/d/f", EEXIST).code(), Code::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus("fdatasync", "/d/1.log", EIO).code(), Code::kInternal);
  EXPECT_EQ(ErrnoStatus("fdatasync", "/d/1.log", EIO).message(), "fdatasync /d/1.log: Input/output error");
}

TEST(PathTest, JoinsAndSplits) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/c"), "/");
  EXPECT_EQ(DirName("c"), ".");
}

TEST_F(PosixFsTest, WriteThenReadRoundTrips) {
  auto file = OpenOrDie(Path("f"));
  ASSERT_TRUE(file->WriteAt(0, "hello", 5).ok());
  ASSERT_TRUE(file->WriteAt(5, " world", 6).ok());
  ASSERT_TRUE(file->Sync().ok());
  char buf[32] = {};
  EXPECT_EQ(*file->ReadAt(6, buf, sizeof(buf)), 5u);  // short only at end of file
  EXPECT_EQ(std::string(buf, 5), "world");
  EXPECT_EQ(*file->Size(), 11u);
  ASSERT_TRUE(file->Truncate(4).ok());
  EXPECT_EQ(*file->Size(), 4u);
}

TEST_F(PosixFsTest, ReplaceFileDurablyThenReadWholeFileRoundTripsAndRefusesOversize) {
  const std::string path = Path("replaced");
  ASSERT_TRUE(ReplaceFileDurably(fs_, path, "first version, longer").ok());
  ASSERT_TRUE(ReplaceFileDurably(fs_, path, "second").ok());
  auto text = ReadWholeFile(fs_, path, 64);
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  EXPECT_EQ(*text, "second");  // nothing of the longer first version is left
  EXPECT_FALSE(*fs_.Exists(path + ".tmp"));
  auto big = ReadWholeFile(fs_, path, 3);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadWholeFile(fs_, Path("missing"), 64).error().code(), Code::kNotFound);
}

TEST_F(PosixFsTest, AllocateExtendsWithZerosAndKeepsWhatIsWritten) {
  auto file = OpenOrDie(Path("f"));
  ASSERT_TRUE(file->WriteAt(0, "abc", 3).ok());
  ASSERT_TRUE(file->Allocate(1 << 20).ok());
  EXPECT_EQ(*file->Size(), uint64_t{1} << 20);
  std::string buf(8, 'x');
  ASSERT_EQ(*file->ReadAt(0, buf.data(), buf.size()), buf.size());
  EXPECT_EQ(buf, std::string("abc") + std::string(5, '\0'));
  ASSERT_TRUE(file->Allocate(16).ok());  // never shrinks
  EXPECT_EQ(*file->Size(), uint64_t{1} << 20);
}

TEST_F(PosixFsTest, StartWritebackOfWrittenBytesThenSyncSucceeds) {
  auto file = OpenOrDie(Path("f"));
  std::string data(64 << 10, 'd');
  ASSERT_TRUE(file->WriteAt(0, data.data(), data.size()).ok());
  EXPECT_TRUE(file->StartWriteback(0, data.size()).ok());
  EXPECT_TRUE(file->Sync().ok());
}

TEST_F(PosixFsTest, AllocateOnAReadOnlyFileNamesTheCallAndTheFile) {
  OpenOrDie(Path("f"));
  auto read_only = OpenOrDie(Path("f"), OpenMode::kRead);
  Status s = read_only->Allocate(4096);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("fallocate " + Path("f")));
}

TEST_F(PosixFsTest, OpenModesFollowTheirContract) {
  auto missing = fs_.Open(Path("nope"), OpenMode::kReadWrite);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_EQ(missing.error().message(), "open " + Path("nope") + ": No such file or directory");
  OpenOrDie(Path("f"), OpenMode::kCreateNew);
  EXPECT_EQ(fs_.Open(Path("f"), OpenMode::kCreateNew).error().code(), Code::kAlreadyExists);
  auto read_only = OpenOrDie(Path("f"), OpenMode::kRead);
  EXPECT_FALSE(read_only->WriteAt(0, "x", 1).ok());
}

TEST_F(PosixFsTest, MapReadWriteRoundTrips) {
  auto file = OpenOrDie(Path("idx"));
  ASSERT_TRUE(file->Truncate(4096).ok());
  {
    auto region = std::move(file->Map(4096, MapMode::kReadWrite)).value();
    ASSERT_EQ(region->size(), 4096u);
    std::memcpy(region->data() + 100, "mapped", 6);
    ASSERT_TRUE(region->Sync().ok());
  }
  char buf[6];
  ASSERT_EQ(*file->ReadAt(100, buf, 6), 6u);
  EXPECT_EQ(std::string(buf, 6), "mapped");
  ASSERT_TRUE(file->WriteAt(0, "pwrite", 6).ok());
  auto reader = std::move(OpenOrDie(Path("idx"), OpenMode::kRead)->Map(4096, MapMode::kReadOnly)).value();
  EXPECT_EQ(std::string(reader->data(), 6), "pwrite");
  EXPECT_EQ(std::string(reader->data() + 100, 6), "mapped");
}

TEST_F(PosixFsTest, ReadWriteMapOfReadOnlyFileIsRefused) {
  OpenOrDie(Path("f"))->Truncate(16).IgnoreError();
  auto file = OpenOrDie(Path("f"), OpenMode::kRead);
  EXPECT_EQ(file->Map(16, MapMode::kReadWrite).error().code(), Code::kFailedPrecondition);
}

TEST_F(PosixFsTest, ListDirIsSortedWithoutDots) {
  for (const char* name : {"c", "a", "b"}) OpenOrDie(Path(name));
  ASSERT_TRUE(fs_.CreateDir(Path("sub")).ok());
  EXPECT_THAT(*fs_.ListDir(dir_), ElementsAre("a", "b", "c", "sub"));
  EXPECT_EQ(fs_.ListDir(Path("missing")).error().code(), Code::kNotFound);
}

TEST_F(PosixFsTest, CreateDirMakesParentsAndIsIdempotent) {
  std::string nested = Path("x/y/z");
  ASSERT_TRUE(fs_.CreateDir(nested).ok());
  ASSERT_TRUE(fs_.CreateDir(nested).ok());
  EXPECT_TRUE(*fs_.Exists(nested));
  OpenOrDie(Path("file"));
  EXPECT_EQ(fs_.CreateDir(Path("file")).code(), Code::kFailedPrecondition);
}

TEST_F(PosixFsTest, RenameReplacesAndRemoveDeletes) {
  ASSERT_TRUE(OpenOrDie(Path("from"))->WriteAt(0, "new", 3).ok());
  ASSERT_TRUE(OpenOrDie(Path("to"))->WriteAt(0, "old!", 4).ok());
  ASSERT_TRUE(fs_.Rename(Path("from"), Path("to")).ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  EXPECT_FALSE(*fs_.Exists(Path("from")));
  EXPECT_EQ(*OpenOrDie(Path("to"), OpenMode::kRead)->Size(), 3u);
  ASSERT_TRUE(fs_.Remove(Path("to")).ok());
  EXPECT_FALSE(*fs_.Exists(Path("to")));
  Status again = fs_.Remove(Path("to"));
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.message(), "unlink " + Path("to") + ": No such file or directory");
  EXPECT_EQ(fs_.Rename(Path("to"), Path("x")).code(), Code::kNotFound);
}

TEST_F(PosixFsTest, LockTwiceInOneProcessFails) {
  std::string path = Path("LOCK");
  auto first = fs_.Lock(path);
  ASSERT_TRUE(first.has_value()) << first.status().ToString();
  auto second = fs_.Lock(path);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), Code::kFailedPrecondition);
  EXPECT_THAT(second.error().message(), HasSubstr("locked by pid " + std::to_string(::getpid())));
  first.value().reset();
  EXPECT_TRUE(fs_.Lock(path).has_value());
}

}  // namespace
}  // namespace common
