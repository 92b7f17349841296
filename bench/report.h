#pragma once

// What one benchmark run prints: ONE human summary line and ONE JSON line.
//
// The JSON line always holds the fields below in this order (null when a
// field does not apply to the workload), then workload-specific extras.
// MB means MiB (2^20 bytes) everywhere.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "bench/latency.h"

namespace bench {

using JsonValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

inline constexpr double kMiB = 1024.0 * 1024.0;

struct Report {
  std::string workload;
  uint64_t record_size = 0;
  uint64_t batch = 0;
  uint64_t writers = 0;
  double seconds = 0;  // measured time
  std::optional<double> records_per_s;
  std::optional<double> mb_per_s;
  std::optional<double> syncs_per_s;
  std::optional<double> p50_us;
  std::optional<double> p99_us;
  std::optional<double> max_us;
  std::optional<double> baseline_syncs_per_s;
  std::optional<double> baseline_mb_per_s;
  std::optional<double> ratio;
  std::string summary;  // the human line, after "<workload>: "
  std::vector<std::pair<std::string, JsonValue>> extra;

  // Extras, printed in the order added.
  void AddInt(std::string key, int64_t v) { extra.emplace_back(std::move(key), v); }
  void AddNum(std::string key, double v) { extra.emplace_back(std::move(key), v); }
  void AddNum(std::string key, std::optional<double> v);
  void AddStr(std::string key, std::string v) { extra.emplace_back(std::move(key), std::move(v)); }
  void AddBool(std::string key, bool v) { extra.emplace_back(std::move(key), v); }

  // Sets p50/p99/max from `s` (left null when it counted nothing).
  void SetLatency(const LatencySummary& s);
};

// {"workload":"sync","record_size":256,...}
std::string FormatJson(const Report& r);
// "<workload>: <summary>"
std::string FormatSummary(const Report& r);

// A number for humans: `digits` after the point, e.g. Num(3.14159, 1) == "3.1".
std::string Num(double v, int digits = 0);
// "p50 12.3 us, p99 45.6 us, max 789.0 us" (or "no operations").
std::string LatencyText(const LatencySummary& s);

}  // namespace bench
