#include "logservice/record_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace logservice {
namespace {

using ::testing::HasSubstr;

replog::v1::Record MakeRecord(std::string value) {
  replog::v1::Record r;
  r.set_value(std::move(value));
  return r;
}

TEST(RecordCodecTest, RoundTripKeepsFieldsAndSetsOffset) {
  replog::v1::Record r = MakeRecord("v");
  r.set_key("k");
  auto* h = r.add_headers();
  h->set_key("h");
  h->set_value("x");
  r.set_timestamp_ms(77);
  r.set_offset(999);  // ignored on produce
  const std::string payload = EncodeRecord(r, 5);
  replog::v1::Record out;
  ASSERT_TRUE(DecodeRecord(42, payload, &out).ok());
  EXPECT_EQ(out.offset(), 42u);
  EXPECT_EQ(out.key(), "k");
  EXPECT_EQ(out.value(), "v");
  ASSERT_EQ(out.headers_size(), 1);
  EXPECT_EQ(out.headers(0).value(), "x");
  EXPECT_EQ(out.timestamp_ms(), 77);
}

TEST(RecordCodecTest, MissingTimestampTakesNow) {
  replog::v1::Record out;
  ASSERT_TRUE(DecodeRecord(1, EncodeRecord(MakeRecord("v"), 1234), &out).ok());
  EXPECT_EQ(out.timestamp_ms(), 1234);
}

TEST(RecordCodecTest, GarbageIsDataLossNamingTheOffset) {
  replog::v1::Record out;
  common::Status s = DecodeRecord(17, std::string("\xff\xff\xff", 3), &out);
  EXPECT_EQ(s.code(), common::Code::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("17"));
}

TEST(RecordCodecTest, ValidateRefusesEmptyAndOversized) {
  RecordLimits limits{.max_record_bytes = 10, .max_request_bytes = 15, .max_request_records = 3};
  replog::v1::ProduceRequest req;
  EXPECT_EQ(ValidateProduce(req, limits).code(), common::Code::kInvalidArgument);
  *req.add_records() = MakeRecord("12345678");
  EXPECT_TRUE(ValidateProduce(req, limits).ok());
  *req.add_records() = MakeRecord("12345678");
  EXPECT_THAT(ValidateProduce(req, limits).message(), HasSubstr("request has 16 record bytes"));
  req.clear_records();
  *req.add_records() = MakeRecord("12345678901");
  EXPECT_THAT(ValidateProduce(req, limits).message(), HasSubstr("record 0 has 11 bytes"));
  req.clear_records();
  for (int i = 0; i < 4; ++i) *req.add_records() = MakeRecord("1");
  EXPECT_THAT(ValidateProduce(req, limits).message(), HasSubstr("4 records"));
}

}  // namespace
}  // namespace logservice
