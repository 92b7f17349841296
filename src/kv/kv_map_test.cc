#include "kv/kv_map.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace kv {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> Keys(const KvRange& r) {
  std::vector<std::string> out;
  for (const auto& [k, v] : r.items) out.push_back(k);
  return out;
}

TEST(KvMapTest, PutKeepsRevisionsAndVersionsDeleteForgetsThem) {
  KvMap m;
  EXPECT_EQ(m.Get("a"), nullptr);
  EXPECT_FALSE(m.Put("a", "1", 5).has_value());
  EXPECT_EQ(*m.Get("a"), (KvValue{"1", 5, 5, 1}));
  std::optional<KvValue> before = m.Put("a", "22", 9);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(*before, (KvValue{"1", 5, 5, 1}));
  EXPECT_EQ(*m.Get("a"), (KvValue{"22", 5, 9, 2}));
  EXPECT_EQ(m.bytes(), 3u);
  EXPECT_EQ(m.Delete("a")->value, "22");
  EXPECT_FALSE(m.Delete("a").has_value());
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.bytes(), 0u);
  // Created again: a new life, its revisions start over.
  m.Put("a", "3", 12);
  EXPECT_EQ(*m.Get("a"), (KvValue{"3", 12, 12, 1}));
}

TEST(KvMapTest, CompareOnValueOrOnRevisionZeroMeaningAbsent) {
  KvMap m;
  const KvCompare absent{.kind = KvCompare::Kind::kModRevision, .mod_revision = 0};
  EXPECT_TRUE(m.Matches("k", absent));
  EXPECT_FALSE(m.Matches("k", KvCompare{.kind = KvCompare::Kind::kValue, .value = ""}));
  m.Put("k", "", 4);
  EXPECT_FALSE(m.Matches("k", absent));
  EXPECT_TRUE(m.Matches("k", KvCompare{.kind = KvCompare::Kind::kValue, .value = ""}));
  EXPECT_TRUE(m.Matches("k", KvCompare{.kind = KvCompare::Kind::kModRevision, .mod_revision = 4}));
  EXPECT_FALSE(m.Matches("k", KvCompare{.kind = KvCompare::Kind::kModRevision, .mod_revision = 3}));
  EXPECT_FALSE(m.Matches("k", KvCompare{.kind = KvCompare::Kind::kValue, .value = "x"}));
}

TEST(KvMapTest, RangesAreHalfOpenOrderedAndLimited) {
  KvMap m;
  uint64_t rev = 1;
  for (const char* k : {"a", "b/1", "b/2", "b/3", "c", "b"}) m.Put(k, "v", rev++);
  EXPECT_THAT(Keys(m.Range("", "", 0)), ::testing::ElementsAre("a", "b", "b/1", "b/2", "b/3", "c"));
  EXPECT_THAT(Keys(m.Range("b/", KvMap::PrefixEnd("b/"), 0)), ::testing::ElementsAre("b/1", "b/2", "b/3"));
  KvRange cut = m.Range("b/", KvMap::PrefixEnd("b/"), 2);
  EXPECT_THAT(Keys(cut), ::testing::ElementsAre("b/1", "b/2"));
  EXPECT_TRUE(cut.more);
  EXPECT_FALSE(m.Range("b/", KvMap::PrefixEnd("b/"), 3).more);
  EXPECT_THAT(Keys(m.Range("b/2", "c", 0)), ::testing::ElementsAre("b/2", "b/3"));
  EXPECT_TRUE(m.Range("d", "", 0).items.empty());
}

TEST(KvMapTest, PrefixEndIsTheLeastKeyPastThePrefix) {
  EXPECT_EQ(KvMap::PrefixEnd("ab"), "ac");
  EXPECT_EQ(KvMap::PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(KvMap::PrefixEnd(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(KvMap::PrefixEnd(""), "");
}

TEST(KvMapTest, EncodingRoundTripsAndEqualMapsHashEqually) {
  KvMap a, b;
  std::mt19937_64 rng(7);
  for (uint64_t rev = 1; rev <= 2000; ++rev) {
    const std::string key = "k" + std::to_string(rng() % 300);
    if (rng() % 4 == 0) {
      a.Delete(key);
    } else {
      a.Put(key, std::string(rng() % 50, 'v'), rev);
    }
  }
  std::string bytes;
  a.EncodeTo(&bytes);
  bytes += "tail";
  std::string_view in = bytes;
  ASSERT_TRUE(b.DecodeFrom(&in).ok());
  EXPECT_EQ(in, "tail");
  EXPECT_EQ(b.size(), a.size());
  EXPECT_EQ(b.bytes(), a.bytes());
  EXPECT_EQ(b.Hash(), a.Hash());
  EXPECT_EQ(b.Range("", "", 0).items, a.Range("", "", 0).items);
  b.Put("k1", "other", 5000);
  EXPECT_NE(b.Hash(), a.Hash());
}

TEST(KvMapTest, DecodeRefusesDamageAndKeepsTheMap) {
  KvMap a;
  a.Put("a", "1", 3);
  a.Put("b", "2", 4);
  std::string good;
  a.EncodeTo(&good);

  KvMap m;
  m.Put("keep", "me", 1);
  auto decode = [&](std::string bytes) {
    std::string_view in = bytes;
    return m.DecodeFrom(&in);
  };
  // Cut anywhere: an error, never a shorter map.
  for (size_t n = 0; n < good.size(); ++n) {
    common::Status s = decode(good.substr(0, n));
    EXPECT_EQ(s.code(), common::Code::kDataLoss) << "cut at " << n;
  }
  std::string swapped = good;  // keys "a" and "b" exchanged: out of order
  swapped[12] = 'b';
  swapped[12 + 1 + 4 + 1 + 24 + 4] = 'a';
  EXPECT_THAT(decode(swapped).message(), HasSubstr("out of order"));
  std::string bad_revision = good;  // key #0's create revision past its mod revision
  bad_revision[8 + 4 + 1 + 4 + 1] = 9;
  EXPECT_THAT(decode(bad_revision).message(), HasSubstr("key #0 of 2: impossible revisions"));
  std::string huge = good;  // a count that cannot fit
  huge[7] = 1;
  EXPECT_THAT(decode(huge).message(), HasSubstr("cannot fit"));
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.Get("keep")->value, "me");
}

}  // namespace
}  // namespace kv
