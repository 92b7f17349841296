#include "logservice/log_reader.h"

#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "logservice/record_codec.h"
#include "testing/mem_fs.h"

namespace logservice {
namespace {

using ::testing::HasSubstr;
using storage::EntryKind;
using storage::LogEntry;

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = storage::SegmentedLog::Open(fs_, "/log");
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    log_ = std::move(*log);
  }
  // Appends a record with `value` (kNormal) or a control entry.
  void Add(EntryKind kind, const std::string& value = "") {
    replog::v1::Record r;
    r.set_value(value);
    const uint64_t index = log_->last_index() + 1;
    LogEntry e{index, 1, kind, kind == EntryKind::kNormal ? EncodeRecord(r, 1) : ""};
    ASSERT_TRUE(log_->Append(std::span<const LogEntry>(&e, 1)).ok());
  }

  replog_testing::MemFs fs_;
  std::unique_ptr<storage::SegmentedLog> log_;
};

TEST_F(LogReaderTest, SkipsControlEntriesAndKeepsOffsets) {
  Add(EntryKind::kNoop);
  Add(EntryKind::kNormal, "a");
  Add(EntryKind::kConfChange);
  Add(EntryKind::kNormal, "b");
  replog::v1::ConsumeResponse resp;
  auto n = ReadRecords(*log_, 1, ReadRange{1, 5}, ReadLimits{}, {}, &resp);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  ASSERT_EQ(*n, 2u);
  EXPECT_EQ(resp.records(0).offset(), 2u);
  EXPECT_EQ(resp.records(0).value(), "a");
  EXPECT_EQ(resp.records(1).offset(), 4u);
  EXPECT_EQ(resp.next_offset(), 5u);
}

TEST_F(LogReaderTest, StopsAtTheCommittedEnd) {
  for (int i = 0; i < 5; ++i) Add(EntryKind::kNormal, "x");
  replog::v1::ConsumeResponse resp;
  auto n = ReadRecords(*log_, 2, ReadRange{1, 4}, ReadLimits{}, {}, &resp);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 2u);  // offsets 2 and 3: 4 and 5 are not committed
  EXPECT_EQ(resp.next_offset(), 4u);
}

TEST_F(LogReaderTest, RespectsRecordAndByteLimitsButReturnsOne) {
  for (int i = 0; i < 10; ++i) Add(EntryKind::kNormal, std::string(100, 'x'));
  replog::v1::ConsumeResponse resp;
  auto n = ReadRecords(*log_, 1, ReadRange{1, 11}, ReadLimits{.max_records = 3, .max_bytes = 1 << 20}, {}, &resp);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(resp.next_offset(), 4u);
  resp.Clear();
  n = ReadRecords(*log_, 1, ReadRange{1, 11}, ReadLimits{.max_records = 100, .max_bytes = 10}, {}, &resp);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(resp.next_offset(), 2u);
}

TEST_F(LogReaderTest, OnlyControlEntriesAdvanceTheOffset) {
  for (int i = 0; i < 3; ++i) Add(EntryKind::kNoop);
  replog::v1::ConsumeResponse resp;
  auto n = ReadRecords(*log_, 1, ReadRange{1, 4}, ReadLimits{}, {}, &resp);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(resp.next_offset(), 4u);
}

TEST_F(LogReaderTest, ResolveFromChecksTheRange) {
  EXPECT_EQ(*ResolveFrom(0, ReadRange{5, 9}), 5u);
  EXPECT_EQ(*ResolveFrom(9, ReadRange{5, 9}), 9u);  // the next offset: wait for it
  auto below = ResolveFrom(3, ReadRange{5, 9});
  ASSERT_FALSE(below.has_value());
  EXPECT_EQ(below.error().code(), common::Code::kOutOfRange);
  EXPECT_THAT(below.error().message(), HasSubstr("below the first retained offset 5"));
  EXPECT_THAT(below.error().message(), HasSubstr("5 to 8"));
  auto past = ResolveFrom(10, ReadRange{5, 9});
  ASSERT_FALSE(past.has_value());
  EXPECT_THAT(past.error().message(), HasSubstr("past the end"));
}

TEST_F(LogReaderTest, SkipsEntriesTheStateMachineDidNotStore) {
  for (int i = 0; i < 6; ++i) Add(EntryKind::kNormal, "r" + std::to_string(i + 1));
  const std::vector<uint64_t> skipped{2, 3, 6};
  replog::v1::ConsumeResponse resp;
  auto n = ReadRecords(*log_, 1, ReadRange{1, 7}, ReadLimits{}, skipped, &resp);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  ASSERT_EQ(*n, 3u);
  EXPECT_EQ(resp.records(0).value(), "r1");
  EXPECT_EQ(resp.records(1).value(), "r4");
  EXPECT_EQ(resp.records(1).offset(), 4u);
  EXPECT_EQ(resp.records(2).value(), "r5");
  EXPECT_EQ(resp.next_offset(), 7u);  // the skipped entry at the end counts as read
  // Starting on a skipped entry, one record at a time.
  resp.Clear();
  n = ReadRecords(*log_, 2, ReadRange{1, 7}, ReadLimits{.max_records = 1, .max_bytes = 1 << 20}, skipped, &resp);
  ASSERT_TRUE(n.has_value());
  ASSERT_EQ(*n, 1u);
  EXPECT_EQ(resp.records(0).offset(), 4u);
  EXPECT_EQ(resp.next_offset(), 5u);
  // Only skipped entries left: nothing, and past them.
  resp.Clear();
  n = ReadRecords(*log_, 6, ReadRange{1, 7}, ReadLimits{}, skipped, &resp);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(resp.next_offset(), 7u);
}

}  // namespace
}  // namespace logservice
