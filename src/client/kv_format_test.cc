#include "client/kv_format.h"

#include <gtest/gtest.h>

namespace replog::cli {
namespace {

KeyValue Kv(std::string key, std::string value, uint64_t mod = 3) {
  return KeyValue{std::move(key), std::move(value), 1, mod, 2};
}

TEST(KvFormatTest, KeyValueJsonWithBase64ForBytesThatAreNotUtf8) {
  EXPECT_EQ(FormatKeyValueJson(Kv("k", "v")),
            "{\"key\":\"k\",\"value\":\"v\",\"create_revision\":1,\"mod_revision\":3,\"version\":2}");
  EXPECT_EQ(FormatKeyValueJson(Kv("k", "\xff")),
            "{\"key\":\"k\",\"value\":\"/w==\",\"value_encoding\":\"base64\",\"create_revision\":1,"
            "\"mod_revision\":3,\"version\":2}");
  EXPECT_EQ(FormatKeyValueJson(Kv("k", "v"), /*keys_only=*/true),
            "{\"key\":\"k\",\"create_revision\":1,\"mod_revision\":3,\"version\":2}");
}

TEST(KvFormatTest, PutAndDelete) {
  EXPECT_EQ(FormatPutHuman(PutResult{.revision = 12}), "revision 12");
  EXPECT_EQ(FormatPutJson(PutResult{.revision = 12}), "{\"revision\":12,\"previous\":null}");
  DeleteResult d{.revision = 13, .deleted = true, .previous = Kv("k", "v")};
  EXPECT_EQ(FormatDeleteHuman(d), "deleted, revision 13");
  EXPECT_EQ(FormatDeleteJson(d).rfind("{\"revision\":13,\"deleted\":true,\"previous\":{\"key\":\"k\"", 0), 0u);
  EXPECT_EQ(FormatDeleteHuman(DeleteResult{.revision = 14}), "not found, revision 14");
}

TEST(KvFormatTest, CasSaysWhatItFound) {
  EXPECT_EQ(FormatCasHuman(CasResult{.revision = 5, .succeeded = true}), "swapped, revision 5");
  EXPECT_EQ(FormatCasHuman(CasResult{.revision = 6, .current = Kv("k", "a\tb", 4)}),
            "not swapped, revision 6; current: a\\tb (mod_revision 4)");
  EXPECT_EQ(FormatCasHuman(CasResult{.revision = 7}), "not swapped, revision 7; current: absent");
  EXPECT_EQ(FormatCasJson(CasResult{.revision = 7}), "{\"revision\":7,\"succeeded\":false,\"current\":null}");
}

TEST(KvFormatTest, GetPrintsTheValueAloneOrJson) {
  GetResult found{.found = true, .kv = Kv("k", "line\nbreak"), .revision = 9};
  EXPECT_EQ(FormatGetHuman(found), "line\\nbreak");
  EXPECT_EQ(FormatGetJson(found).rfind("{\"found\":true,\"kv\":{\"key\":\"k\"", 0), 0u);
  EXPECT_EQ(FormatGetJson(GetResult{.revision = 9}), "{\"found\":false,\"revision\":9}");
}

TEST(KvFormatTest, ScanLines) {
  EXPECT_EQ(FormatScanHuman(Kv("a/1", "x"), false), "a/1\tx");
  EXPECT_EQ(FormatScanHuman(Kv("a/1", ""), true), "a/1");
}

TEST(KvFormatTest, StatusTableMarksTheLeaderAndUnreachableMembers) {
  KvMemberStatus s1{.member_id = 1, .leader_id = 2, .term = 4, .applied_index = 17, .commit_index = 17, .keys = 3,
                    .hash = 0xabc};
  KvMemberStatus s2 = s1;
  s2.member_id = 2;
  std::vector<KvStatusRow> rows = {{"h:1", s1, ""}, {"h:2", s2, ""}, {"h:3", std::nullopt, "UNAVAILABLE: down"}};
  EXPECT_EQ(FormatKvStatusTable(rows),
            "ID  ADDRESS  TERM  APPLIED  COMMIT  KEYS  HASH              LEADER\n"
            "1   h:1      4     17       17      3     0000000000000abc\n"
            "2   h:2      4     17       17      3     0000000000000abc  *\n"
            "-   h:3      unreachable: UNAVAILABLE: down\n");
  const std::string json = FormatKvStatusJson(rows);
  EXPECT_EQ(json.rfind("{\"members\":[{\"address\":\"h:1\",\"reachable\":true,\"member_id\":1,\"leader_id\":2,", 0), 0u)
      << json;
  EXPECT_NE(json.find("{\"address\":\"h:3\",\"reachable\":false,\"error\":\"UNAVAILABLE: down\"}"), std::string::npos);
}

TEST(KvFormatTest, PrefixEnd) {
  EXPECT_EQ(PrefixEnd("a/"), "a0");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd("\xff\xff"), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

}  // namespace
}  // namespace replog::cli
