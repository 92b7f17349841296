#include "kv/kv_command.h"

#include <gtest/gtest.h>

#include <vector>

namespace kv {
namespace {

using common::Result;
using common::Status;

std::vector<KvCommand> SampleCommands() {
  KvCommand put{.op = KvOp::kPut, .client_id = 7, .sequence = 3, .key = "a", .value = std::string("v\0x", 3)};
  KvCommand del{.op = KvOp::kDelete, .key = "b"};
  KvCommand cas_value{.op = KvOp::kCas, .key = "c", .value = "new",
                      .compare = {.kind = KvCompare::Kind::kValue, .value = "old"}};
  KvCommand cas_delete{.op = KvOp::kCas, .client_id = 1, .key = "d", .cas_delete = true,
                       .compare = {.kind = KvCompare::Kind::kModRevision, .mod_revision = 42}};
  return {put, del, cas_value, cas_delete};
}

TEST(KvCommandTest, RoundTripsEveryKind) {
  for (const KvCommand& c : SampleCommands()) {
    Result<KvCommand> back = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(back.has_value()) << back.error().ToString();
    EXPECT_EQ(*back, c);
  }
}

TEST(KvCommandTest, TruncatedOrExtendedBytesAreDataLoss) {
  for (const KvCommand& c : SampleCommands()) {
    const std::string e = EncodeCommand(c);
    for (size_t n = 0; n < e.size(); ++n) {
      EXPECT_EQ(DecodeCommand(e.substr(0, n)).error().code(), common::Code::kDataLoss) << n;
    }
    EXPECT_EQ(DecodeCommand(e + "x").error().code(), common::Code::kDataLoss);
  }
  std::string bad_version = EncodeCommand(SampleCommands()[0]);
  bad_version[0] = 9;
  EXPECT_EQ(DecodeCommand(bad_version).error().code(), common::Code::kDataLoss);
}

TEST(KvCommandTest, ValidateNamesTheFlaw) {
  KvLimits limits{.max_key_bytes = 4, .max_value_bytes = 8};
  EXPECT_TRUE(ValidateCommand(KvCommand{.key = "k", .value = "v"}, limits).ok());
  Status empty = ValidateCommand(KvCommand{.key = ""}, limits);
  EXPECT_EQ(empty.code(), common::Code::kInvalidArgument);
  EXPECT_NE(empty.message().find("empty"), std::string::npos);
  EXPECT_NE(ValidateCommand(KvCommand{.key = "12345"}, limits).message().find("at most 4"), std::string::npos);
  EXPECT_NE(ValidateCommand(KvCommand{.key = "k", .value = "123456789"}, limits).message().find("at most 8"),
            std::string::npos);
  EXPECT_EQ(ValidateCommand(KvCommand{.sequence = 1, .key = "k"}, limits).code(), common::Code::kInvalidArgument);
  EXPECT_EQ(ValidateCommand(KvCommand{.op = static_cast<KvOp>(9), .key = "k"}, limits).code(),
            common::Code::kInvalidArgument);
}

TEST(KvCommandTest, ResultsRoundTrip) {
  std::vector<KvResult> results = {
      KvResult{.code = KvResultCode::kOk, .revision = 5},
      KvResult{.code = KvResultCode::kCompareFailed, .revision = 6,
               .previous = KvValue{.value = "x", .create_revision = 2, .mod_revision = 4, .version = 3}},
      KvResult{.code = KvResultCode::kOutOfOrder, .revision = 7, .expected_sequence = 12},
  };
  for (const KvResult& r : results) {
    Result<KvResult> back = DecodeResult(EncodeResult(r));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, r);
    const std::string e = EncodeResult(r);
    EXPECT_FALSE(DecodeResult(e.substr(0, e.size() - 1)).has_value());
  }
}

}  // namespace
}  // namespace kv
