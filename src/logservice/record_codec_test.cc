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

TEST(RecordCodecTest, ValidateChecksTheProducerFields) {
  RecordLimits limits;
  replog::v1::ProduceRequest req;
  *req.add_records() = MakeRecord("a");
  *req.add_records() = MakeRecord("b");
  req.set_sequence(3);
  EXPECT_THAT(ValidateProduce(req, limits).message(), HasSubstr("without a producer id"));
  req.set_producer_id(9);
  EXPECT_TRUE(ValidateProduce(req, limits).ok());
  req.set_sequence(UINT64_MAX - 1);
  EXPECT_THAT(ValidateProduce(req, limits).message(), HasSubstr("reaches 2^64"));
  req.set_sequence(UINT64_MAX - 2);
  EXPECT_TRUE(ValidateProduce(req, limits).ok());
}

TEST(RecordCodecTest, TheStampComesFirstAndReadsBackAsRecordFields) {
  replog::v1::Record r = MakeRecord("v");
  r.set_key("k");
  r.set_timestamp_ms(5);
  for (const ProducerStamp stamp : {ProducerStamp{1, 0}, ProducerStamp{UINT64_MAX, UINT64_MAX},
                                    ProducerStamp{0x1234567890, 300}}) {
    const std::string payload = EncodeRecord(r, 1, stamp);
    EXPECT_EQ(payload[0], '\x30');
    EXPECT_EQ(ParseProducerStamp(payload), stamp);
    replog::v1::Record out;
    ASSERT_TRUE(DecodeRecord(8, payload, &out).ok());
    EXPECT_EQ(out.producer_id(), stamp.producer);
    EXPECT_EQ(out.sequence(), stamp.sequence);
    EXPECT_EQ(out.value(), "v");
    EXPECT_EQ(out.key(), "k");
    EXPECT_EQ(out.offset(), 8u);
  }
}

TEST(RecordCodecTest, ARecordWithoutStampHasNone) {
  replog::v1::Record r = MakeRecord("v");
  // A producer cannot forge a stamp through the record's own fields.
  r.set_producer_id(7);
  r.set_sequence(1);
  const std::string payload = EncodeRecord(r, 1);
  EXPECT_EQ(ParseProducerStamp(payload), std::nullopt);
  replog::v1::Record out;
  ASSERT_TRUE(DecodeRecord(1, payload, &out).ok());
  EXPECT_EQ(out.producer_id(), 0u);
  // With a stamp, the record's own fields are ignored too.
  ASSERT_TRUE(DecodeRecord(1, EncodeRecord(r, 1, ProducerStamp{9, 4}), &out).ok());
  EXPECT_EQ(out.producer_id(), 9u);
  EXPECT_EQ(out.sequence(), 4u);
  // Every other first byte, and truncated stamps, are no stamp.
  EXPECT_EQ(ParseProducerStamp(""), std::nullopt);
  EXPECT_EQ(ParseProducerStamp(EncodeRecord(replog::v1::Record(), 1)), std::nullopt);
  const std::string stamped = EncodeRecord(MakeRecord(""), 1, ProducerStamp{300, 300});
  for (size_t n = 0; n < 6; ++n) EXPECT_EQ(ParseProducerStamp(stamped.substr(0, n)), std::nullopt) << n;
  EXPECT_EQ(ParseProducerStamp(stamped.substr(0, 6)), (ProducerStamp{300, 300}));
}

TEST(RecordCodecTest, StampBytesAreAsDocumented) {
  // docs/formats/log-record.md: producer 300, sequence 5, value "v", timestamp 1.
  const std::string payload = EncodeRecord(MakeRecord("v"), 1, ProducerStamp{300, 5});
  EXPECT_EQ(payload, std::string("\x30\xac\x02\x38\x05\x1a\x01v\x28\x01", 10));
}

}  // namespace
}  // namespace logservice
