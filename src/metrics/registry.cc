#include "metrics/registry.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "common/status.h"

namespace metrics {

namespace {

const char* TypeName(Type t) {
  switch (t) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void AppendLabels(std::string& out, const Labels& labels, const char* extra_name = nullptr,
                  std::string_view extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, const Labels& labels, double value) {
  out += name;
  AppendLabels(out, labels);
  out += ' ' + FormatValue(value) + '\n';
}

void AppendHistogram(std::string& out, std::string_view name, const Labels& labels, const Histogram::Snapshot& h) {
  const std::string base(name);
  for (size_t i = 0; i < h.cumulative.size(); ++i) {
    out += base + "_bucket";
    AppendLabels(out, labels, "le", i < h.bounds.size() ? FormatValue(h.bounds[i]) : "+Inf");
    out += ' ' + std::to_string(h.cumulative[i]) + '\n';
  }
  AppendSample(out, base + "_sum", labels, h.sum);
  out += base + "_count";
  AppendLabels(out, labels);
  out += ' ' + std::to_string(h.count) + '\n';
}

void CheckLabels(const Labels& labels, Type type) {
  for (const auto& [k, v] : labels) {
    CHECK_MSG(ValidLabelName(k), "bad metric label name: " + k);
    CHECK_MSG(type != Type::kHistogram || k != "le", "a histogram label may not be named le");
  }
}

// The families of one scrape: owned metrics and collectors' samples.
class ScrapeWriter final : public SampleWriter {
 public:
  struct Out {
    Type type;
    std::string help;
    std::string body;
  };
  void Write(std::string_view name, std::string_view help, Type type, const Labels& labels,
             double value) override {
    AppendSample(FamilyOf(name, help, type).body, name, labels, value);
  }
  void WriteHistogram(std::string_view name, std::string_view help, const Labels& labels,
                      const Histogram::Snapshot& h) override {
    AppendHistogram(FamilyOf(name, help, Type::kHistogram).body, name, labels, h);
  }
  std::string Text() const {
    std::string text;
    for (const auto& [name, f] : families_) {
      text += "# HELP " + name + ' ' + EscapeHelp(f.help) + '\n';
      text += "# TYPE " + name + ' ' + TypeName(f.type) + '\n';
      text += f.body;
    }
    return text;
  }

 private:
  Out& FamilyOf(std::string_view name, std::string_view help, Type type) {
    CHECK_MSG(ValidMetricName(name), "bad metric name: " + std::string(name));
    auto [it, fresh] = families_.try_emplace(std::string(name), Out{type, std::string(help), {}});
    CHECK_MSG(it->second.type == type, "metric " + std::string(name) + " written with two types");
    return it->second;
  }
  std::map<std::string, Out> families_;
};

}  // namespace

bool ValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool ValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  CHECK(ec == std::errc());
  return std::string(buf, end);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Registry::Child& Registry::ChildOf(const std::string& name, const std::string& help, Type type, const Labels& labels) {
  CHECK_MSG(ValidMetricName(name), "bad metric name: " + name);
  CheckLabels(labels, type);
  auto [it, fresh] = families_.try_emplace(name, Family{type, help, {}});
  Family& f = it->second;
  CHECK_MSG(f.type == type, "metric " + name + " registered with two types");
  CHECK_MSG(f.help == help, "metric " + name + " registered with two help texts");
  for (auto& c : f.children) {
    if (c->labels == labels) return *c;
  }
  f.children.push_back(std::make_unique<Child>());
  f.children.back()->labels = labels;
  return *f.children.back();
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Child& c = ChildOf(name, help, Type::kCounter, labels);
  if (!c.counter) c.counter = std::make_unique<Counter>();
  return *c.counter;
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Child& c = ChildOf(name, help, Type::kGauge, labels);
  if (!c.gauge) c.gauge = std::make_unique<metrics::Gauge>();
  return *c.gauge;
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                                  const Labels& labels) {
  std::lock_guard<std::mutex> l(mu_);
  Child& c = ChildOf(name, help, Type::kHistogram, labels);
  if (!c.histogram) c.histogram = std::make_unique<Histogram>(bounds);
  CHECK_MSG(c.histogram->bounds() == bounds, "histogram " + name + " registered with two sets of bounds");
  return *c.histogram;
}

Registry::CollectorId Registry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> l(collectors_mu_);
  const CollectorId id = next_collector_++;
  collectors_.emplace(id, std::move(collector));
  return id;
}

void Registry::RemoveCollector(CollectorId id) {
  std::lock_guard<std::mutex> l(collectors_mu_);
  collectors_.erase(id);
}

std::string Registry::Expose() const {
  ScrapeWriter w;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [name, f] : families_) {
      for (const auto& c : f.children) {
        switch (f.type) {
          case Type::kCounter: w.Counter(name, f.help, c->labels, static_cast<double>(c->counter->value())); break;
          case Type::kGauge: w.Gauge(name, f.help, c->labels, c->gauge->value()); break;
          case Type::kHistogram: w.WriteHistogram(name, f.help, c->labels, c->histogram->snapshot()); break;
        }
      }
    }
  }
  std::lock_guard<std::mutex> l(collectors_mu_);
  for (const auto& [id, collector] : collectors_) collector(w);
  return w.Text();
}

}  // namespace metrics
