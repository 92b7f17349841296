// Tests of the read path (src/storage/segmented_log_read.cc): ForEachEntry
// hands out the same entries as Entries, within the same budget, with one
// pread per run of a segment, and never a view of a damaged record.

#include <set>

#include "common/coding.h"
#include "rules_fixture.h"

namespace storage_testing {
namespace {

using common::Code;
using storage::EntryView;
using storage::SegmentedLog;
using storage::Visit;

class ReadTest : public RulesTest {
 protected:
  // ForEachEntry(lo, hi, max_bytes) as owned copies, and the count it returned.
  static std::pair<std::vector<LogEntry>, common::Result<uint64_t>> Visited(const SegmentedLog& log, uint64_t lo,
                                                                           uint64_t hi, uint64_t max_bytes) {
    std::vector<LogEntry> seen;
    auto n = log.ForEachEntry(lo, hi, max_bytes, [&](const EntryView& e) {
      seen.push_back(e.ToEntry());
      return Visit::kContinue;
    });
    return {std::move(seen), std::move(n)};
  }

  // Position and size of the record of entry `index` in the .log of segment `first`.
  RecordPos EntryRecord(uint64_t first, uint64_t index) {
    std::string bytes = *mem_.ReadFileForTest(LogPath(first));
    for (const RecordPos& r : ParseRecords(bytes)) {
      if (r.type == f::RecordType::kEntry &&
          common::DecodeFixed64(bytes.data() + r.start + f::kRecordHeaderSize) == index) {
        return r;
      }
    }
    ADD_FAILURE() << "no record of entry " << index;
    return {};
  }

  void FlipByte(const std::string& path, uint64_t pos) {
    std::string bytes = *mem_.ReadFileForTest(path);
    bytes[pos] = static_cast<char>(bytes[pos] ^ 0x40);
    ASSERT_TRUE(mem_.WriteFileForTest(path, bytes).ok());
  }
};

TEST_F(ReadTest, ForEachEntryVisitsWhatEntriesReturns) {
  opts_.cache_bytes = 4096;  // the newest entries are served from the cache
  std::vector<LogEntry> all = Fill(500, 37, 90);
  ASSERT_GE(Segments().size(), 3u);
  auto log = OpenLog();
  std::vector<LogEntry> more = MakeEntries(501, 20, 2, 70);  // unsynced: cached
  ASSERT_TRUE(log->Append(more).ok());
  all.insert(all.end(), more.begin(), more.end());

  for (uint64_t lo : {1u, 2u, 99u, 250u, 480u, 505u}) {
    for (uint64_t budget : {uint64_t{0}, uint64_t{95}, uint64_t{1000}, uint64_t{4096}, kAll}) {
      auto want = log->Entries(lo, 521, budget);
      ASSERT_TRUE(want.has_value()) << want.error().ToString() << " lo " << lo << " budget " << budget;
      auto [seen, n] = Visited(*log, lo, 521, budget);
      ASSERT_TRUE(n.has_value()) << n.error().ToString();
      EXPECT_EQ(*n, want->size()) << "lo " << lo << " budget " << budget;
      EXPECT_TRUE(seen == *want) << "lo " << lo << " budget " << budget;
      EXPECT_TRUE(std::equal(seen.begin(), seen.end(), all.begin() + static_cast<ptrdiff_t>(lo - 1)));
    }
  }
}

TEST_F(ReadTest, ForEachEntryKeepsTheByteBudgetExactly) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(MakeEntries(1, 20, 1, 100)).ok());  // 100 B payloads: padded records
  ASSERT_TRUE(log->Sync().ok());
  auto [three, n3] = Visited(*log, 1, 21, 350);
  EXPECT_EQ(*n3, 3u);
  auto [four, n4] = Visited(*log, 1, 21, 400);
  EXPECT_EQ(*n4, 4u);
  auto [one, n1] = Visited(*log, 1, 21, 10);
  EXPECT_EQ(*n1, 1u) << "the first entry is visited whatever the budget";
}

TEST_F(ReadTest, ForEachEntryStopsWhenTheVisitorSaysSo) {
  Fill(200, 50, 60);
  auto log = OpenLog();
  uint64_t calls = 0;
  auto n = log->ForEachEntry(10, 201, kAll, [&](const EntryView& e) {
    calls++;
    return e.index == 14 ? Visit::kStop : Visit::kContinue;
  });
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(*n, 5u);
  EXPECT_EQ(calls, 5u);
}

TEST_F(ReadTest, ForEachEntryReadsARunOfASegmentWithOnePread) {
  opts_.segment_bytes = 64 << 10;
  Fill(1200, 100, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  CountingFs fs(mem_);
  auto log = OpenLog(fs);
  fs.counts().Clear();
  auto [seen, n] = Visited(*log, segs[1] - 50, segs[1] + 50, kAll);
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(fs.counts().TotalCalls(), 2u) << "one pread per segment touched";
}

TEST_F(ReadTest, ForEachEntryOutsideTheLogIsOutOfRangeAndVisitsNothing) {
  Fill(50, 50, 40);
  auto log = OpenLog();
  ASSERT_TRUE(log->PurgeUpTo(9, 1).ok());
  for (auto [lo, hi] : {std::pair<uint64_t, uint64_t>{5, 20}, {10, 52}, {51, 52}}) {
    auto [seen, n] = Visited(*log, lo, hi, kAll);
    ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error().code(), Code::kOutOfRange) << n.error().ToString();
    EXPECT_TRUE(seen.empty());
  }
}

TEST_F(ReadTest, VisitorMayCallTheLog) {
  Fill(100, 25, 50);
  auto log = OpenLog();
  uint64_t terms = 0;
  auto n = log->ForEachEntry(1, 101, kAll, [&](const EntryView& e) {
    auto t = log->Term(e.index);  // takes the log's mutex: must not be held here
    terms += t.has_value() && *t == e.term;
    return Visit::kContinue;
  });
  ASSERT_TRUE(n.has_value()) << n.error().ToString();
  EXPECT_EQ(terms, 100u);
}

// Every byte of an entry record of a sealed segment, header and payload,
// flipped in turn: the read fails with kDataLoss naming the file and the
// record's position; the visitor has seen exactly the entries before it and
// never the damaged one.
TEST_F(ReadTest, FlippedByteOfASealedSegmentIsDataLossThroughForEachEntry) {
  std::vector<LogEntry> all = Fill(600, 40, 30);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 2u);
  const uint64_t damaged = 7;
  const RecordPos rec = EntryRecord(segs[0], damaged);
  const std::string clean = *mem_.ReadFileForTest(LogPath(segs[0]));
  for (uint64_t pos = rec.start; pos < rec.body_end; pos++) {
    ASSERT_TRUE(mem_.WriteFileForTest(LogPath(segs[0]), clean).ok());
    FlipByte(LogPath(segs[0]), pos);
    auto log = OpenLog();
    auto [seen, n] = Visited(*log, 1, 601, kAll);
    ASSERT_FALSE(n.has_value()) << "byte " << pos - rec.start << " of the record flipped, read went through";
    EXPECT_EQ(n.error().code(), Code::kDataLoss);
    EXPECT_NE(n.error().message().find(LogPath(segs[0]) + " at " + std::to_string(rec.start)), std::string::npos)
        << n.error().ToString();
    ASSERT_EQ(seen.size(), damaged - 1) << "byte " << pos - rec.start;
    EXPECT_TRUE(std::equal(seen.begin(), seen.end(), all.begin()));
    // The same through Entries() and Entry().
    EXPECT_EQ(log->Entries(1, 601, kAll).error().code(), Code::kDataLoss);
    EXPECT_EQ(log->Entry(damaged).error().code(), Code::kDataLoss);
    EXPECT_TRUE(log->Entry(damaged + 1).has_value());
  }
}

// A slot of a sealed index pointing far past the end of the file is
// kDataLoss, and the entries around it are read without a read of the span
// between.
TEST_F(ReadTest, SlotPointingPastTheFileIsDataLossWithoutAHugeRead) {
  Fill(600, 40, 30);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 2u);
  std::string index = *mem_.ReadFileForTest(IndexPath(segs[0]));
  const size_t slot5 = f::kIndexHeaderSize + 4 * f::kIndexSlotSize;
  common::EncodeFixed32(index.data() + slot5, 0xFFFFF000u);
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(segs[0]), index).ok());
  CountingFs fs(mem_);
  auto log = OpenLog(fs);
  fs.counts().Clear();
  auto [seen, n] = Visited(*log, 1, 10, kAll);
  ASSERT_FALSE(n.has_value());
  EXPECT_EQ(n.error().code(), Code::kDataLoss);
  EXPECT_NE(n.error().message().find("past the end of the file"), std::string::npos) << n.error().ToString();
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_LT(fs.counts().Bytes(LogPath(segs[0])), 64u << 10);
}

}  // namespace
}  // namespace storage_testing
