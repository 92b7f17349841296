#include "testing/faulty_fs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>

#include "testing/mem_fs.h"

namespace replog_testing {
namespace {

using common::Code;
using common::File;
using common::MapMode;
using common::OpenMode;
using common::Status;
using ::testing::ElementsAre;

std::unique_ptr<File> OpenOrDie(common::Fs& fs, const std::string& path) {
  auto file = fs.Open(path, OpenMode::kCreate);
  EXPECT_TRUE(file.has_value()) << file.status().ToString();
  return std::move(file).value();
}

std::string Contents(MemFs& fs, const std::string& path) {
  auto bytes = fs.ReadFileForTest(path);
  return bytes.has_value() ? *bytes : "<" + bytes.error().ToString() + ">";
}

TEST(FaultyFsTest, CountsEveryCallOnFsFilesAndRegions) {
  MemFs mem;
  FaultyFs fs(mem);
  ASSERT_TRUE(fs.CreateDir("/d").ok());                  // 1
  auto file = OpenOrDie(fs, "/d/f");                     // 2
  ASSERT_TRUE(file->WriteAt(0, "abcd", 4).ok());         // 3
  ASSERT_TRUE(file->Sync().ok());                        // 4
  auto region = std::move(file->Map(4, MapMode::kReadOnly)).value();  // 5
  ASSERT_TRUE(region->Sync().ok());                      // 6
  EXPECT_EQ(region->data()[0], 'a');                     // not a call
  ASSERT_TRUE(fs.SyncDir("/d").ok());                    // 7
  EXPECT_TRUE(*fs.Exists("/d/f"));                       // 8
  EXPECT_EQ(fs.calls(), 8u);
  fs.Reset();
  EXPECT_EQ(fs.calls(), 0u);
}

TEST(FaultyFsTest, FailNthFailsThatCallWithEio) {
  MemFs mem;
  FaultyFs fs(mem);
  auto file = OpenOrDie(fs, "/f");
  fs.FailNth(2, EIO);
  ASSERT_TRUE(file->WriteAt(0, "ab", 2).ok());
  Status sync = file->Sync();
  EXPECT_EQ(sync.code(), Code::kInternal);
  EXPECT_EQ(sync.message(), "fdatasync /f: Input/output error (injected)");
  EXPECT_TRUE(file->Sync().ok());  // only the n-th call fails
}

TEST(FaultyFsTest, FailedCallDoesNothing) {
  MemFs mem;
  ASSERT_TRUE(mem.WriteFileForTest("/a", "x").ok());
  FaultyFs fs(mem);
  fs.FailNth(1, EIO);
  EXPECT_EQ(fs.Rename("/a", "/b").message(), "rename /a -> /b: Input/output error (injected)");
  EXPECT_THAT(mem.ListAll(), ElementsAre("/a"));

  auto file = OpenOrDie(fs, "/a");
  fs.FailNth(1, ENOSPC);
  Status write = file->WriteAt(1, "yz", 2);
  EXPECT_EQ(write.code(), Code::kResourceExhausted);
  EXPECT_EQ(write.message(), "pwrite /a: No space left on device (injected)");
  EXPECT_EQ(Contents(mem, "/a"), "x");
}

TEST(FaultyFsTest, FailNthOnOpenReturnsNoFile) {
  MemFs mem;
  FaultyFs fs(mem);
  fs.FailNth(1, EIO);
  auto file = fs.Open("/f", OpenMode::kCreate);
  ASSERT_FALSE(file.has_value());
  EXPECT_EQ(file.error().message(), "open /f: Input/output error (injected)");
  EXPECT_FALSE(*mem.Exists("/f"));
}

TEST(FaultyFsTest, PartialWriteWritesHalfThenFails) {
  MemFs mem;
  FaultyFs fs(mem);
  auto file = OpenOrDie(fs, "/f");
  fs.FailNth(1, ENOSPC, PartialWrite::kYes);
  EXPECT_EQ(file->WriteAt(0, "abcdef", 6).code(), Code::kResourceExhausted);
  EXPECT_EQ(Contents(mem, "/f"), "abc");
}

TEST(FaultyFsTest, FailMatchingHitsOnlyMatchingCallsForTimes) {
  MemFs mem;
  FaultyFs fs(mem);
  auto log = OpenOrDie(fs, "/1.log");
  auto other = OpenOrDie(fs, "/other");
  fs.FailMatching([](std::string_view op, const std::string& path) { return op == "fdatasync" && path.ends_with(".log"); },
                  EIO, 2);
  EXPECT_TRUE(other->Sync().ok());
  EXPECT_EQ(log->Sync().code(), Code::kInternal);
  EXPECT_EQ(log->Sync().code(), Code::kInternal);
  EXPECT_TRUE(log->Sync().ok());
}

TEST(FaultyFsTest, FailMatchingForeverUntilReset) {
  MemFs mem;
  FaultyFs fs(mem);
  fs.FailMatching([](std::string_view op, const std::string&) { return op == "mkdir"; }, ENOSPC);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(fs.CreateDir("/d").code(), Code::kResourceExhausted);
  EXPECT_FALSE(*mem.Exists("/d"));
  fs.Reset();
  EXPECT_TRUE(fs.CreateDir("/d").ok());
}

TEST(FaultyFsTest, RegionSyncCanFail) {
  MemFs mem;
  ASSERT_TRUE(mem.WriteFileForTest("/f", "abcd").ok());
  FaultyFs fs(mem);
  auto file = OpenOrDie(fs, "/f");
  auto region = std::move(file->Map(4, MapMode::kReadWrite)).value();
  region->data()[0] = 'X';
  fs.FailNth(1, EIO);
  EXPECT_EQ(region->Sync().message(), "msync /f: Input/output error (injected)");
  mem.Crash(CrashMode::kDropUnsynced, 1);
  EXPECT_EQ(Contents(mem, "/f"), "abcd");
}

}  // namespace
}  // namespace replog_testing
