// The `replog kv` commands run in-process against a fake KV cluster.

#include "apps/replog/kv_command.h"

#include <gtest/gtest.h>

#include <sstream>

#include "client/fake_kv_service.h"

namespace replog::cli {
namespace {

using testing::FakeKvCluster;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `replog --addrs <fake> kv <args...>` with a ManualClock.
Outcome RunKvCli(const FakeKvCluster& fake, const std::vector<std::string>& args) {
  std::string addrs;
  for (const std::string& a : fake.addresses()) addrs += (addrs.empty() ? "" : ",") + a;
  std::vector<std::string> all = {"replog", "--addrs", addrs, "kv"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<const char*> argv;
  for (const std::string& a : all) argv.push_back(a.c_str());
  std::istringstream in;
  std::ostringstream out;
  std::ostringstream err;
  common::ManualClock clock;
  Outcome o;
  o.code = RunCli(static_cast<int>(argv.size()), argv.data(), CliIo{in, out, err, &clock});
  o.out = out.str();
  o.err = err.str();
  return o;
}

TEST(ReplogKvCliTest, PutGetDel) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(2);
  Outcome put = RunKvCli(fake, {"put", "k", "v"});
  EXPECT_EQ(put.code, 0) << put.err;
  EXPECT_EQ(put.out, "revision 1\n");
  Outcome get = RunKvCli(fake, {"get", "k"});
  EXPECT_EQ(get.code, 0) << get.err;
  EXPECT_EQ(get.out, "v\n");
  Outcome json = RunKvCli(fake, {"get", "k", "--local", "--json"});
  EXPECT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out.rfind("{\"found\":true,\"kv\":{\"key\":\"k\",\"value\":\"v\",", 0), 0u) << json.out;
  Outcome del = RunKvCli(fake, {"del", "k"});
  EXPECT_EQ(del.out, "deleted, revision 2\n");
  Outcome gone = RunKvCli(fake, {"get", "k"});
  EXPECT_EQ(gone.code, kExitNotFound);
  EXPECT_EQ(gone.out, "");
  EXPECT_EQ(gone.err, "");
}

TEST(ReplogKvCliTest, CasExitsThreeWhenItDidNotSwap) {
  FakeKvCluster fake(1);
  Outcome created = RunKvCli(fake, {"cas", "k", "--expect-absent", "--value", "a"});
  EXPECT_EQ(created.code, 0) << created.err;
  EXPECT_EQ(created.out, "swapped, revision 1\n");
  Outcome refused = RunKvCli(fake, {"cas", "k", "--expect", "b", "--delete"});
  EXPECT_EQ(refused.code, kExitNotSwapped);
  EXPECT_EQ(refused.out, "not swapped, revision 2; current: a (mod_revision 1)\n");
  Outcome by_revision = RunKvCli(fake, {"cas", "k", "--expect-revision", "1", "--value", "c"});
  EXPECT_EQ(by_revision.code, 0) << by_revision.err;
  EXPECT_EQ(fake.data().at("k"), "c");
}

TEST(ReplogKvCliTest, CasNeedsOneCompareAndOneAction) {
  FakeKvCluster fake(1);
  EXPECT_EQ(RunKvCli(fake, {"cas", "k", "--value", "a"}).code, 2);
  EXPECT_EQ(RunKvCli(fake, {"cas", "k", "--expect", "x", "--expect-absent", "--value", "a"}).code, 2);
  EXPECT_EQ(RunKvCli(fake, {"cas", "k", "--expect-absent"}).code, 2);
  Outcome both = RunKvCli(fake, {"cas", "k", "--expect-absent", "--value", "a", "--delete"});
  EXPECT_EQ(both.code, 2);
  EXPECT_EQ(both.err, "replog kv cas: give exactly one of --value, --delete\n");
  EXPECT_EQ(fake.applied(), 0u);
}

TEST(ReplogKvCliTest, ScanGoesOnPageByPageUpToTheLimit) {
  FakeKvCluster fake(2);
  for (int i = 0; i < 1500; i++) {
    char key[16];
    std::snprintf(key, sizeof(key), "p/%04d", i);
    fake.Put(key, "v");
  }
  fake.Put("q", "v");
  Outcome all = RunKvCli(fake, {"scan", "--prefix", "p/", "--keys-only"});
  EXPECT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 1500);
  EXPECT_EQ(all.out.substr(all.out.size() - 7), "p/1499\n");
  Outcome some = RunKvCli(fake, {"scan", "--from", "p/0998", "--to", "q", "--limit", "3"});
  EXPECT_EQ(some.out, "p/0998\tv\np/0999\tv\np/1000\tv\n");
  Outcome json = RunKvCli(fake, {"scan", "--from", "q", "--json"});
  EXPECT_EQ(json.out.rfind("{\"key\":\"q\",\"value\":\"v\",", 0), 0u) << json.out;
  EXPECT_EQ(RunKvCli(fake, {"scan", "--prefix", "p", "--from", "a"}).code, 2);
}

TEST(ReplogKvCliTest, StatusListsEveryMember) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(3);
  fake.Stop(2);
  Outcome o = RunKvCli(fake, {"status"});
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_NE(o.out.find(fake.address(2) + "  unreachable: UNAVAILABLE"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("*\n"), std::string::npos) << o.out;
}

TEST(ReplogKvCliTest, ErrorsNameTheCommand) {
  FakeKvCluster fake(3);
  Outcome o = RunKvCli(fake, {"put", "", "v"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.err.rfind("replog kv put: INVALID_ARGUMENT: put to 127.0.0.1:", 0), 0u) << o.err;
}

}  // namespace
}  // namespace replog::cli
