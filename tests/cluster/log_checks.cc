#include "log_checks.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <unordered_map>

namespace cluster_testing {

using common::Result;

namespace {

std::string Describe(const std::vector<LogRecord>& log, size_t i) {
  if (i >= log.size()) return "(end of log, " + std::to_string(log.size()) + " records)";
  return "offset " + std::to_string(log[i].offset) + " = \"" + log[i].value + "\"";
}

}  // namespace

Result<std::vector<LogRecord>> ReadIdenticalLogs(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                 uint64_t through, uint64_t from) {
  std::vector<std::vector<LogRecord>> logs;
  for (uint64_t id : ids) {
    ASSIGN_OR_RETURN(std::vector<LogRecord> log, cluster.ReadLog(id, through, from));
    logs.push_back(std::move(log));
  }
  for (size_t m = 1; m < logs.size(); m++) {
    const std::vector<LogRecord>& a = logs[0];
    const std::vector<LogRecord>& b = logs[m];
    const size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; i++) {
      if (i < a.size() && i < b.size() && a[i] == b[i]) continue;
      return common::DataLossError("the logs of members " + std::to_string(ids[0]) + " and " +
                                   std::to_string(ids[m]) + " differ at record #" + std::to_string(i) + ": " +
                                   Describe(a, i) + " vs " + Describe(b, i) + " (" + std::to_string(a.size()) +
                                   " and " + std::to_string(b.size()) + " records through offset " +
                                   std::to_string(through) + ")");
    }
  }
  return logs.empty() ? std::vector<LogRecord>{} : std::move(logs[0]);
}

Result<std::vector<LogRecord>> ReadCommittedLogs(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                 uint64_t at_least, int64_t timeout_ms) {
  RETURN_IF_ERROR(cluster.WaitCommitted(ids, at_least, timeout_ms));
  uint64_t through = UINT64_MAX;
  for (uint64_t id : ids) {
    ASSIGN_OR_RETURN(uint64_t committed, cluster.CommittedOffset(id));
    through = std::min(through, committed);
  }
  return ReadIdenticalLogs(cluster, ids, through);
}

std::vector<std::string> MissingAcks(const std::vector<LogRecord>& log, const std::vector<Ack>& acks, size_t limit) {
  std::unordered_map<uint64_t, const std::string*> at;
  for (const LogRecord& r : log) at[r.offset] = &r.value;
  std::vector<std::string> out;
  size_t missing = 0;
  for (const Ack& a : acks) {
    auto it = at.find(a.offset);
    if (it != at.end() && *it->second == a.value) continue;
    if (++missing > limit) continue;
    out.push_back("\"" + a.value + "\" acknowledged at offset " + std::to_string(a.offset) + ", but the log has " +
                  (it == at.end() ? std::string("no record there") : "\"" + *it->second + "\""));
  }
  if (missing > limit) out.push_back("... and " + std::to_string(missing - limit) + " more");
  return out;
}

std::vector<std::string> RepeatedValues(const std::vector<LogRecord>& log, size_t limit) {
  std::map<std::string, std::vector<uint64_t>> offsets;
  for (const LogRecord& r : log) offsets[r.value].push_back(r.offset);
  std::vector<std::string> out;
  size_t repeated = 0;
  for (const auto& [value, at] : offsets) {
    if (at.size() < 2 || ++repeated > limit) continue;
    std::string list;
    for (uint64_t o : at) list += (list.empty() ? "" : ", ") + std::to_string(o);
    out.push_back("\"" + value + "\" is in the log " + std::to_string(at.size()) + " times, at offsets " + list);
  }
  if (repeated > limit) out.push_back("... and " + std::to_string(repeated - limit) + " more");
  return out;
}

uint64_t MaxOffset(const std::vector<Ack>& acks) {
  uint64_t max = 0;
  for (const Ack& a : acks) max = std::max(max, a.offset);
  return max;
}

}  // namespace cluster_testing
