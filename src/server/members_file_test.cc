#include "server/members_file.h"

#include <gtest/gtest.h>

#include "common/fs.h"

namespace server {
namespace {

TEST(MembersFileTest, RoundTripsAndRejectsDamage) {
  common::PosixFs fs;
  const std::string dir = ::testing::TempDir() + "/replogd-members-test";
  ASSERT_TRUE(fs.CreateDir(dir).ok());
  (void)fs.Remove(dir + "/members");
  EXPECT_EQ(ReadMembersFile(fs, dir).error().code(), common::Code::kNotFound);
  const std::map<uint64_t, std::string> members = {{1, "127.0.0.1:7001"}, {4, "127.0.0.1:7004"}};
  ASSERT_TRUE(WriteMembersFile(fs, dir, members).ok());
  auto read = ReadMembersFile(fs, dir);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(*read, members);
  // A shorter content replaces a longer one whole.
  ASSERT_TRUE(WriteMembersFile(fs, dir, {{2, "h:2"}}).ok());
  EXPECT_EQ(*ReadMembersFile(fs, dir), (std::map<uint64_t, std::string>{{2, "h:2"}}));
  // Torn (no final newline) and garbage are data loss, naming the file.
  auto f = fs.Open(dir + "/members", common::OpenMode::kReadWrite);
  ASSERT_TRUE(f.has_value());
  ASSERT_TRUE((*f)->Truncate(3).ok());
  EXPECT_EQ(ReadMembersFile(fs, dir).error().code(), common::Code::kDataLoss);
  ASSERT_TRUE((*f)->WriteAt(0, "x=y\n", 4).ok());
  auto bad = ReadMembersFile(fs, dir);
  EXPECT_EQ(bad.error().code(), common::Code::kDataLoss);
  EXPECT_NE(bad.error().message().find(dir + "/members"), std::string::npos);
}

}  // namespace
}  // namespace server
