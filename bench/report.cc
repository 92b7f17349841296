#include "bench/report.h"

#include <cmath>
#include <cstdio>

#include "client/cli_format.h"

namespace bench {

namespace {

using replog::cli::JsonString;

// Three decimals at most, trailing zeros dropped; null when not finite.
std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s == "-0" ? "0" : s;
}

std::string JsonOf(const JsonValue& v) {
  if (std::holds_alternative<bool>(v)) return std::get<bool>(v) ? "true" : "false";
  if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) return JsonNumber(std::get<double>(v));
  if (std::holds_alternative<std::string>(v)) return JsonString(std::get<std::string>(v));
  return "null";
}

JsonValue OfOptional(const std::optional<double>& v) {
  if (!v.has_value()) return std::monostate{};
  return *v;
}

}  // namespace

void Report::AddNum(std::string key, std::optional<double> v) { extra.emplace_back(std::move(key), OfOptional(v)); }

void Report::SetLatency(const LatencySummary& s) {
  if (s.count == 0) return;
  p50_us = s.p50_us;
  p99_us = s.p99_us;
  max_us = s.max_us;
}

std::string FormatJson(const Report& r) {
  std::vector<std::pair<std::string, JsonValue>> fields = {
      {"workload", r.workload},
      {"record_size", static_cast<int64_t>(r.record_size)},
      {"batch", static_cast<int64_t>(r.batch)},
      {"writers", static_cast<int64_t>(r.writers)},
      {"seconds", r.seconds},
      {"records_per_s", OfOptional(r.records_per_s)},
      {"mb_per_s", OfOptional(r.mb_per_s)},
      {"syncs_per_s", OfOptional(r.syncs_per_s)},
      {"p50_us", OfOptional(r.p50_us)},
      {"p99_us", OfOptional(r.p99_us)},
      {"max_us", OfOptional(r.max_us)},
      {"baseline_syncs_per_s", OfOptional(r.baseline_syncs_per_s)},
      {"baseline_mb_per_s", OfOptional(r.baseline_mb_per_s)},
      {"ratio", OfOptional(r.ratio)},
  };
  fields.insert(fields.end(), r.extra.begin(), r.extra.end());
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); i++) {
    if (i > 0) out += ",";
    out += JsonString(fields[i].first) + ":" + JsonOf(fields[i].second);
  }
  return out + "}";
}

std::string FormatSummary(const Report& r) { return r.workload + ": " + r.summary; }

std::string Num(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string LatencyText(const LatencySummary& s) {
  if (s.count == 0) return "no operations";
  return "p50 " + Num(s.p50_us, 1) + " us, p99 " + Num(s.p99_us, 1) + " us, max " + Num(s.max_us, 1) + " us";
}

}  // namespace bench
