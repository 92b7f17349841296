#include "common/checksum.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

#include <xxhash.h>

namespace common {
namespace {

// Records on disk carry these values: they must never change.
TEST(ChecksumTest, MatchesXxh3GoldenValues) {
  EXPECT_EQ(Checksum64(""), 0x2D06800538D394C2u);
  EXPECT_EQ(Checksum64("hello"), 0x9555E8555C62DCFDu);
}

TEST(ChecksumTest, SeededMatchesXxh3GoldenValues) {
  EXPECT_EQ(Checksum64Seeded("", 0, 0), Checksum64(""));
  EXPECT_EQ(Checksum64Seeded("hello", 5, 0), Checksum64("hello"));
  EXPECT_EQ(Checksum64Seeded("hello", 5, 0x0102030405060708u), 0x245447E174C58AD9u);
}

// Long inputs go through a per-thread secret derived from the seed: the
// values stay XXH3's seeded ones, whichever seed came before.
TEST(ChecksumTest, SeededLongInputsMatchXxh3WhateverSeedCameBefore) {
  std::string data(70000, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 131 + 7);
  const uint64_t seeds[] = {0x118'0000'0001u, 0x118'0000'0001u, 0x9999u, 0, 0x118'0000'0001u};
  for (size_t n : {size_t{239}, size_t{240}, size_t{241}, size_t{280}, size_t{1000}, size_t{70000}}) {
    for (uint64_t seed : seeds) {
      EXPECT_EQ(Checksum64Seeded(data.data(), n, seed), XXH3_64bits_withSeed(data.data(), n, seed))
          << n << " " << seed;
    }
  }
  // Another thread, its own secret: same values.
  uint64_t other = 0;
  std::thread([&] { other = Checksum64Seeded(data.data(), 280, 0x9999u); }).join();
  EXPECT_EQ(other, XXH3_64bits_withSeed(data.data(), 280, 0x9999u));
}

TEST(ChecksumTest, EverySeedBitMatters) {
  const std::string data(300, 'x');
  const uint64_t base = Checksum64Seeded(data.data(), data.size(), 0x1234);
  for (int bit = 0; bit < 64; bit++) {
    EXPECT_NE(Checksum64Seeded(data.data(), data.size(), 0x1234 ^ (uint64_t{1} << bit)), base) << "bit " << bit;
  }
}

// The copying form gives the one-pass value of head + data, for sizes around
// its piece size, and leaves the copy appended to what was there.
TEST(ChecksumTest, CopyAndChecksumMatchesOnePassAndCopies) {
  const std::string head = "0123456789abcdefghijklmn";
  for (size_t n : {size_t{0}, size_t{1}, size_t{240}, size_t{32 << 10}, size_t{(32 << 10) + 7}, size_t{1 << 20}}) {
    std::string data(n, '\0');
    for (size_t i = 0; i < n; i++) data[i] = static_cast<char>(i * 131 + 7);
    std::string copy = "prefix";
    const uint64_t got = CopyAndChecksum64Seeded(head, data.data(), n, 0x77, &copy);
    const std::string whole = head + data;
    EXPECT_EQ(got, Checksum64Seeded(whole.data(), whole.size(), 0x77)) << n;
    EXPECT_EQ(copy, "prefix" + data) << n;
  }
}

TEST(ChecksumTest, DetectsAFlippedBit) {
  std::string data(64, 'a');
  uint64_t before = Checksum64(data);
  data[40] ^= 0x04;
  EXPECT_NE(Checksum64(data), before);
}

}  // namespace
}  // namespace common
