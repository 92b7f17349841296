// The `replog` commands run in-process against a fake cluster.

#include "apps/replog/cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "client/fake_log_service.h"

namespace replog::cli {
namespace {

using testing::FakeCluster;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `replog <args...>` with `input` on stdin and a ManualClock (backoff
// costs no time).
Outcome RunReplog(const std::vector<std::string>& args, const std::string& input = "") {
  std::vector<const char*> argv = {"replog"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  common::ManualClock clock;
  Outcome o;
  o.code = RunCli(static_cast<int>(argv.size()), argv.data(), CliIo{in, out, err, &clock});
  o.out = out.str();
  o.err = err.str();
  return o;
}

std::string Addrs(const FakeCluster& fake) {
  std::string s;
  for (const std::string& a : fake.addresses()) s += (s.empty() ? "" : ",") + a;
  return s;
}

TEST(ReplogCliTest, ProduceValuesPrintsOffsets) {
  FakeCluster fake(3);
  Outcome o = RunReplog({"--addrs", Addrs(fake), "produce", "--key", "k", "--header", "a=1", "one", "two"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "offset 1\noffset 2\n");
  std::vector<Record> log = fake.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].key, "k");
  EXPECT_EQ(log[1].value, "two");
  EXPECT_EQ(log[1].headers, (std::vector<Header>{{"a", "1"}}));
}

TEST(ReplogCliTest, ProduceStdinLinesAsJson) {
  FakeCluster fake(3);
  Outcome o = RunReplog({"--addrs", Addrs(fake), "--json", "produce"}, "x\ny\n");
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "{\"offset\":1}\n{\"offset\":2}\n");
  EXPECT_EQ(fake.produces(1), 1u);  // one batch
}

TEST(ReplogCliTest, ProduceRetriesAnUnknownOutcomeExactlyOnce) {
  FakeCluster fake(3);
  fake.AddProduceFault(1, testing::ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  Outcome o = RunReplog({"--addrs", Addrs(fake), "produce", "v"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "offset 1\n");  // the original offset: stored once
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(fake.log().size(), 1u);
  for (const testing::ProduceSeen& s : fake.produce_log()) EXPECT_NE(s.producer_id, 0u);
}

TEST(ReplogCliTest, ProduceWithoutExactlyOnceWarnsAfterAnUnknownOutcome) {
  FakeCluster fake(3);
  fake.AddProduceFault(1, testing::ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  Outcome o = RunReplog({"--addrs", Addrs(fake), "produce", "--no-exactly-once", "v"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "offset 2\n");
  EXPECT_NE(o.err.find("warning"), std::string::npos);
  for (const testing::ProduceSeen& s : fake.produce_log()) EXPECT_EQ(s.producer_id, 0u);
}

TEST(ReplogCliTest, ConsumePrintsRecordsUpToTheEnd) {
  FakeCluster fake(3);
  fake.Append({Record{.key = "k", .value = "a"}, Record{.value = "b\tc"}, Record{.value = "d"}});
  Outcome o = RunReplog({"--addrs", Addrs(fake), "consume", "--from", "2", "--batch", "1"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "2\t\tb\\tc\n3\t\td\n");
}

TEST(ReplogCliTest, ConsumeJsonWithMax) {
  FakeCluster fake(3);
  fake.Append({Record{.key = "k", .value = "a", .timestamp_ms = 5}, Record{.value = "\xff"}});
  Outcome o = RunReplog({"--addrs", Addrs(fake), "--json", "consume", "--max", "1"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "{\"offset\":1,\"key\":\"k\",\"value\":\"a\",\"headers\":[],\"timestamp_ms\":5}\n");
}

TEST(ReplogCliTest, ConsumeFollowStopsAtMax) {
  FakeCluster fake(3);
  fake.Append({Record{.value = "a"}, Record{.value = "b"}});
  Outcome o = RunReplog({"--addrs", Addrs(fake), "consume", "--follow", "--max", "2"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, "1\t\ta\n2\t\tb\n");
}

TEST(ReplogCliTest, ConsumeOutOfRangeFailsWithOneLine) {
  FakeCluster fake(3);
  Outcome o = RunReplog({"--addrs", Addrs(fake), "consume", "--from", "9"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err.rfind("replog consume: OUT_OF_RANGE: ", 0), 0u) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1);
}

TEST(ReplogCliTest, ServersTableAndJson) {
  FakeCluster fake(2);
  Outcome o = RunReplog({"--addrs", fake.address(2), "servers"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find("leader     *\n"), std::string::npos) << o.out;
  Outcome j = RunReplog({"--addrs", fake.address(2), "servers", "--json"});  // global flags after the command too
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.out.rfind("{\"leader_id\":1,", 0), 0u) << j.out;
}

TEST(ReplogCliTest, AddrsComeFromTheEnvironment) {
  FakeCluster fake(1);
  ::setenv("REPLOG_ADDRS", fake.address(1).c_str(), 1);
  Outcome o = RunReplog({"servers"});
  ::unsetenv("REPLOG_ADDRS");
  EXPECT_EQ(o.code, 0) << o.err;
}

TEST(ReplogCliTest, NoMemberAnsweringIsAnError) {
  FakeCluster fake(1);
  std::string dead = fake.address(1);
  fake.Stop(1);
  Outcome o = RunReplog({"--addrs", dead, "--timeout", "0.5", "servers"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err.rfind("replog servers: UNAVAILABLE: connect: ", 0), 0u) << o.err;
}

TEST(ReplogCliTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(RunReplog({}).code, 2);                                  // no command
  EXPECT_EQ(RunReplog({"consume", "--bogus"}).code, 2);              // unknown flag
  EXPECT_EQ(RunReplog({"consume", "--from", "x"}).code, 2);          // not a number
  EXPECT_EQ(RunReplog({"produce", "--header", "novalue", "v"}).code, 2);
  EXPECT_EQ(RunReplog({"--addrs", ",", "servers"}).code, 2);
  EXPECT_EQ(RunReplog({"consume", "--leader", "--member", "a:1"}).code, 2);
  EXPECT_EQ(RunReplog({"--help"}).code, 0);
}

TEST(CliTest, APlaintextClientRefusedByATlsMemberIsToldAboutTheTlsFlags) {
  const common::Status closed = common::UnavailableError("connect: 127.0.0.1:7001: Socket closed");
  EXPECT_THAT(TlsHint(closed, /*tls=*/false), ::testing::HasSubstr("--tls-ca"));
  EXPECT_EQ(TlsHint(closed, /*tls=*/true), "");
  EXPECT_EQ(TlsHint(common::UnavailableError("Connection refused"), false), "");
}

}  // namespace
}  // namespace replog::cli
