#pragma once

// Configuration of a segmented log. Every knob has a default that suits a
// production node; tests shrink segments to exercise rolls.

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "metrics/registry.h"

namespace storage {

struct Options {
  // Size of a segment's .log file. A segment is sealed and the next one
  // started before a record would cross this size. Records larger than a
  // segment get a segment of their own, sized to fit.
  uint64_t segment_bytes = 64ull << 20;

  // Most entries one segment holds; bounds its .index file
  // (64 + 8 * max_segment_entries bytes, sparse).
  uint64_t max_segment_entries = 1u << 20;

  // Create the next segment ahead of time on a background thread and fill it
  // with zeros, so that steady-state fdatasync overwrites existing blocks
  // (about twice the syncs per second on ext4; STORAGE-NOTES §8.1, WAL-4).
  // Off: segments are created on the write path and grow as written.
  bool preallocate = true;

  // Keep the .log files of purged segments (up to two) and start new
  // segments in them instead of in new or zero-filled files: their blocks are
  // already written, so syncs overwrite, and nothing is written twice. Stale
  // bytes past a recycled segment's end never verify: record checksums are
  // salted per segment (docs/formats/segmented-log.md). The files are .tmp
  // files, removed at Open.
  bool recycle_segments = true;

  // Memory for recent entries kept for replication and tailing readers:
  // payloads plus about 64 bytes per entry of bookkeeping. Entries not yet
  // written to the file are kept regardless.
  uint64_t cache_bytes = 64ull << 20;

  // Unsynced appends are written to the file (without fdatasync) once this
  // many bytes are queued.
  uint64_t flush_bytes = 1ull << 20;

  // Once this many written bytes of the tail segment are not yet synced,
  // they are handed to the kernel's writeback (sync_file_range), so that the
  // disk works while more is written and the next fdatasync (a Sync(), a
  // segment's seal) has less left to do. Rounds are written in pieces of at
  // most this size. 0: never.
  uint64_t writeback_bytes = 8ull << 20;

  // Entry payloads of at least this many bytes are not copied into the
  // write buffer: the write round writes them from the cache's copy, in a
  // write call of their own. Smaller ones are copied, because that extra call
  // costs more than the copy. The bytes on disk are the same either way.
  uint64_t shared_payload_bytes = 64ull << 10;

  // Append blocks while this many bytes wait to be written (back-pressure).
  uint64_t max_pending_bytes = 256ull << 20;

  // fdatasync calls that may be in flight at once. Sync() callers write and
  // sync rounds themselves (no thread hand-off); with more than one, while
  // one caller's sync runs the next caller writes the next round and starts
  // its own (a sync started after a round was written makes it durable).
  // That pays on devices that serve flushes in parallel when the CPU is not
  // the limit; on this 2-core machine 64 appenders are CPU-bound and 1 gave
  // the same records/s with the best p99 (docs/storage.md).
  uint32_t max_concurrent_syncs = 1;

  // Metrics (docs/metrics.md): replog_storage_fsync_seconds{group=
  // metrics_group}, the time of each fdatasync of a write round, is created
  // in `metrics` and timed with `metrics_clock` (required with it). Both
  // must outlive the log. nullptr: none.
  metrics::Registry* metrics = nullptr;
  common::Clock* metrics_clock = nullptr;
  std::string metrics_group;
};

}  // namespace storage
