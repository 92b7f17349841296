#pragma once

// Registry: replog's metrics and their Prometheus text exposition (format
// 0.0.4: https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// Two kinds of metrics:
//   - owned metrics (Counter, Gauge, Histogram of metrics.h), created once
//     with a name, help text and fixed labels, then updated by the code that
//     holds the pointer;
//   - collectors: callbacks run at every scrape that write samples of the
//     moment (the Raft role and indexes read from raft::Node::GetStatus()).
//
// Names follow Prometheus rules ([a-zA-Z_:][a-zA-Z0-9_:]*; label names
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", and never "le" on a
// histogram); ours start with "replog_" and carry their unit (_seconds,
// _bytes, _total). A bad name, or one name used with two types or two help
// texts, is a bug: CHECK.
//
// Threads: every method is thread-safe. Add* and collectors take a lock;
// updates of owned metrics do not.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics.h"

namespace metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Where a collector writes its samples during a scrape. Samples of one name
// from any collector and any owned metric form one family (one HELP and
// TYPE line); the first help text given wins.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;
  virtual void Write(std::string_view name, std::string_view help, Type type, const Labels& labels,
                     double value) = 0;
  virtual void WriteHistogram(std::string_view name, std::string_view help, const Labels& labels,
                              const Histogram::Snapshot& h) = 0;
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) {
    Write(name, help, Type::kGauge, labels, value);
  }
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) {
    Write(name, help, Type::kCounter, labels, value);
  }
};

class Registry {
 public:
  using Collector = std::function<void(SampleWriter&)>;
  using CollectorId = uint64_t;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Create the metric `name` with `labels`, or return the one created
  // before with the same name and labels (so that a part restarted in the
  // same process keeps counting). The reference lives as long as the
  // registry. CHECK: bad names, a name of another type or help text, a
  // histogram with other bounds.
  Counter& AddCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                          const Labels& labels = {});

  // Runs `collector` at every scrape, on the scraping thread, until removed.
  // It must not call the registry. RemoveCollector waits for a scrape that
  // runs it to end: after it returns the collector never runs again, and
  // what it refers to may go.
  CollectorId AddCollector(Collector collector);
  void RemoveCollector(CollectorId id);

  // Every metric in the text format 0.0.4: families sorted by name, each
  // with its HELP and TYPE line once, then its samples.
  std::string Expose() const;

 private:
  struct Child {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<metrics::Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<std::unique_ptr<Child>> children;
  };
  // The child of family `name` with `labels`, created empty if new.
  Child& ChildOf(const std::string& name, const std::string& help, Type type, const Labels& labels);

  mutable std::mutex mu_;  // families_
  std::map<std::string, Family> families_;
  mutable std::mutex collectors_mu_;  // collectors_, held while they run
  std::map<CollectorId, Collector> collectors_;
  CollectorId next_collector_ = 1;
};

// Text format helpers, shared with exposition_parse.
bool ValidMetricName(std::string_view name);
bool ValidLabelName(std::string_view name);
// A sample value: shortest round-trip decimal, "+Inf", "-Inf" or "NaN".
std::string FormatValue(double v);
// A label value with \, " and newline escaped.
std::string EscapeLabelValue(std::string_view v);

}  // namespace metrics
