#include "metrics/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, ExposesCountersAndGaugesWithHelpAndTypeOncePerFamily) {
  Registry r;
  r.AddCounter("replog_b_total", "B things.", {{"group", "log"}}).Inc(3);
  r.AddCounter("replog_b_total", "B things.", {{"group", "kv"}}).Inc();
  r.AddGauge("replog_a", "An a.").Set(-1.5);
  EXPECT_EQ(r.Expose(),
            "# HELP replog_a An a.\n"
            "# TYPE replog_a gauge\n"
            "replog_a -1.5\n"
            "# HELP replog_b_total B things.\n"
            "# TYPE replog_b_total counter\n"
            "replog_b_total{group=\"log\"} 3\n"
            "replog_b_total{group=\"kv\"} 1\n");
}

TEST(RegistryTest, ExposesHistogramBucketsSumAndCount) {
  Registry r;
  Histogram& h = r.AddHistogram("replog_x_seconds", "X.", {0.5, 1}, {{"group", "kv"}});
  h.Observe(0.25);
  h.Observe(0.75);
  h.Observe(4);
  EXPECT_EQ(r.Expose(),
            "# HELP replog_x_seconds X.\n"
            "# TYPE replog_x_seconds histogram\n"
            "replog_x_seconds_bucket{group=\"kv\",le=\"0.5\"} 1\n"
            "replog_x_seconds_bucket{group=\"kv\",le=\"1\"} 2\n"
            "replog_x_seconds_bucket{group=\"kv\",le=\"+Inf\"} 3\n"
            "replog_x_seconds_sum{group=\"kv\"} 5\n"
            "replog_x_seconds_count{group=\"kv\"} 3\n");
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry r;
  r.AddGauge("replog_g", "Line one\\two\nthree \"quoted\".", {{"path", "a\\b \"c\"\nd"}}).Set(1);
  EXPECT_EQ(r.Expose(),
            "# HELP replog_g Line one\\\\two\\nthree \"quoted\".\n"
            "# TYPE replog_g gauge\n"
            "replog_g{path=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(RegistryTest, TheSameNameAndLabelsGiveTheSameMetric) {
  Registry r;
  Counter& a = r.AddCounter("replog_c_total", "C.", {{"group", "log"}});
  Counter& b = r.AddCounter("replog_c_total", "C.", {{"group", "log"}});
  Counter& other = r.AddCounter("replog_c_total", "C.", {{"group", "kv"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
}

TEST(RegistryTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  EXPECT_EQ(FormatValue(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(FormatValue(0.0 / 0.0), "NaN");
  EXPECT_EQ(FormatValue(12345678901.0), "12345678901");
  EXPECT_EQ(FormatValue(0.1), "0.1");
}

TEST(RegistryTest, CollectorsJoinFamiliesOfTheirNameAndStopWhenRemoved) {
  Registry r;
  r.AddGauge("replog_role", "Role.", {{"group", "log"}}).Set(1);
  int runs = 0;
  Registry::CollectorId id = r.AddCollector([&runs](SampleWriter& w) {
    ++runs;
    w.Gauge("replog_role", "ignored: the first help wins", {{"group", "kv"}}, 2);
    w.Counter("replog_d_total", "D.", {}, 7);
  });
  const std::string text = r.Expose();
  EXPECT_EQ(runs, 1);
  EXPECT_THAT(text, HasSubstr("# HELP replog_role Role.\n# TYPE replog_role gauge\n"
                              "replog_role{group=\"log\"} 1\nreplog_role{group=\"kv\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE replog_d_total counter\nreplog_d_total 7\n"));
  r.RemoveCollector(id);
  EXPECT_THAT(r.Expose(), Not(HasSubstr("replog_d_total")));
  EXPECT_EQ(runs, 1);
}

TEST(RegistryDeathTest, BadNamesAndTypeClashesAreBugs) {
  Registry r;
  EXPECT_DEATH(r.AddCounter("replog-dash_total", "x"), "bad metric name");
  EXPECT_DEATH(r.AddCounter("replog_total", "x", {{"__reserved", "v"}}), "bad metric label name");
  EXPECT_DEATH(r.AddHistogram("replog_h", "x", {1}, {{"le", "1"}}), "le");
  r.AddCounter("replog_n_total", "x");
  EXPECT_DEATH(r.AddGauge("replog_n_total", "x"), "two types");
  EXPECT_DEATH(r.AddCounter("replog_n_total", "y"), "two help texts");
}

}  // namespace
}  // namespace metrics
