// replog-sim: runs deterministic simulations of Raft clusters, one per seed.
//
//   replog-sim --first-seed A --count N [--nodes 3|5] [--liveness]
//   replog-sim --seed N --trace
//   replog-sim --first-seed A --duration-s S     (as many seeds as S seconds allow)
//
// Exits non-zero on the first failing seed and prints the command that
// replays it; the last line says how many seeds passed.

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "sim/simulator.h"

namespace {

std::string ReplayCommand(const sim::SimOptions& o) {
  std::string cmd = "replog-sim --seed " + std::to_string(o.seed) + " --nodes " + std::to_string(o.nodes);
  if (o.liveness) cmd += " --liveness";
  if (o.memory_disk) cmd += " --memory-disk";
  cmd += " --fault-ms " + std::to_string(o.fault_ms) + " --heal-ms " + std::to_string(o.heal_ms) + " --trace";
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"replog-sim: deterministic simulation of replog's Raft"};
  sim::SimOptions base;
  uint64_t seed = 0, first_seed = 1, count = 1;
  double duration_s = 0;
  bool quiet = false;
  auto* seed_opt = app.add_option("--seed", seed, "run this one seed");
  app.add_option("--first-seed", first_seed, "first seed of a range");
  app.add_option("--count", count, "number of seeds in the range");
  app.add_option("--duration-s", duration_s, "run seeds from --first-seed until this many seconds passed");
  app.add_option("--nodes", base.nodes, "members: 3 or 5")->check(CLI::Range(3, 5));
  app.add_flag("--liveness", base.liveness, "keep a healthy majority, break the rest for good, require progress");
  app.add_flag("--trace", base.trace, "print every event");
  app.add_flag("--memory-disk", base.memory_disk, "MemoryStorage instead of the storage engine on a crashable MemFs");
  app.add_option("--fault-ms", base.fault_ms, "virtual milliseconds with faults")->check(CLI::Range(1, 10'000'000));
  app.add_option("--heal-ms", base.heal_ms, "virtual milliseconds after healing")->check(CLI::Range(1, 10'000'000));
  app.add_option("--clients", base.clients, "concurrent clients")->check(CLI::Range(1, 64));
  app.add_option("--keys", base.keys, "keys the clients use")->check(CLI::Range(1, 1000));
  app.add_flag("--quiet", quiet, "print only failures and the summary");
  CLI11_PARSE(app, argc, argv);

  if (base.nodes != 3 && base.nodes != 5) {
    std::fprintf(stderr, "--nodes must be 3 or 5 (got %d)\n", base.nodes);
    return 2;
  }
  if (*seed_opt) {
    first_seed = seed;
    count = 1;
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t passed = 0;
  for (uint64_t s = first_seed;; ++s) {
    if (duration_s > 0) {
      double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (elapsed >= duration_s) break;
    } else if (s - first_seed >= count) {
      break;
    }
    sim::SimOptions o = base;
    o.seed = s;
    sim::SimResult r = sim::RunSimulation(o);
    if (!r.ok) {
      std::printf("seed %" PRIu64 " FAILED: %s\n  knobs: %s\n  replay: %s\n", s, r.failure.c_str(), r.knobs.c_str(),
                  ReplayCommand(o).c_str());
      std::printf("%" PRIu64 " seeds passed before seed %" PRIu64 " failed\n", passed, s);
      return 1;
    }
    ++passed;
    if (!quiet || *seed_opt) {
      std::printf("seed %" PRIu64 " ok: events %" PRIu64 " ops %" PRIu64 " (+%" PRIu64 " unknown) committed %" PRIu64
                  " leaders %" PRIu64 " trace %016" PRIx64 "\n",
                  s, r.events, r.ops_ok, r.ops_unknown, r.committed, r.elections, r.trace_hash);
    }
  }
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%" PRIu64 " seeds passed (%d nodes%s) in %.1f s\n", passed, base.nodes,
              base.liveness ? ", liveness" : "", elapsed);
  return 0;
}
