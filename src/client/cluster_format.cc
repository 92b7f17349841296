#include "client/cluster_format.h"

#include <algorithm>
#include <vector>

#include "client/cli_format.h"

namespace replog::cli {
namespace {

// The leader's view of member `id`, when the leader answered.
const MemberInfo* LeaderViewOf(const ClusterStatus& status, uint64_t id) {
  if (!status.leader) return nullptr;
  for (const MemberInfo& m : status.leader->members) {
    if (m.id == id && m.has_match) return &m;
  }
  return nullptr;
}

std::string Pad(std::string s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s + "  "; }

}  // namespace

std::string FormatClusterStatusTable(const ClusterStatus& status) {
  const std::vector<std::string> head = {"ID", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "MATCH", "LAG"};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;  // per row: "*", or the unreachable reason
  for (const ClusterStatus::Row& r : status.rows) {
    if (!r.status) {
      rows.push_back({std::to_string(r.id), r.address, "-"});
      notes.push_back("unreachable: " + r.unreachable);
      continue;
    }
    const MemberStatus& s = *r.status;
    const MemberInfo* view = LeaderViewOf(status, r.id);
    rows.push_back({std::to_string(r.id), r.address, s.role, std::to_string(s.term), std::to_string(s.commit_index),
                    std::to_string(s.applied_index), view ? std::to_string(view->match_index) : "-",
                    view ? std::to_string(view->lag) : "-"});
    std::string note = r.id == status.leader_id ? "*" : "";
    if (!s.error.empty()) note += (note.empty() ? "" : " ") + std::string("error: ") + s.error;
    notes.push_back(note);
  }
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    width[c] = head[c].size() + 2;
    for (const auto& row : rows) {
      if (c < row.size()) width[c] = std::max(width[c], row[c].size() + 2);
    }
  }
  std::string out;
  for (size_t c = 0; c < head.size(); ++c) out += Pad(head[c], width[c]);
  out += "LEADER\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < rows[i].size(); ++c) line += Pad(rows[i][c], width[c]);
    line += notes[i];  // for an unreachable member, the reason takes the rest of the line
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatClusterStatusJson(const ClusterStatus& status) {
  std::string out = "{\"leader_id\":" + std::to_string(status.leader_id) + ",\"members\":[";
  for (size_t i = 0; i < status.rows.size(); ++i) {
    const ClusterStatus::Row& r = status.rows[i];
    if (i > 0) out += ",";
    out += "{\"id\":" + std::to_string(r.id) + ",\"address\":" + JsonString(r.address);
    if (!r.status) {
      out += ",\"reachable\":false,\"error\":" + JsonString(r.unreachable) + "}";
      continue;
    }
    const MemberStatus& s = *r.status;
    out += ",\"reachable\":true,\"role\":" + JsonString(s.role) + ",\"term\":" + std::to_string(s.term) +
           ",\"commit_index\":" + std::to_string(s.commit_index) +
           ",\"applied_index\":" + std::to_string(s.applied_index) +
           ",\"first_index\":" + std::to_string(s.first_index) + ",\"last_index\":" + std::to_string(s.last_index);
    if (const MemberInfo* view = LeaderViewOf(status, r.id)) {
      out += ",\"match_index\":" + std::to_string(view->match_index) + ",\"lag\":" + std::to_string(view->lag);
    }
    if (!s.error.empty()) out += ",\"error\":" + JsonString(s.error);
    out += "}";
  }
  return out + "]}";
}

}  // namespace replog::cli
