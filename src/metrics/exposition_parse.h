#pragma once

// A parser of the Prometheus text format 0.0.4, for tests: what a scrape of
// replog's /metrics returned, as samples. It checks what Registry::Expose
// promises (one HELP and one TYPE line per family, before its samples;
// well-formed names, labels and values) and is not a general-purpose parser:
// timestamps are accepted and dropped.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "metrics/metrics.h"

namespace metrics {

struct Sample {
  std::string name;  // with its suffix: replog_fsync_seconds_bucket
  Labels labels;     // in the order of the line, values unescaped
  double value = 0;
};

struct Exposition {
  std::vector<Sample> samples;  // in the order of the text
  std::map<std::string, std::string> types;  // family -> "counter", "gauge", "histogram", ...
  std::map<std::string, std::string> helps;  // family -> help text, unescaped

  // The first sample named `name` whose labels include every pair of
  // `labels`; nullptr if none.
  const Sample* Find(std::string_view name, const Labels& labels = {}) const;
  // Every sample named `name` whose labels include `labels`.
  std::vector<const Sample*> FindAll(std::string_view name, const Labels& labels = {}) const;
};

// Errors: kInvalidArgument "line N: <what>: <the line>" for a malformed
// line, a bad escape, an unknown TYPE, or a second HELP or TYPE line for a
// family.
common::Result<Exposition> ParseExposition(std::string_view text);

}  // namespace metrics
