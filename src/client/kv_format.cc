#include "client/kv_format.h"

#include <algorithm>
#include <cstdio>

#include "client/cli_format.h"

namespace replog::cli {

namespace {

std::string KvOrNull(const std::optional<KeyValue>& kv) { return kv ? FormatKeyValueJson(*kv) : "null"; }

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Pad(std::string s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s + "  "; }

// The KV leader the answering members name (the most named; 0: none).
uint64_t NamedLeader(const std::vector<KvStatusRow>& rows) {
  std::vector<uint64_t> named;
  for (const KvStatusRow& r : rows) {
    if (r.status && r.status->leader_id != 0) named.push_back(r.status->leader_id);
  }
  uint64_t best = 0;
  long best_count = 0;
  for (uint64_t id : named) {
    long n = std::count(named.begin(), named.end(), id);
    if (n > best_count) {
      best = id;
      best_count = n;
    }
  }
  return best;
}

std::string Ids(const std::vector<uint64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); i++) out += (i > 0 ? "," : "") + std::to_string(ids[i]);
  return out + "]";
}

}  // namespace

std::string FormatKeyValueJson(const KeyValue& kv, bool keys_only) {
  std::string out = "{" + JsonBytesMember("key", kv.key);
  if (!keys_only) out += "," + JsonBytesMember("value", kv.value);
  return out + ",\"create_revision\":" + std::to_string(kv.create_revision) +
         ",\"mod_revision\":" + std::to_string(kv.mod_revision) + ",\"version\":" + std::to_string(kv.version) + "}";
}

std::string FormatPutHuman(const PutResult& r) { return "revision " + std::to_string(r.revision); }

std::string FormatPutJson(const PutResult& r) {
  return "{\"revision\":" + std::to_string(r.revision) + ",\"previous\":" + KvOrNull(r.previous) + "}";
}

std::string FormatDeleteHuman(const DeleteResult& r) {
  return std::string(r.deleted ? "deleted" : "not found") + ", revision " + std::to_string(r.revision);
}

std::string FormatDeleteJson(const DeleteResult& r) {
  return "{\"revision\":" + std::to_string(r.revision) + ",\"deleted\":" + Bool(r.deleted) +
         ",\"previous\":" + KvOrNull(r.previous) + "}";
}

std::string FormatCasHuman(const CasResult& r) {
  const std::string revision = "revision " + std::to_string(r.revision);
  if (r.succeeded) return "swapped, " + revision;
  const std::string current = r.current ? HumanBytes(r.current->value) + " (mod_revision " +
                                              std::to_string(r.current->mod_revision) + ")"
                                        : "absent";
  return "not swapped, " + revision + "; current: " + current;
}

std::string FormatCasJson(const CasResult& r) {
  return "{\"revision\":" + std::to_string(r.revision) + ",\"succeeded\":" + Bool(r.succeeded) +
         ",\"current\":" + KvOrNull(r.current) + "}";
}

std::string FormatGetHuman(const GetResult& r) { return r.found ? HumanBytes(r.kv.value) : ""; }

std::string FormatGetJson(const GetResult& r) {
  std::string out = "{\"found\":" + Bool(r.found);
  if (r.found) out += ",\"kv\":" + FormatKeyValueJson(r.kv);
  return out + ",\"revision\":" + std::to_string(r.revision) + "}";
}

std::string FormatScanHuman(const KeyValue& kv, bool keys_only) {
  return keys_only ? HumanBytes(kv.key) : HumanBytes(kv.key) + "\t" + HumanBytes(kv.value);
}

std::string FormatKvStatusTable(const std::vector<KvStatusRow>& rows) {
  const std::vector<std::string> head = {"ID", "ADDRESS", "TERM", "APPLIED", "COMMIT", "KEYS", "HASH"};
  const uint64_t leader = NamedLeader(rows);
  std::vector<std::vector<std::string>> cells;
  std::vector<std::string> notes;
  for (const KvStatusRow& r : rows) {
    if (!r.status) {
      cells.push_back({"-", r.address});
      notes.push_back("unreachable: " + r.error);
      continue;
    }
    const KvMemberStatus& s = *r.status;
    cells.push_back({std::to_string(s.member_id), r.address, std::to_string(s.term), std::to_string(s.applied_index),
                     std::to_string(s.commit_index), std::to_string(s.keys), Hex64(s.hash)});
    notes.push_back(s.member_id == leader ? "*" : "");
  }
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); c++) {
    width[c] = head[c].size() + 2;
    for (const auto& row : cells) {
      if (c < row.size()) width[c] = std::max(width[c], row[c].size() + 2);
    }
  }
  std::string out;
  for (size_t c = 0; c < head.size(); c++) out += Pad(head[c], width[c]);
  out += "LEADER\n";
  for (size_t i = 0; i < cells.size(); i++) {
    std::string line;
    for (size_t c = 0; c < cells[i].size(); c++) line += Pad(cells[i][c], width[c]);
    line += notes[i];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string FormatKvStatusJson(const std::vector<KvStatusRow>& rows) {
  std::string out = "{\"members\":[";
  for (size_t i = 0; i < rows.size(); i++) {
    const KvStatusRow& r = rows[i];
    if (i > 0) out += ",";
    out += "{\"address\":" + JsonString(r.address);
    if (!r.status) {
      out += ",\"reachable\":false,\"error\":" + JsonString(r.error) + "}";
      continue;
    }
    const KvMemberStatus& s = *r.status;
    out += ",\"reachable\":true,\"member_id\":" + std::to_string(s.member_id) +
           ",\"leader_id\":" + std::to_string(s.leader_id) + ",\"term\":" + std::to_string(s.term) +
           ",\"applied_index\":" + std::to_string(s.applied_index) +
           ",\"commit_index\":" + std::to_string(s.commit_index) +
           ",\"first_index\":" + std::to_string(s.first_index) + ",\"last_index\":" + std::to_string(s.last_index) +
           ",\"snapshot_index\":" + std::to_string(s.snapshot_index) + ",\"keys\":" + std::to_string(s.keys) +
           ",\"bytes\":" + std::to_string(s.bytes) + ",\"hash\":\"" + Hex64(s.hash) + "\"" +
           ",\"voters\":" + Ids(s.voters) + ",\"learners\":" + Ids(s.learners) + "}";
  }
  return out + "]}";
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) return "";
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

}  // namespace replog::cli
