#include "metrics/exposition_parse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "metrics/registry.h"

namespace metrics {
namespace {

using ::testing::HasSubstr;

TEST(ExpositionParseTest, ReadsBackWhatTheRegistryExposes) {
  Registry r;
  r.AddCounter("replog_p_total", "P\\ things\nsecond line.", {{"path", "a\\b \"c\"\nd"}}).Inc(5);
  Histogram& h = r.AddHistogram("replog_h_seconds", "H.", {0.1, 1}, {{"group", "log"}});
  h.Observe(0.5);
  h.Observe(2);
  common::Result<Exposition> e = ParseExposition(r.Expose());
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  EXPECT_EQ(e->types.at("replog_p_total"), "counter");
  EXPECT_EQ(e->types.at("replog_h_seconds"), "histogram");
  EXPECT_EQ(e->helps.at("replog_p_total"), "P\\ things\nsecond line.");
  const Sample* p = e->Find("replog_p_total");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->labels, (Labels{{"path", "a\\b \"c\"\nd"}}));
  EXPECT_EQ(p->value, 5);
  const Sample* le1 = e->Find("replog_h_seconds_bucket", {{"le", "1"}});
  ASSERT_NE(le1, nullptr);
  EXPECT_EQ(le1->value, 1);
  const Sample* inf = e->Find("replog_h_seconds_bucket", {{"group", "log"}, {"le", "+Inf"}});
  ASSERT_NE(inf, nullptr);
  EXPECT_EQ(inf->value, 2);
  EXPECT_EQ(e->Find("replog_h_seconds_count")->value, 2);
  EXPECT_EQ(e->Find("replog_h_seconds_sum")->value, 2.5);
  EXPECT_EQ(e->FindAll("replog_h_seconds_bucket").size(), 3u);
  EXPECT_EQ(e->Find("replog_h_seconds_bucket", {{"le", "7"}}), nullptr);
}

TEST(ExpositionParseTest, ReadsSpecialValuesTimestampsAndComments) {
  common::Result<Exposition> e = ParseExposition("# a comment\nx +Inf\ny{a=\"1\"} NaN 1700000000000\nz -2e-3\n\n");
  ASSERT_TRUE(e.has_value()) << e.error().ToString();
  ASSERT_EQ(e->samples.size(), 3u);
  EXPECT_TRUE(std::isinf(e->samples[0].value));
  EXPECT_TRUE(std::isnan(e->samples[1].value));
  EXPECT_EQ(e->samples[2].value, -0.002);
}

TEST(ExpositionParseTest, MalformedLinesAreErrorsNamingTheLine) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"ok 1\nbad-name 1\n", "line 2: expected ' ' before the value: bad-name 1"},
      {"x{a=\"1\" 1\n", "line 1: bad label name"},
      {"x{a=1} 1\n", "line 1: expected '\"'"},
      {"x{a=\"1} 1\n", "line 1: unterminated label value"},
      {"x{a=\"\\t\"} 1\n", "line 1: bad escape \\t"},
      {"x 1.5abc\n", "line 1: bad value \"1.5abc\""},
      {"x\n", "line 1: expected ' ' before the value"},
      {"x 1 12ab\n", "line 1: bad timestamp"},
      {"# TYPE x gauge\n# TYPE x gauge\n", "line 2: second TYPE line"},
      {"# HELP x a\n# HELP x b\n", "line 2: second HELP line"},
      {"# TYPE x meter\n", "line 1: unknown type \"meter\""},
  };
  for (const Case& c : cases) {
    common::Result<Exposition> e = ParseExposition(c.text);
    ASSERT_FALSE(e.has_value()) << c.text;
    EXPECT_EQ(e.error().code(), common::Code::kInvalidArgument);
    EXPECT_THAT(e.error().message(), HasSubstr(c.error)) << c.text;
  }
}

}  // namespace
}  // namespace metrics
