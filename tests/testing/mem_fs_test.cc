#include "testing/mem_fs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace replog_testing {
namespace {

using common::Code;
using common::File;
using common::MapMode;
using common::OpenMode;
using common::Status;
using ::testing::ElementsAre;

std::unique_ptr<File> OpenOrDie(MemFs& fs, const std::string& path, OpenMode mode = OpenMode::kCreate) {
  auto file = fs.Open(path, mode);
  EXPECT_TRUE(file.has_value()) << file.status().ToString();
  return std::move(file).value();
}

void Append(File& file, const std::string& bytes) {
  uint64_t size = *file.Size();
  ASSERT_TRUE(file.WriteAt(size, bytes.data(), bytes.size()).ok());
}

std::string Contents(MemFs& fs, const std::string& path) {
  auto bytes = fs.ReadFileForTest(path);
  return bytes.has_value() ? *bytes : "<" + bytes.error().ToString() + ">";
}

// A durable file /d/f holding `bytes`, with an open handle on it.
std::unique_ptr<File> DurableFile(MemFs& fs, const std::string& bytes) {
  EXPECT_TRUE(fs.CreateDir("/d").ok());
  auto file = OpenOrDie(fs, "/d/f");
  Append(*file, bytes);
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(fs.SyncDir("/d").ok());
  return file;
}

TEST(MemFsTest, WriteThenReadRoundTrips) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto file = OpenOrDie(fs, "/d/f");
  ASSERT_TRUE(file->WriteAt(0, "hello", 5).ok());
  ASSERT_TRUE(file->WriteAt(8, "xy", 2).ok());
  char buf[16] = {};
  auto n = file->ReadAt(3, buf, sizeof(buf));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(std::string(buf, *n), std::string("lo\0\0\0xy", 7));
  EXPECT_EQ(*file->Size(), 10u);
  EXPECT_EQ(file->path(), "/d/f");
}

TEST(MemFsTest, OpenMissingFileIsNotFound) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/x").ok());
  auto file = fs.Open("/x/y.log", OpenMode::kReadWrite);
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().code(), Code::kNotFound);
  EXPECT_EQ(file.error().message(), "open /x/y.log: No such file or directory");
  EXPECT_EQ(fs.Open("/nodir/y.log", OpenMode::kCreate).error().code(), Code::kNotFound);
}

TEST(MemFsTest, CreateNewOfExistingFileIsAlreadyExists) {
  MemFs fs;
  OpenOrDie(fs, "/f");
  EXPECT_EQ(fs.Open("/f", OpenMode::kCreateNew).error().code(), Code::kAlreadyExists);
}

TEST(MemFsTest, ReadOnlyFileRefusesWrites) {
  MemFs fs;
  OpenOrDie(fs, "/f");
  auto file = OpenOrDie(fs, "/f", OpenMode::kRead);
  EXPECT_EQ(file->WriteAt(0, "x", 1).code(), Code::kInternal);
  EXPECT_EQ(file->Truncate(0).code(), Code::kInternal);
  EXPECT_EQ(file->Map(0, MapMode::kReadWrite).error().code(), Code::kFailedPrecondition);
}

TEST(MemFsTest, ListDirIsSortedAndHoldsFilesAndDirs) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d/sub/deeper").ok());
  OpenOrDie(fs, "/d/b");
  OpenOrDie(fs, "/d/a");
  OpenOrDie(fs, "/d/sub/c");
  EXPECT_THAT(*fs.ListDir("/d"), ElementsAre("a", "b", "sub"));
  EXPECT_THAT(*fs.ListDir("/d/"), ElementsAre("a", "b", "sub"));
  EXPECT_THAT(*fs.ListDir("/"), ElementsAre("d"));
  EXPECT_EQ(fs.ListDir("/nope").error().code(), Code::kNotFound);
  EXPECT_THAT(fs.ListAll(), ElementsAre("/d/a", "/d/b", "/d/sub/c"));
}

TEST(MemFsTest, RenameAndRemoveChangeTheNamespaceAtOnce) {
  MemFs fs;
  auto file = OpenOrDie(fs, "/a");
  Append(*file, "abc");
  ASSERT_TRUE(fs.Rename("/a", "/b").ok());
  EXPECT_FALSE(*fs.Exists("/a"));
  EXPECT_EQ(Contents(fs, "/b"), "abc");
  Append(*file, "d");  // the handle follows the inode, as in POSIX
  EXPECT_EQ(Contents(fs, "/b"), "abcd");
  ASSERT_TRUE(fs.Remove("/b").ok());
  EXPECT_FALSE(*fs.Exists("/b"));
  Status missing = fs.Remove("/b");
  EXPECT_EQ(missing.code(), Code::kNotFound);
  EXPECT_EQ(missing.message(), "unlink /b: No such file or directory");
  EXPECT_EQ(fs.Rename("/b", "/c").code(), Code::kNotFound);
}

TEST(MemFsTest, CrashDropsUnsyncedWrites) {
  MemFs fs;
  auto file = DurableFile(fs, "synced");
  Append(*file, "-unsynced");
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(fs, "/d/f"), "synced");
}

TEST(MemFsTest, CrashKeepsSyncedData) {
  MemFs fs;
  auto file = DurableFile(fs, "one");
  Append(*file, "two");
  ASSERT_TRUE(file->Sync().ok());
  ASSERT_TRUE(file->Truncate(2).ok());
  fs.Crash(CrashMode::kTearLastWrite, 7);
  std::string after = Contents(fs, "/d/f");
  // The unsynced truncate may or may not have reached the disk.
  EXPECT_TRUE(after == "onetwo" || after == "on") << after;
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(fs, "/d/f"), after);
}

TEST(MemFsTest, CrashDropsNewFileWithoutSyncDir) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto file = OpenOrDie(fs, "/d/new");
  Append(*file, "data");
  ASSERT_TRUE(file->Sync().ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_FALSE(*fs.Exists("/d/new"));
  EXPECT_TRUE(*fs.Exists("/d"));  // directories are durable at once
}

TEST(MemFsTest, RenameIsNotDurableWithoutSyncDir) {
  MemFs fs;
  DurableFile(fs, "x");
  ASSERT_TRUE(fs.Rename("/d/f", "/d/g").ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_THAT(*fs.ListDir("/d"), ElementsAre("f"));
}

TEST(MemFsTest, RenameIsDurableAfterSyncDir) {
  MemFs fs;
  DurableFile(fs, "x");
  ASSERT_TRUE(fs.Rename("/d/f", "/d/g").ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_THAT(*fs.ListDir("/d"), ElementsAre("g"));
  EXPECT_EQ(Contents(fs, "/d/g"), "x");
}

TEST(MemFsTest, RemoveIsNotDurableWithoutSyncDir) {
  MemFs fs;
  DurableFile(fs, "x");
  ASSERT_TRUE(fs.Remove("/d/f").ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(fs, "/d/f"), "x");
  ASSERT_TRUE(fs.Remove("/d/f").ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_FALSE(*fs.Exists("/d/f"));
}

TEST(MemFsTest, SyncDirCoversOnlyThatDirectory) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d/sub").ok());
  for (const char* path : {"/d/a", "/d/sub/b"}) {
    auto file = OpenOrDie(fs, path);
    ASSERT_TRUE(file->Sync().ok());
  }
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_THAT(fs.ListAll(), ElementsAre("/d/a"));
}

TEST(MemFsTest, TearLastWriteKeepsAPrefixOfUnsyncedBytes) {
  const std::string synced = "0123456789";
  const std::string unsynced = "abcdefghijklmnopqrstuvwxyz";
  bool saw_torn = false;
  bool saw_none = false;
  bool saw_all = false;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    MemFs fs;
    auto file = DurableFile(fs, synced);
    for (size_t i = 0; i < unsynced.size(); i += 4) Append(*file, unsynced.substr(i, 4));
    fs.Crash(CrashMode::kTearLastWrite, seed);
    std::string after = Contents(fs, "/d/f");
    ASSERT_GE(after.size(), synced.size()) << "seed " << seed;
    size_t kept = after.size() - synced.size();
    ASSERT_EQ(after, synced + unsynced.substr(0, kept)) << "seed " << seed;
    saw_torn |= kept % 4 != 0;
    saw_none |= kept == 0;
    saw_all |= kept == unsynced.size();
  }
  EXPECT_TRUE(saw_torn);
  EXPECT_TRUE(saw_none);
  EXPECT_TRUE(saw_all);
}

TEST(MemFsTest, SameSeedTearsTheSameWay) {
  std::vector<std::string> results;
  for (int run = 0; run < 2; ++run) {
    MemFs fs;
    auto file = DurableFile(fs, "");
    for (int i = 0; i < 20; ++i) Append(*file, "record-" + std::to_string(i));
    fs.Crash(CrashMode::kTearLastWrite, 12345);
    results.push_back(Contents(fs, "/d/f"));
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(MemFsTest, HandlesAreDeadAfterCrash) {
  MemFs fs;
  auto file = DurableFile(fs, "abc");
  fs.Crash(CrashMode::kDropUnsynced, 1);
  char buf[4];
  auto read = file->ReadAt(0, buf, sizeof(buf));
  EXPECT_EQ(read.error().code(), Code::kUnavailable);
  EXPECT_EQ(read.error().message(), "pread /d/f: crashed");
  EXPECT_EQ(file->WriteAt(0, "zzz", 3).code(), Code::kUnavailable);
  EXPECT_EQ(file->Truncate(0).code(), Code::kUnavailable);
  EXPECT_EQ(file->Sync().code(), Code::kUnavailable);
  EXPECT_EQ(file->Size().error().code(), Code::kUnavailable);
  EXPECT_EQ(file->Map(1, MapMode::kReadOnly).error().code(), Code::kUnavailable);
  EXPECT_EQ(Contents(fs, "/d/f"), "abc");
  auto reopened = OpenOrDie(fs, "/d/f", OpenMode::kReadWrite);
  EXPECT_EQ(*reopened->Size(), 3u);
}

TEST(MemFsTest, MappedWritesAreLostUnlessSynced) {
  MemFs fs;
  auto file = DurableFile(fs, "aaaa");
  auto region = std::move(file->Map(4, MapMode::kReadWrite)).value();
  region->data()[0] = 'X';
  EXPECT_EQ(Contents(fs, "/d/f"), "Xaaa");  // visible at once
  fs.Crash(CrashMode::kTearLastWrite, 3);
  EXPECT_EQ(Contents(fs, "/d/f"), "aaaa");
}

TEST(MemFsTest, MappedWritesSurviveAfterRegionSync) {
  MemFs fs;
  auto file = DurableFile(fs, "aaaa");
  auto region = std::move(file->Map(4, MapMode::kReadWrite)).value();
  region->data()[1] = 'Y';
  ASSERT_TRUE(region->Sync().ok());
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(fs, "/d/f"), "aYaa");
}

TEST(MemFsTest, MappedPointerStaysValidAsFileGrows) {
  MemFs fs;
  auto file = DurableFile(fs, "abcd");
  auto region = std::move(file->Map(4, MapMode::kReadWrite)).value();
  char* before = region->data();
  std::string big(1 << 20, 'z');
  ASSERT_TRUE(file->WriteAt(4, big.data(), big.size()).ok());
  ASSERT_TRUE(file->Truncate(2).ok());
  ASSERT_TRUE(file->Truncate(3 << 20).ok());
  EXPECT_EQ(region->data(), before);
  region->data()[0] = 'Q';
  char buf[4];
  ASSERT_EQ(*file->ReadAt(0, buf, 4), 4u);
  EXPECT_EQ(std::string(buf, 4), std::string("Qb\0\0", 4));  // regrown bytes read as zeros
}

TEST(MemFsTest, MapLongerThanFileIsRefused) {
  MemFs fs;
  auto file = DurableFile(fs, "ab");
  EXPECT_EQ(file->Map(3, MapMode::kReadOnly).error().code(), Code::kOutOfRange);
}

TEST(MemFsTest, DeadRegionKeepsItsMemoryButCannotReachNewState) {
  MemFs fs;
  auto file = DurableFile(fs, "aaaa");
  auto region = std::move(file->Map(4, MapMode::kReadWrite)).value();
  fs.Crash(CrashMode::kDropUnsynced, 1);
  file.reset();
  region->data()[0] = 'X';  // old memory, still valid
  EXPECT_EQ(region->Sync().code(), Code::kUnavailable);
  EXPECT_EQ(Contents(fs, "/d/f"), "aaaa");
}

TEST(MemFsTest, LockIsExclusiveUntilReleased) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto first = fs.Lock("/d/LOCK");
  ASSERT_TRUE(first.has_value());
  auto second = fs.Lock("/d/LOCK");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(second.error().message(), "/d/LOCK is locked by pid " + std::to_string(::getpid()));
  EXPECT_EQ(Contents(fs, "/d/LOCK"), std::to_string(::getpid()) + "\n");
  first.value().reset();
  EXPECT_TRUE(fs.Lock("/d/LOCK").has_value());
}

TEST(MemFsTest, CrashReleasesLocks) {
  MemFs fs;
  auto old_lock = std::move(fs.Lock("/LOCK")).value();
  fs.Crash(CrashMode::kDropUnsynced, 1);
  auto new_lock = fs.Lock("/LOCK");
  ASSERT_TRUE(new_lock.has_value());
  old_lock.reset();  // must not release the new holder's lock
  EXPECT_EQ(fs.Lock("/LOCK").error().code(), Code::kFailedPrecondition);
}

TEST(MemFsTest, SyncHookSeesEverySyncPoint) {
  MemFs fs;
  std::vector<std::string> seen;
  fs.SetSyncHook([&](const std::string& path) { seen.push_back(path); });
  auto file = DurableFile(fs, "ab");
  auto region = std::move(file->Map(2, MapMode::kReadWrite)).value();
  ASSERT_TRUE(region->Sync().ok());
  EXPECT_THAT(seen, ElementsAre("/d/f", "/d", "/d/f"));
  EXPECT_EQ(fs.sync_count(), 1u);
}

TEST(MemFsTest, CrashInsideSyncHookFailsThatSync) {
  MemFs fs;
  auto file = DurableFile(fs, "ab");
  Append(*file, "cd");
  fs.SetSyncHook([&](const std::string&) { fs.Crash(CrashMode::kDropUnsynced, 1); });
  Status sync = file->Sync();
  EXPECT_EQ(sync.code(), Code::kUnavailable);
  EXPECT_EQ(sync.message(), "fdatasync /d/f: crashed");
  fs.SetSyncHook({});
  EXPECT_EQ(Contents(fs, "/d/f"), "ab");
}

TEST(MemFsTest, CrashInsideSyncDirHookFailsThatSyncDir) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto file = OpenOrDie(fs, "/d/f");
  ASSERT_TRUE(file->Sync().ok());
  fs.SetSyncHook([&](const std::string&) { fs.Crash(CrashMode::kDropUnsynced, 1); });
  Status sync = fs.SyncDir("/d");
  EXPECT_EQ(sync.code(), Code::kUnavailable);
  EXPECT_EQ(sync.message(), "fsync /d: crashed");
  EXPECT_FALSE(*fs.Exists("/d/f"));
}

TEST(MemFsTest, WriteFileForTestIsDurable) {
  MemFs fs;
  ASSERT_TRUE(fs.WriteFileForTest("/a/b/c", "bytes").ok());
  fs.Crash(CrashMode::kTearLastWrite, 9);
  EXPECT_EQ(Contents(fs, "/a/b/c"), "bytes");
}

TEST(MemFsTest, FlipByteForTestChangesCurrentAndDurableBytes) {
  MemFs fs;
  ASSERT_TRUE(fs.WriteFileForTest("/f", std::string("\x00\x01", 2)).ok());
  fs.FlipByteForTest("/f", 1);
  EXPECT_EQ(Contents(fs, "/f"), std::string("\x00\xFE", 2));
  fs.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(fs, "/f"), std::string("\x00\xFE", 2));
}

// Writers race a crash: their handles die mid-run, and nothing they do after
// it reaches the new state (run under TSan to check the locking).
TEST(MemFsTest, ConcurrentWritersSurviveACrash) {
  MemFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    auto file = OpenOrDie(fs, "/d/f" + std::to_string(t));
    ASSERT_TRUE(fs.SyncDir("/d").ok());
    writers.emplace_back([file = std::move(file)] {
      for (int i = 0; i < 2000; ++i) {
        if (!file->WriteAt(static_cast<uint64_t>(i), "x", 1).ok()) return;
        if (i % 100 == 0 && !file->Sync().ok()) return;
      }
    });
  }
  fs.Crash(CrashMode::kTearLastWrite, 5);
  std::vector<std::string> after;
  for (int t = 0; t < 4; ++t) after.push_back(Contents(fs, "/d/f" + std::to_string(t)));
  for (std::thread& writer : writers) writer.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(Contents(fs, "/d/f" + std::to_string(t)), after[t]);
}

}  // namespace
}  // namespace replog_testing
