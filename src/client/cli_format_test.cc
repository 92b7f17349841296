#include "client/cli_format.h"

#include <gtest/gtest.h>

#include <sstream>

namespace replog::cli {
namespace {

TEST(CliFormatTest, SplitAddressesTrimsAndDropsEmpties) {
  EXPECT_EQ(SplitAddresses("a:1, b:2,,c:3 "), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  EXPECT_TRUE(SplitAddresses("").empty());
  EXPECT_EQ(SplitAddresses("x:9"), std::vector<std::string>{"x:9"});
}

TEST(CliFormatTest, ParseHeaderSplitsAtTheFirstEquals) {
  auto h = ParseHeader("content-type=a=b");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->key, "content-type");
  EXPECT_EQ(h->value, "a=b");
  auto empty = ParseHeader("k=");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->value, "");
  EXPECT_EQ(ParseHeader("novalue").status().code(), common::Code::kInvalidArgument);
  EXPECT_EQ(ParseHeader("=v").status().code(), common::Code::kInvalidArgument);
}

TEST(CliFormatTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // overlong NUL
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // stray continuation
}

TEST(CliFormatTest, Base64OfRfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64(std::string("\xff\x00", 2)), "/wA=");
}

TEST(CliFormatTest, JsonBytesMemberEscapesTextAndEncodesBinary) {
  EXPECT_EQ(JsonBytesMember("value", "a\"b\\c\n\x01"), R"("value":"a\"b\\c\n\u0001")");
  EXPECT_EQ(JsonBytesMember("value", "\xff"), R"("value":"/w==","value_encoding":"base64")");
}

TEST(CliFormatTest, HumanBytesKeepsOneRecordOnOneLine) {
  EXPECT_EQ(HumanBytes("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(HumanBytes("a\tb\nc\\d"), "a\\tb\\nc\\\\d");
  EXPECT_EQ(HumanBytes(std::string("\x00\xff\x7f", 3)), "\\x00\\xff\\x7f");
}

TEST(CliFormatTest, RecordFormats) {
  Record r{.offset = 42, .key = "k", .value = "v\t1", .headers = {{"h", "x"}}, .timestamp_ms = 1700};
  EXPECT_EQ(FormatRecordHuman(r), "42\tk\tv\\t1\th=x");
  EXPECT_EQ(FormatRecordJson(r),
            R"({"offset":42,"key":"k","value":"v\t1","headers":[{"key":"h","value":"x"}],"timestamp_ms":1700})");
  EXPECT_EQ(FormatOffsetHuman(42), "offset 42");
  EXPECT_EQ(FormatOffsetJson(42), R"({"offset":42})");
}

TEST(CliFormatTest, ServersTableAndJson) {
  ClusterView v;
  v.leader_id = 2;
  v.term = 5;
  v.servers = {{1, "127.0.0.1:7001", "follower", false}, {2, "127.0.0.1:7002", "leader", true}};
  EXPECT_EQ(FormatServersTable(v),
            "ID    ADDRESS         ROLE       LEADER\n"
            "1     127.0.0.1:7001  follower\n"
            "2     127.0.0.1:7002  leader     *\n");
  EXPECT_EQ(FormatServersJson(v),
            R"({"leader_id":2,"term":5,"servers":[{"id":1,"address":"127.0.0.1:7001","role":"follower",)"
            R"("is_leader":false},{"id":2,"address":"127.0.0.1:7002","role":"leader","is_leader":true}]})");
}

TEST(CliFormatTest, ReadLineBatchStopsAtCountOrBytes) {
  std::istringstream in("a\nbb\nccc\ndddd\ne");
  std::vector<std::string> lines;
  ASSERT_TRUE(ReadLineBatch(in, 2, 1 << 20, &lines));
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "bb"}));
  ASSERT_TRUE(ReadLineBatch(in, 100, 4, &lines));  // "ccc" (3 B) then "dddd" reaches 4
  EXPECT_EQ(lines, (std::vector<std::string>{"ccc", "dddd"}));
  ASSERT_TRUE(ReadLineBatch(in, 100, 100, &lines));
  EXPECT_EQ(lines, std::vector<std::string>{"e"});
  EXPECT_FALSE(ReadLineBatch(in, 100, 100, &lines));
  EXPECT_TRUE(lines.empty());
}

}  // namespace
}  // namespace replog::cli
