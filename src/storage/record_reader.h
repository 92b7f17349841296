#pragma once

// RecordReader: reads the records of a .log file front to back through a
// window of at least 1 MiB, so that scanning a segment costs one read per MiB
// rather than one per record. Used by the recovery scan and by the dump.
//
// Record positions are 8-byte aligned (record_format.h).
//
// Threads: one reader serves one thread. The file must outlive the reader.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/fs.h"
#include "common/status.h"
#include "storage/record.h"
#include "storage/types.h"

namespace storage {

class RecordReader {
 public:
  // Bytes read at a time (more when a single record is larger).
  static constexpr size_t kChunkBytes = 1 << 20;

  // `salt`: the salt of the file's records (LogHeader::salt).
  explicit RecordReader(common::File& file, uint64_t salt = 0) : file_(file), salt_(salt) {}

  // Up to `n` bytes at `pos`, fewer only at the end of the file. The view is
  // valid until the next call. I/O errors of the file.
  Result<std::string_view> Get(uint64_t pos, size_t n);

  // Decodes the whole record at `pos`. On kOk, `rec` points into the window
  // and is valid until the next call. I/O errors of the file.
  Result<DecodeResult> Decode(uint64_t pos, RecordView* rec);

  // The first aligned 8-byte word at or after `pos` that holds a non-zero
  // byte; nullopt when only zeros follow up to the end of the file.
  Result<std::optional<uint64_t>> NextNonZero(uint64_t pos);

  // The first aligned position after `from`, and before `limit`, where a
  // whole valid record decodes (zero runs are skipped); nullopt when there is
  // none.
  Result<std::optional<uint64_t>> FindNextRecord(uint64_t from, uint64_t limit = UINT64_MAX);

  // Bytes read from the file so far.
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  common::File& file_;
  const uint64_t salt_;
  std::string buf_;  // bytes [off_, off_ + buf_.size()) of the file
  uint64_t off_ = 0;
  bool eof_ = false;  // buf_ ends at the end of the file
  uint64_t bytes_read_ = 0;
};

}  // namespace storage
