#include "logservice/log_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "logservice/record_codec.h"

namespace logservice {
namespace {

using ::testing::HasSubstr;

TEST(LogCommandTest, RetainRoundTripsAndIsNeverARecord) {
  const LogCommand cmd{.kind = LogCommandKind::kRetain, .purge_to = 0x0102030405060708};
  const std::string bytes = EncodeLogCommand(cmd);
  EXPECT_TRUE(IsLogCommand(bytes));
  auto back = DecodeLogCommand(9, bytes);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(*back, cmd);

  // Records never start with 0x00, with or without a stamp.
  replog::v1::Record r;
  EXPECT_FALSE(IsLogCommand(EncodeRecord(r, 1)));
  EXPECT_FALSE(IsLogCommand(EncodeRecord(r, 1, ProducerStamp{1, 0})));
  EXPECT_FALSE(IsLogCommand(""));
}

TEST(LogCommandTest, MalformedCommandsAreDataLossNamingTheOffset) {
  std::string unknown = EncodeLogCommand({});
  unknown[1] = 9;
  auto a = DecodeLogCommand(42, unknown);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code(), common::Code::kDataLoss);
  EXPECT_THAT(a.error().message(), HasSubstr("offset 42"));
  EXPECT_THAT(a.error().message(), HasSubstr("unknown kind 9"));

  std::string shorter = EncodeLogCommand({});
  shorter.pop_back();
  EXPECT_EQ(DecodeLogCommand(1, shorter).error().code(), common::Code::kDataLoss);
  EXPECT_EQ(DecodeLogCommand(1, std::string(1, '\0')).error().code(), common::Code::kDataLoss);
}

}  // namespace
}  // namespace logservice
