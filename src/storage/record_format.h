#pragma once

// The on-disk format of a segmented log: the constants that the writer, the
// recovery scan and replog-dump share. docs/formats/segmented-log.md is the
// prose; change both together.
//
// All integers are little-endian. Every record starts at an 8-byte aligned
// position and occupies kRecordHeaderSize + RoundUp8(body length) bytes.

#include <cstddef>
#include <cstdint>

namespace storage::format {

// ---- Segment log file: "<20-digit first index>.log" ----
// [0, 32): file header. Then records, then zeros up to the preallocated size,
// or (a recycled file) stale bytes of older segments, which never verify here:
// every record checksum is salted with this file's header checksum.
inline constexpr uint64_t kLogMagic = 0x31474f4c474c5052ULL;  // "RPLGLOG1"
// 3: record checksums are salted with the log header checksum, and the header
// has flags (2: unsalted records; 1: two-piece streaming XXH3).
inline constexpr uint32_t kFormatVersion = 3;
inline constexpr size_t kLogHeaderSize = 32;
// Log header layout.
inline constexpr size_t kLogHeaderMagicOff = 0;       // u64 kLogMagic
inline constexpr size_t kLogHeaderVersionOff = 8;     // u32 kFormatVersion
inline constexpr size_t kLogHeaderFlagsOff = 12;      // u32 kLogFlag* bits
inline constexpr size_t kLogHeaderFirstIndexOff = 16; // u64 first index (matches the name)
inline constexpr size_t kLogHeaderChecksumOff = 24;   // u64 XXH3-64 of bytes [0, 24): also the records' salt
// The file held an older segment (recycled): past the end of data lie stale
// bytes, not zeros. Recovery then looks past the end for records that verify
// with this file's salt instead of for non-zero bytes.
inline constexpr uint32_t kLogFlagRecycled = 1;

// ---- Record header (16 bytes) ----
// [0, 8)   u64 checksum: XXH3-64 of the body seeded with header bytes [8, 16) as a u64,
//          XOR the segment's salt (its log header checksum), so that a record
//          of one segment never verifies in another (recycled files)
// [8, 12)  u32 body length (unpadded), at most kMaxRecordBody
// [12]     u8  type (RecordType, never 0)
// [13, 16) zero
// A header of 16 zero bytes marks the end of written data (preallocated space).
inline constexpr size_t kRecordHeaderSize = 16;
inline constexpr size_t kRecordChecksumOff = 0;
inline constexpr size_t kRecordLengthOff = 8;
inline constexpr size_t kRecordTypeOff = 12;
inline constexpr uint32_t kMaxRecordBody = 64u << 20;

enum class RecordType : uint8_t {
  kEntry = 1,         // u64 index | u64 term | u32 kind | u32 0 | payload
  kHardState = 2,     // u64 term | u64 vote | u64 commit
  kTruncateAfter = 3, // u64 index: entries above it are removed
  kPurgeUpTo = 4,     // u64 index | u64 term of that index: entries up to it are removed
  kCheckpoint = 5,    // first record of every segment; see kCheckpoint* below
  kBatchEnd = 6,      // ends every write round; see kBatchEnd* below
  kSeal = 7,          // u64 last index | u64 entry count: the segment is complete
};
inline constexpr uint8_t kMaxRecordType = 7;

inline constexpr size_t kEntryHeaderSize = 24;  // index, term, kind, pad
// Where an entry record's payload starts, from the record's first byte.
inline constexpr size_t kEntryPayloadOff = kRecordHeaderSize + kEntryHeaderSize;
inline constexpr size_t kHardStateSize = 24;
inline constexpr size_t kTruncateAfterSize = 8;
inline constexpr size_t kPurgeUpToSize = 16;
inline constexpr size_t kSealSize = 16;

// Checkpoint body: the whole log state at the start of the segment.
inline constexpr size_t kCheckpointSeqOff = 0;         // u64 segment sequence number (grows by 1 per segment)
inline constexpr size_t kCheckpointFirstIndexOff = 8;  // u64 first live index of the log
inline constexpr size_t kCheckpointLastIndexOff = 16;  // u64 last index of the log (this segment's entries follow it)
inline constexpr size_t kCheckpointPurgeTermOff = 24;  // u64 term of entry first_index - 1 (0 if none)
inline constexpr size_t kCheckpointTermOff = 32;       // u64 hard state: term
inline constexpr size_t kCheckpointVoteOff = 40;       // u64 hard state: vote
inline constexpr size_t kCheckpointCommitOff = 48;     // u64 hard state: commit
inline constexpr size_t kCheckpointSize = 56;

// BatchEnd body. A write round is the records written by one pwrite, ended by
// a BatchEnd. Recovery keeps only whole rounds.
inline constexpr size_t kBatchEndBatchStartOff = 0;    // u64 position of the round's first record
inline constexpr size_t kBatchEndSyncedOff = 8;        // u64 bytes of this file known durable before the round
inline constexpr size_t kBatchEndCountOff = 16;        // u32 records in the round (BatchEnd excluded)
inline constexpr size_t kBatchEndGenerationOff = 20;   // u32 generation: grows at every open of the log; never
                                                       // smaller than the previous round's in a segment
inline constexpr size_t kBatchEndSize = 24;

// ---- Segment index file: "<20-digit first index>.index" ----
// [0, 64): header; then one 8-byte slot per index from the segment's first
// index: u32 position of the entry record in .log, u32 its size in bytes
// (header + padded body). A zero slot is empty. Derived data: rebuilt from the
// .log for the last segment on open; trusted for sealed segments.
inline constexpr uint64_t kIndexMagic = 0x31584449474c5052ULL;  // "RPLGIDX1"
inline constexpr size_t kIndexHeaderSize = 64;
inline constexpr size_t kIndexMagicOff = 0;       // u64 kIndexMagic
inline constexpr size_t kIndexVersionOff = 8;     // u32 kFormatVersion
inline constexpr size_t kIndexFlagsOff = 12;      // u32 kIndexFlagSealed when the fields below are valid
inline constexpr size_t kIndexFirstIndexOff = 16; // u64 segment first index
inline constexpr size_t kIndexLastIndexOff = 24;  // u64 last index held (first - 1 when none)
inline constexpr size_t kIndexLogEndOff = 32;     // u64 end of records in .log
inline constexpr size_t kIndexSeqOff = 40;        // u64 segment sequence number
inline constexpr size_t kIndexChecksumOff = 56;   // u64 XXH3-64 of bytes [0, 56)
inline constexpr uint32_t kIndexFlagSealed = 1;
inline constexpr size_t kIndexSlotSize = 8;

inline constexpr size_t RoundUp8(size_t n) { return (n + 7) & ~size_t{7}; }
inline constexpr size_t RecordSize(size_t body) { return kRecordHeaderSize + RoundUp8(body); }

}  // namespace storage::format
