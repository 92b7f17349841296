#include "common/checksum.h"

#include <gtest/gtest.h>

#include <string>

namespace common {
namespace {

// Records on disk carry these values: they must never change.
TEST(ChecksumTest, MatchesXxh3GoldenValues) {
  EXPECT_EQ(Checksum64(""), 0x2D06800538D394C2u);
  EXPECT_EQ(Checksum64("hello"), 0x9555E8555C62DCFDu);
}

TEST(ChecksumTest, TwoPiecesEqualOneBuffer) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  for (size_t split : {size_t{0}, size_t{1}, size_t{17}, size_t{500}, data.size()}) {
    EXPECT_EQ(Checksum64(data.data(), split, data.data() + split, data.size() - split), Checksum64(data))
        << "split " << split;
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
