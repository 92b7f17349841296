#include "server/config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace server {
namespace {

using ::testing::HasSubstr;

ServerConfig Good() {
  ServerConfig c;
  c.id = 1;
  c.data_dir = "/tmp/x";
  c.listen_address = "127.0.0.1:7001";
  c.initial_members = {{1, "127.0.0.1:7001"}, {2, "127.0.0.1:7002"}};
  return c;
}

// A file of its own per test: ctest runs the tests of this file in
// parallel processes.
std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "/replogd-config-test-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ServerConfigTest, ParseMembersAcceptsAListAndRejectsBadItems) {
  auto m = ParseMembers("1=127.0.0.1:7001,2=localhost:7002");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->at(2), "localhost:7002");
  EXPECT_EQ(FormatMembers(*m), "1=127.0.0.1:7001,2=localhost:7002");
  EXPECT_THAT(ParseMembers("1=a:1,1=b:2").error().message(), HasSubstr("listed twice"));
  EXPECT_THAT(ParseMembers("x=a:1").error().message(), HasSubstr("number > 0"));
  EXPECT_THAT(ParseMembers("1=nohost").error().message(), HasSubstr("not HOST:PORT"));
  EXPECT_THAT(ParseMembers("1").error().message(), HasSubstr("ID=HOST:PORT"));
}

TEST(ServerConfigTest, ValidateNamesTheBadSetting) {
  EXPECT_TRUE(Good().Validate().ok());
  ServerConfig c = Good();
  c.id = 3;
  EXPECT_THAT(c.Validate().message(), HasSubstr("id 3 is not among"));
  c = Good();
  c.listen_address = "7001";
  EXPECT_THAT(c.Validate().message(), HasSubstr("listen"));
  c = Good();
  c.election_ticks = 2;
  EXPECT_THAT(c.Validate().message(), HasSubstr("election_ticks"));
  c = Good();
  c.data_dir.clear();
  EXPECT_THAT(c.Validate().message(), HasSubstr("--data-dir"));
  c = Good();
  c.handover_timeout_ms = 60'001;
  EXPECT_THAT(c.Validate().message(), HasSubstr("handover_timeout_ms"));
  c = Good();
  c.log_level = "loud";
  EXPECT_THAT(c.Validate().message(), HasSubstr("log_level"));
}

TEST(ServerConfigTest, RetentionNeedsWholeSegmentsAndASaneInterval) {
  ServerConfig c = Good();
  c.retention_bytes = c.segment_bytes;
  c.retention_ms = 3'600'000;
  EXPECT_TRUE(c.Validate().ok());
  c.retention_bytes = c.segment_bytes - 1;
  EXPECT_THAT(c.Validate().message(), HasSubstr("whole segments"));
  c = Good();
  c.retention_ms = -1;
  EXPECT_THAT(c.Validate().message(), HasSubstr("log.retention_ms"));
  c = Good();
  c.retention_check_ms = 5;
  EXPECT_THAT(c.Validate().message(), HasSubstr("log.retention_check_ms"));
}

TEST(ServerConfigTest, LoadsTheLogTable) {
  ServerConfig c = Good();
  const std::string path = WriteTemp(
      "[log]\nretention_bytes = 1073741824\nretention_ms = 86400000\nretention_check_ms = 500\n");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.retention_bytes, uint64_t{1} << 30);
  EXPECT_EQ(c.retention_ms, 86'400'000);
  EXPECT_EQ(c.retention_check_ms, 500);
  EXPECT_TRUE(c.Validate().ok());
  common::Status bad = LoadConfigFile(WriteTemp("[log]\nretention = 5\n"), &c);
  EXPECT_THAT(bad.message(), HasSubstr("log.retention"));
}

TEST(ServerConfigTest, LoadsTheKvTableAndRefusesZeroThresholds) {
  ServerConfig c = Good();
  const std::string path = WriteTemp("[kv]\nsnapshot_entries = 5000\nsnapshot_bytes = 1048576\ntrailing_entries = 10\n");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.kv_snapshot_entries, 5'000u);
  EXPECT_EQ(c.kv_snapshot_bytes, 1u << 20);
  EXPECT_EQ(c.kv_trailing_entries, 10u);
  EXPECT_TRUE(c.Validate().ok());
  c.kv_snapshot_entries = 0;
  EXPECT_THAT(c.Validate().message(), HasSubstr("kv.snapshot_entries"));
  c = Good();
  c.kv_snapshot_bytes = 0;
  EXPECT_THAT(c.Validate().message(), HasSubstr("kv.snapshot_bytes"));
  EXPECT_THAT(LoadConfigFile(WriteTemp("[kv]\nsnapshots = 5\n"), &c).message(), HasSubstr("kv.snapshots"));
}

TEST(ServerConfigTest, LoadsAFile) {
  ServerConfig c;
  const std::string path = WriteTemp(
      "id = 2\ndata_dir = \"/d\"\nlisten = \"127.0.0.1:7002\"\n"
      "initial_members = \"1=127.0.0.1:7001,2=127.0.0.1:7002\"\n[raft]\ntick_ms = 20\nelection_ticks = 15\n");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.id, 2u);
  EXPECT_EQ(c.tick_ms, 20);
  EXPECT_EQ(c.election_ticks, 15);
  EXPECT_EQ(c.initial_members.size(), 2u);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(ServerConfigTest, HandoverTimeoutDefaultsToOneElectionTimeout) {
  ServerConfig c = Good();
  c.tick_ms = 20;
  c.election_ticks = 15;
  EXPECT_EQ(c.HandoverTimeoutMs(), 300);
  const std::string path = WriteTemp("handover_timeout_ms = 750\n");
  ASSERT_TRUE(LoadConfigFile(path, &c).ok());
  EXPECT_EQ(c.handover_timeout_ms, 750);
  EXPECT_EQ(c.HandoverTimeoutMs(), 750);
  EXPECT_TRUE(c.Validate().ok());
}

TEST(ServerConfigTest, UnknownKeysAndBadTypesAreErrorsWithTheLine) {
  ServerConfig c;
  common::Status s = LoadConfigFile(WriteTemp("id = 1\nlisten_adress = \"x:1\"\n"), &c);
  EXPECT_EQ(s.code(), common::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown key 'listen_adress'"));
  EXPECT_THAT(s.message(), HasSubstr(":2"));
  s = LoadConfigFile(WriteTemp("id = \"one\"\n"), &c);
  EXPECT_THAT(s.message(), HasSubstr("id must be a non-negative integer"));
  s = LoadConfigFile(WriteTemp("[raft]\ntick_ms = 4294967346\n"), &c);
  EXPECT_THAT(s.message(), HasSubstr("raft.tick_ms must be a non-negative integer in range"));
  s = LoadConfigFile(WriteTemp("id = = 1\n"), &c);
  EXPECT_EQ(s.code(), common::Code::kInvalidArgument);
}

TEST(ServerConfigTest, MissingFileIsNotFound) {
  ServerConfig c;
  EXPECT_EQ(LoadConfigFile("/nonexistent/replogd.toml", &c).code(), common::Code::kNotFound);
}

}  // namespace
}  // namespace server

namespace server {
namespace {

TEST(ServerConfigTest, JoinNeedsNoInitialMembersButAReachableAddress) {
  ServerConfig c = Good();
  c.id = 4;
  c.initial_members.clear();
  c.join = {"127.0.0.1:7001"};
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  c.join = {"127.0.0.1:7001", "nohost"};
  EXPECT_THAT(c.Validate().message(), HasSubstr("join: 'nohost' is not HOST:PORT"));
  c.join = {"127.0.0.1:7001"};
  c.listen_address = "0.0.0.0:7004";
  EXPECT_THAT(c.Validate().message(), HasSubstr("--advertise"));
  c.advertise_address = "10.0.0.4:7004";
  EXPECT_TRUE(c.Validate().ok());
  c.join.clear();
  EXPECT_THAT(c.Validate().message(), HasSubstr("--join HOST:PORT"));
}

TEST(ServerConfigTest, LoadsJoinKeys) {
  ServerConfig c;
  ASSERT_TRUE(LoadConfigFile(WriteTemp("join = \"a:1,b:2\"\njoin_replace = true\n"), &c).ok());
  EXPECT_EQ(c.join, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_TRUE(c.join_replace);
  EXPECT_THAT(LoadConfigFile(WriteTemp("join_replace = 1\n"), &c).message(), HasSubstr("join_replace must be a boolean"));
}

TEST(ServerConfigTest, LoadsTheTlsAndAclTablesAndNeedsAllThreeFilesForTls) {
  ServerConfig c = Good();
  ASSERT_TRUE(LoadConfigFile(WriteTemp("[tls]\nca = \"ca.crt\"\ncert = \"m.crt\"\nkey = \"m.key\"\n"
                                       "[acl]\npolicy = \"acl.toml\"\n"),
                             &c)
                  .ok());
  EXPECT_EQ(c.tls.ca_file, "ca.crt");
  EXPECT_EQ(c.tls.cert_file, "m.crt");
  EXPECT_EQ(c.tls.key_file, "m.key");
  EXPECT_EQ(c.acl_policy_file, "acl.toml");
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  c.tls.key_file.clear();
  EXPECT_THAT(c.Validate().message(), HasSubstr("all three of ca, cert and key"));
  c.tls = {};
  EXPECT_THAT(c.Validate().message(), HasSubstr("access control needs TLS"));
  c.acl_policy_file.clear();
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_THAT(LoadConfigFile(WriteTemp("[tls]\ncertificate = \"x\"\n"), &c).message(),
              HasSubstr("unknown key 'tls.certificate'"));
}

TEST(ServerConfigTest, MetricsListenIsAnAddressOrEmpty) {
  ServerConfig c = Good();
  ASSERT_TRUE(LoadConfigFile(WriteTemp("metrics_listen = \"127.0.0.1:9001\"\n"), &c).ok());
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9001");
  EXPECT_TRUE(c.Validate().ok());
  c.metrics_listen = "9001";
  EXPECT_THAT(c.Validate().message(), HasSubstr("--metrics-listen"));
}

}  // namespace
}  // namespace server
