#include "storage/record.h"

#include <gtest/gtest.h>

#include "common/checksum.h"
#include "common/coding.h"
#include "storage/record_format.h"

namespace storage {
namespace {

namespace f = format;

TEST(RecordTest, EntryRoundTrip) {
  std::string buf;
  LogEntry e{42, 7, EntryKind::kConfChange, "hello"};
  AppendEntryRecord(&buf, e);
  EXPECT_EQ(buf.size(), f::RecordSize(f::kEntryHeaderSize + 5));
  EXPECT_EQ(buf.size() % 8, 0u);
  RecordView rec;
  ASSERT_EQ(DecodeRecord(buf, &rec), DecodeResult::kOk);
  EXPECT_EQ(rec.type, RecordType::kEntry);
  EXPECT_EQ(rec.size, buf.size());
  auto got = DecodeEntry(rec.body);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, e);
}

// The head and the payload, put together as the writer does, are the bytes
// of AppendEntryRecord: one format whichever way a record was queued.
TEST(RecordTest, EntryRecordHeadPlusPayloadIsTheWholeRecord) {
  for (size_t n : {size_t{0}, size_t{5}, size_t{8}, size_t{100000}}) {
    LogEntry e{42, 7, EntryKind::kNormal, std::string(n, 'p')};
    for (size_t i = 0; i < n; i++) e.payload[i] = static_cast<char>(i * 31);
    std::string whole;
    AppendEntryRecord(&whole, e);
    std::string head = "x";  // appended to, like the pending buffer
    std::string payload = "y";
    AppendEntryRecordHead(&head, e, &payload);
    EXPECT_EQ(payload, "y" + e.payload);
    const size_t at = f::kEntryPayloadOff;
    ASSERT_EQ(head.size() - 1 + n, whole.size()) << n;
    EXPECT_EQ(head.substr(1, at) + e.payload + head.substr(1 + at), whole) << n;
  }
}

TEST(RecordTest, EveryOtherTypeRoundTrips) {
  std::string buf;
  HardState hs{3, 2, 9};
  Checkpoint cp{5, 10, 20, 4, hs};
  AppendRecord(&buf, RecordType::kHardState, EncodeHardState(hs));
  AppendRecord(&buf, RecordType::kCheckpoint, EncodeCheckpoint(cp));
  AppendRecord(&buf, RecordType::kTruncateAfter, EncodeU64(77));
  AppendRecord(&buf, RecordType::kPurgeUpTo, EncodeU64Pair(8, 2));
  AppendRecord(&buf, RecordType::kBatchEnd, EncodeBatchEnd(32, 16, 4));
  std::string_view v = buf;
  RecordView rec;
  ASSERT_EQ(DecodeRecord(v, &rec), DecodeResult::kOk);
  EXPECT_EQ(*DecodeHardState(rec.body), hs);
  v.remove_prefix(rec.size);
  ASSERT_EQ(DecodeRecord(v, &rec), DecodeResult::kOk);
  EXPECT_EQ(*DecodeCheckpoint(rec.body), cp);
  v.remove_prefix(rec.size);
  ASSERT_EQ(DecodeRecord(v, &rec), DecodeResult::kOk);
  EXPECT_EQ(*DecodeU64(rec.body), 77u);
  v.remove_prefix(rec.size);
  ASSERT_EQ(DecodeRecord(v, &rec), DecodeResult::kOk);
  EXPECT_EQ(DecodeU64Pair(rec.body)->second, 2u);
  v.remove_prefix(rec.size);
  ASSERT_EQ(DecodeRecord(v, &rec), DecodeResult::kOk);
  auto be = DecodeBatchEnd(rec.body);
  EXPECT_EQ(be->batch_start, 32u);
  EXPECT_EQ(be->synced, 16u);
  EXPECT_EQ(be->count, 4u);
  v.remove_prefix(rec.size);
  EXPECT_TRUE(v.empty());
}

TEST(RecordTest, EveryFlippedByteIsDetected) {
  std::string good;
  AppendEntryRecord(&good, LogEntry{1, 1, EntryKind::kNormal, "payload bytes"});
  size_t body_end = f::kRecordHeaderSize + f::kEntryHeaderSize + 13;
  for (size_t i = 0; i < body_end; i++) {
    std::string bad = good;
    bad[i] ^= 0x01;
    RecordView rec;
    DecodeResult r = DecodeRecord(bad, &rec);
    EXPECT_NE(r, DecodeResult::kOk) << "flip at byte " << i;
  }
}

TEST(RecordTest, ZeroHeaderIsEndOfData) {
  std::string zeros(64, '\0');
  RecordView rec;
  EXPECT_EQ(DecodeRecord(zeros, &rec), DecodeResult::kZero);
}

TEST(RecordTest, ShortBufferIsTruncated) {
  std::string buf;
  AppendEntryRecord(&buf, LogEntry{1, 1, EntryKind::kNormal, std::string(100, 'x')});
  RecordView rec;
  EXPECT_EQ(DecodeRecord(std::string_view(buf).substr(0, 50), &rec), DecodeResult::kTruncated);
  EXPECT_EQ(DecodeRecord(std::string_view(buf).substr(0, 10), &rec), DecodeResult::kTruncated);
}

TEST(RecordTest, OversizedLengthIsRejectedWithoutReading) {
  std::string buf;
  AppendRecord(&buf, RecordType::kHardState, EncodeHardState({}));
  buf[f::kRecordLengthOff + 3] = 0x7f;  // length ~2 GiB
  RecordView rec;
  EXPECT_EQ(DecodeRecord(buf, &rec), DecodeResult::kBadLength);
}

TEST(RecordTest, LogHeaderRoundTripAndDamage) {
  std::string h = EncodeLogHeader(123);
  EXPECT_EQ(DecodeLogHeader(h)->first_index, 123u);
  EXPECT_EQ(DecodeLogHeader(h)->salt, LogHeaderSalt(123));
  EXPECT_FALSE(DecodeLogHeader(h)->recycled());
  EXPECT_TRUE(DecodeLogHeader(EncodeLogHeader(123, f::kLogFlagRecycled))->recycled());
  h[17] ^= 1;
  EXPECT_EQ(DecodeLogHeader(h).error().code(), common::Code::kDataLoss);
}

// A file of another format version (version 1 checksummed records
// differently) is refused as unsupported, never read as damage.
TEST(RecordTest, LogHeaderOfAnotherVersionIsUnsupported) {
  std::string h = EncodeLogHeader(1);
  common::EncodeFixed32(h.data() + f::kLogHeaderVersionOff, 1);
  common::EncodeFixed64(h.data() + f::kLogHeaderChecksumOff, common::Checksum64(h.data(), f::kLogHeaderChecksumOff));
  auto r = DecodeLogHeader(h);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), common::Code::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("unsupported log format version 1"), std::string::npos) << r.error().ToString();
}

TEST(RecordTest, SegmentNamesSortAndParse) {
  EXPECT_EQ(SegmentLogName(42), "00000000000000000042.log");
  EXPECT_LT(SegmentLogName(9), SegmentLogName(10));
  uint64_t first = 0;
  bool is_index = false;
  ASSERT_TRUE(ParseSegmentName("00000000000000000042.index", &first, &is_index));
  EXPECT_EQ(first, 42u);
  EXPECT_TRUE(is_index);
  EXPECT_FALSE(ParseSegmentName("0000000000000000042.log", &first, &is_index));
  EXPECT_FALSE(ParseSegmentName("0000000000000000004x.log", &first, &is_index));
  EXPECT_FALSE(ParseSegmentName("LOCK", &first, &is_index));
}

}  // namespace
}  // namespace storage
