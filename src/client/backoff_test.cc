#include "client/backoff.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace replog {
namespace {

std::vector<int64_t> Delays(uint64_t seed, int n) {
  Backoff b(100'000'000, 1'000'000'000, seed);
  std::vector<int64_t> out;
  for (int i = 0; i < n; i++) out.push_back(b.NextNs());
  return out;
}

TEST(BackoffTest, DelaysAreHalfToAllOfAValueThatDoublesUpToTheMax) {
  for (uint64_t seed = 0; seed < 50; seed++) {
    Backoff b(100'000'000, 1'000'000'000, seed);
    int64_t current = 100'000'000;
    for (int i = 0; i < 8; i++) {
      const int64_t d = b.NextNs();
      EXPECT_GE(d, current / 2) << "seed " << seed << " delay " << i;
      EXPECT_LE(d, current) << "seed " << seed << " delay " << i;
      current = std::min<int64_t>(current * 2, 1'000'000'000);
    }
  }
}

TEST(BackoffTest, TheSameSeedGivesTheSameDelaysAndOthersSpreadThem) {
  EXPECT_EQ(Delays(7, 10), Delays(7, 10));
  std::set<int64_t> firsts;
  for (uint64_t seed = 0; seed < 100; seed++) firsts.insert(Delays(seed, 1)[0]);
  EXPECT_GT(firsts.size(), 90u);  // jitter: clients that failed together do not retry together
}

TEST(BackoffTest, TinyAndInvertedBoundsStillGiveDelays) {
  Backoff zero(0, 0, 1);  // taken as 1 ns: delays of 0 or 1 ns, never negative
  for (int i = 0; i < 5; i++) {
    const int64_t d = zero.NextNs();
    EXPECT_GE(d, 0);
    EXPECT_LE(d, 1);
  }
  Backoff inverted(1'000, 10, 1);  // max below initial: stays at initial
  for (int i = 0; i < 5; i++) {
    const int64_t d = inverted.NextNs();
    EXPECT_GE(d, 500);
    EXPECT_LE(d, 1'000);
  }
}

}  // namespace
}  // namespace replog
