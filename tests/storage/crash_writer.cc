// storage_crash_writer DIR [SEED]: the writer process of the kill -9 test
// (kill_test.cc). Opens a SegmentedLog in DIR on the real file system (small
// preallocated segments, so that rolls and purges happen often) and loops
// forever: appends a batch of entries, syncs, and after every successful
// Sync writes the durable last index to stdout as one flushed line. Every
// entry has term 1 and a payload derived from its index (crash_writer.h), so
// a reader can check any entry on its own. Now and then it purges old
// entries, so that segment deletion is killed too.
//
// Exits 1 with a message on stderr when the log fails; dies with its parent.

#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crash_writer.h"
#include "storage/segmented_log.h"

namespace {

using storage_testing::CrashWriterOptions;
using storage_testing::CrashWriterPayload;

int Fail(const char* what, const common::Status& s) {
  std::fprintf(stderr, "storage_crash_writer: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Never outlive the test that started us.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (argc < 2) {
    std::fprintf(stderr, "usage: storage_crash_writer DIR [SEED]\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::mt19937_64 rng(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);

  common::PosixFs fs;
  auto log = storage::SegmentedLog::Open(fs, dir, CrashWriterOptions());
  if (!log.has_value()) return Fail("open", log.error());

  uint64_t batches = 0;
  while (true) {
    uint64_t next = (*log)->last_index() + 1;
    std::vector<storage::LogEntry> batch;
    for (uint64_t i = 0, n = 1 + rng() % 24; i < n; i++) {
      batch.push_back(storage::LogEntry{next + i, 1, storage::EntryKind::kNormal, CrashWriterPayload(next + i)});
    }
    if (common::Status s = (*log)->Append(batch); !s.ok()) return Fail("append", s);
    if (++batches % 50 == 0 && next > 3000) {
      if (common::Status s = (*log)->PurgeUpTo(next - 2000, 1); !s.ok()) return Fail("purge", s);
    }
    if (common::Status s = (*log)->Sync(); !s.ok()) return Fail("sync", s);
    std::printf("%llu\n", static_cast<unsigned long long>((*log)->durable_index()));
    std::fflush(stdout);
  }
}
