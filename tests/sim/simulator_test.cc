#include "sim/simulator.h"

#include <gtest/gtest.h>

namespace sim {
namespace {

SimOptions Short(uint64_t seed, int nodes) {
  SimOptions o;
  o.seed = seed;
  o.nodes = nodes;
  o.fault_ms = 2000;
  o.heal_ms = 2000;
  return o;
}

TEST(SimulatorTest, SameSeedReplaysTheSameTrace) {
  for (int nodes : {3, 5}) {
    SimResult a = RunSimulation(Short(7, nodes));
    SimResult b = RunSimulation(Short(7, nodes));
    ASSERT_TRUE(a.ok) << a.failure;
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.ops_ok, b.ops_ok);
  }
}

TEST(SimulatorTest, DifferentSeedsTakeDifferentPaths) {
  EXPECT_NE(RunSimulation(Short(1, 3)).trace_hash, RunSimulation(Short(2, 3)).trace_hash);
}

TEST(SimulatorTest, ClientsGetWorkDoneUnderFaults) {
  // Over a few seeds, clients finish operations and the cluster commits:
  // a simulator whose workload never reached Raft would pass vacuously.
  uint64_t ops = 0, committed = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SimResult r = RunSimulation(Short(seed, 3));
    ASSERT_TRUE(r.ok) << "seed " << seed << ": " << r.failure;
    ops += r.ops_ok;
    committed += r.committed;
  }
  EXPECT_GT(ops, 100u);
  EXPECT_GT(committed, 100u);
}

}  // namespace
}  // namespace sim
