#pragma once

// Snapshot files: one Raft snapshot (its metadata and the state machine's
// bytes) per file in a group's `snapshots/` directory. The bytes are in
// docs/formats/raft-snapshot.md; the constants below are shared by the
// writer and the reader. Change both together.
//
// Naming: "<20 digits>.snap", the digits being the snapshot's index,
// zero-padded so that names sort by index. A file is written as
// "<20 digits>.snap.tmp", synced, renamed to its final name, and the
// directory synced: a file under a final name is always complete. A ".tmp"
// file is never a snapshot (a crash cut it short): ListSnapshotFiles deletes
// it. A damaged final file is corruption (kDataLoss), not a torn write.
//
// Threads: these are free functions without state; callers serialize
// writes to one directory (DurableStorage does).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "raft/core/types.h"

namespace raft::snapshot_file {

inline constexpr uint64_t kMagic = 0x31504e53474c5052ull;  // ASCII "RPLGSNP1", little-endian
inline constexpr uint32_t kVersion = 1;
inline constexpr uint64_t kHeaderSize = 48;
// Header fields: [0, 8) magic, [8, 12) version, [12, 16) conf length,
// [16, 24) index, [24, 32) term, [32, 40) data length, [40, 48) checksum.
inline constexpr uint64_t kChecksumOffset = 40;
// No real configuration comes near this; a larger length is damage.
inline constexpr uint32_t kMaxConfBytes = 1u << 20;

// "<20 digits>.snap".
std::string FileName(uint64_t index);
// True (and the index) for a final name "<20 digits>.snap", strictly.
bool ParseFileName(std::string_view name, uint64_t* index);

// The ConfState encoding stored in a snapshot file: four lists (voters,
// learners, voters_outgoing, learners_next), each a u32 count and u64 ids,
// then auto_leave as one byte.
std::string EncodeConfState(const ConfState& cs);
// kDataLoss unless `data` is exactly one well-formed encoding.
Result<ConfState> DecodeConfState(std::string_view data);

// The whole file for `meta` and `data` (header, conf state, data). The data
// is copied: for large snapshots Write() avoids that.
std::string Encode(const SnapshotMeta& meta, std::string_view data);
// Parses and verifies a whole file's bytes. `path` only names the file in
// errors. kDataLoss for anything but a complete file written by Encode()
// (wrong magic, lengths that disagree with the size, bad checksum, a conf
// state that does not decode, an index other than `expected_index`);
// kFailedPrecondition for an intact file of another format version.
Result<Snapshot> Decode(std::string_view bytes, uint64_t expected_index, const std::string& path);

// Writes the snapshot to `dir`/FileName(meta.index) durably: temp name,
// fdatasync, rename, SyncDir(dir). Replaces a file of the same name. Errors
// are the Fs's ("fdatasync <dir>/...snap.tmp: ..."); after one the final
// name holds either the old file or the new one, and a temp file may be left
// for ListSnapshotFiles to delete.
Status Write(common::Fs& fs, const std::string& dir, const SnapshotMeta& meta, std::string_view data);

// Reads and verifies `dir`/FileName(index) (errors as Decode, kNotFound if
// it is missing, I/O errors naming the file).
Result<Snapshot> Read(common::Fs& fs, const std::string& dir, uint64_t index);

// The indexes of the final snapshot files in `dir`, ascending. Deletes the
// ".tmp" files it meets (not durably: one that reappears after a crash is
// deleted again) and counts them in *temps_removed if given. Other names
// are ignored.
Result<std::vector<uint64_t>> ListSnapshotFiles(common::Fs& fs, const std::string& dir,
                                                uint64_t* temps_removed = nullptr);

}  // namespace raft::snapshot_file
