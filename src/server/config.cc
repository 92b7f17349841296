#include "server/config.h"

#include <charconv>
#include <limits>
#include <set>
#include <string>
#include <string_view>

// Errors as values, not exceptions (STYLE: no exceptions across our APIs).
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace server {

using common::InvalidArgumentError;
using common::Result;
using common::Status;

namespace {

bool ValidHostPort(const std::string& a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  int port = 0;
  const char* end = a.data() + a.size();
  auto [p, ec] = std::from_chars(a.data() + colon + 1, end, port);
  return ec == std::errc() && p == end && port > 0 && port < 65536;
}

std::string Where(const toml::source_region& src) {
  return src.path ? *src.path + ":" + std::to_string(src.begin.line) : "line " + std::to_string(src.begin.line);
}

}  // namespace

Result<std::map<uint64_t, std::string>> ParseMembers(const std::string& text) {
  std::map<uint64_t, std::string> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    uint64_t id = 0;
    if (eq == std::string_view::npos) {
      return InvalidArgumentError("member '" + std::string(item) + "' is not ID=HOST:PORT");
    }
    auto [p, ec] = std::from_chars(item.data(), item.data() + eq, id);
    const std::string addr(item.substr(eq + 1));
    if (ec != std::errc() || p != item.data() + eq || id == 0) {
      return InvalidArgumentError("member '" + std::string(item) + "': the id must be a number > 0");
    }
    if (!ValidHostPort(addr)) {
      return InvalidArgumentError("member '" + std::string(item) + "': '" + addr + "' is not HOST:PORT");
    }
    if (!out.emplace(id, addr).second) {
      return InvalidArgumentError("member id " + std::to_string(id) + " is listed twice");
    }
  }
  return out;
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string FormatMembers(const std::map<uint64_t, std::string>& members) {
  std::string out;
  for (const auto& [id, addr] : members) {
    if (!out.empty()) out += ',';
    out += std::to_string(id) + "=" + addr;
  }
  return out;
}

Status ServerConfig::Validate() const {
  if (id == 0) return InvalidArgumentError("id: each member needs an id > 0 (--id)");
  if (data_dir.empty()) return InvalidArgumentError("data_dir: a data directory is required (--data-dir)");
  if (!ValidHostPort(listen_address)) {
    return InvalidArgumentError("listen: '" + listen_address + "' is not HOST:PORT (--listen)");
  }
  if (!advertise_address.empty() && !ValidHostPort(advertise_address)) {
    return InvalidArgumentError("advertise: '" + advertise_address + "' is not HOST:PORT (--advertise)");
  }
  if (!metrics_listen.empty() && !ValidHostPort(metrics_listen) && !metrics_listen.ends_with(":0")) {
    return InvalidArgumentError("metrics_listen: '" + metrics_listen + "' is not HOST:PORT (--metrics-listen)");
  }
  for (const std::string& a : join) {
    if (!ValidHostPort(a)) return InvalidArgumentError("join: '" + a + "' is not HOST:PORT (--join)");
  }
  if (!join.empty() && advertise_address.empty() && !initial_members.contains(id)) {
    const std::string host = listen_address.substr(0, listen_address.rfind(':'));
    if (host == "0.0.0.0" || host == "[::]" || host.empty() || listen_address.ends_with(":0")) {
      return InvalidArgumentError("advertise: a joining member listening on " + listen_address +
                                  " must say where the others reach it (--advertise HOST:PORT)");
    }
  }
  if (initial_members.empty() && join.empty()) {
    return InvalidArgumentError("initial_members: the cluster's members are required, for example "
                                "--initial-members 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 "
                                "(or --join HOST:PORT to join a running cluster)");
  }
  if (join.empty() && !initial_members.contains(id)) {
    return InvalidArgumentError("initial_members: this member's id " + std::to_string(id) + " is not among " +
                                FormatMembers(initial_members));
  }
  std::set<std::string> addrs;
  for (const auto& [mid, addr] : initial_members) {
    if (!addrs.insert(addr).second) return InvalidArgumentError("initial_members: address " + addr + " is listed twice");
  }
  if (tls.enabled() && (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty())) {
    return InvalidArgumentError("tls: give all three of ca, cert and key (--tls-ca, --tls-cert, --tls-key), or none");
  }
  if (!acl_policy_file.empty() && !tls.enabled()) {
    return InvalidArgumentError("acl.policy: access control needs TLS (--tls-ca, --tls-cert, --tls-key): the "
                                "principal is the client certificate's subject");
  }
  if (tick_ms < 1 || tick_ms > 10'000) return InvalidArgumentError("raft.tick_ms must be in [1, 10000]");
  if (heartbeat_ticks < 1) return InvalidArgumentError("raft.heartbeat_ticks must be >= 1");
  if (election_ticks <= heartbeat_ticks) {
    return InvalidArgumentError("raft.election_ticks (" + std::to_string(election_ticks) +
                                ") must be greater than raft.heartbeat_ticks (" + std::to_string(heartbeat_ticks) + ")");
  }
  if (handover_timeout_ms < 0 || handover_timeout_ms > 60'000) {
    return InvalidArgumentError("handover_timeout_ms must be in [0, 60000] (0: one election timeout)");
  }
  if (segment_bytes < (1 << 20) || segment_bytes > (uint64_t{1} << 30)) {
    return InvalidArgumentError("segment_bytes must be in [1 MiB, 1 GiB]");
  }
  if (retention_ms < 0) return InvalidArgumentError("log.retention_ms must be >= 0 (0: no age limit)");
  if (retention_check_ms < 10 || retention_check_ms > 3'600'000) {
    return InvalidArgumentError("log.retention_check_ms must be in [10, 3600000]");
  }
  if (retention_bytes != 0 && retention_bytes < segment_bytes) {
    return InvalidArgumentError("log.retention_bytes (" + std::to_string(retention_bytes) +
                                ") must be 0 (no limit) or at least segment_bytes (" + std::to_string(segment_bytes) +
                                "): retention deletes whole segments");
  }
  if (kv_snapshot_entries < 1) return InvalidArgumentError("kv.snapshot_entries must be >= 1");
  if (kv_snapshot_bytes < 1) return InvalidArgumentError("kv.snapshot_bytes must be >= 1");
  static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (log_format != "text" && log_format != "json") {
    return InvalidArgumentError("log_format '" + log_format + "' is not text or json (--log-format)");
  }
  if (!kLevels.contains(log_level)) {
    return InvalidArgumentError("log_level '" + log_level + "' is not one of trace, debug, info, warn, error, off");
  }
  return Status::Ok();
}

int64_t ServerConfig::HandoverTimeoutMs() const {
  return handover_timeout_ms > 0 ? handover_timeout_ms : int64_t{election_ticks} * tick_ms;
}

namespace {

// Reads the keys of one table into `config`; unknown keys are errors.
Status ReadTable(const toml::table& table, const std::string& prefix, ServerConfig* c) {
  for (const auto& [key, node] : table) {
    const std::string name = prefix + std::string(key.str());
    auto bad = [&](const char* want) {
      return InvalidArgumentError(Where(node.source()) + ": " + name + " must be " + want);
    };
    auto integer = [&](auto* out) -> Status {
      using T = std::remove_pointer_t<decltype(out)>;
      auto v = node.value<int64_t>();
      if (!v || *v < 0 || static_cast<uint64_t>(*v) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return bad("a non-negative integer in range");
      }
      *out = static_cast<T>(*v);
      return Status::Ok();
    };
    auto string = [&](std::string* out) -> Status {
      auto v = node.value<std::string>();
      if (!v) return bad("a string");
      *out = *v;
      return Status::Ok();
    };
    if ((name == "raft" || name == "log" || name == "kv" || name == "tls" || name == "acl") && node.is_table()) {
      RETURN_IF_ERROR(ReadTable(*node.as_table(), name + ".", c));
    } else if (name == "id") {
      RETURN_IF_ERROR(integer(&c->id));
    } else if (name == "data_dir") {
      RETURN_IF_ERROR(string(&c->data_dir));
    } else if (name == "listen") {
      RETURN_IF_ERROR(string(&c->listen_address));
    } else if (name == "metrics_listen") {
      RETURN_IF_ERROR(string(&c->metrics_listen));
    } else if (name == "advertise") {
      RETURN_IF_ERROR(string(&c->advertise_address));
    } else if (name == "initial_members") {
      std::string text;
      RETURN_IF_ERROR(string(&text));
      auto m = ParseMembers(text);
      if (!m.has_value()) return m.error().WithContext(Where(node.source()));
      c->initial_members = std::move(*m);
    } else if (name == "join") {
      std::string text;
      RETURN_IF_ERROR(string(&text));
      c->join = SplitList(text);
    } else if (name == "join_replace") {
      if (!node.is_boolean()) return bad("a boolean");
      c->join_replace = node.as_boolean()->get();
    } else if (name == "log_level") {
      RETURN_IF_ERROR(string(&c->log_level));
    } else if (name == "log_format") {
      RETURN_IF_ERROR(string(&c->log_format));
    } else if (name == "segment_bytes") {
      RETURN_IF_ERROR(integer(&c->segment_bytes));
    } else if (name == "handover_timeout_ms") {
      RETURN_IF_ERROR(integer(&c->handover_timeout_ms));
    } else if (name == "log.retention_bytes") {
      RETURN_IF_ERROR(integer(&c->retention_bytes));
    } else if (name == "log.retention_ms") {
      RETURN_IF_ERROR(integer(&c->retention_ms));
    } else if (name == "log.retention_check_ms") {
      RETURN_IF_ERROR(integer(&c->retention_check_ms));
    } else if (name == "kv.snapshot_entries") {
      RETURN_IF_ERROR(integer(&c->kv_snapshot_entries));
    } else if (name == "kv.snapshot_bytes") {
      RETURN_IF_ERROR(integer(&c->kv_snapshot_bytes));
    } else if (name == "kv.trailing_entries") {
      RETURN_IF_ERROR(integer(&c->kv_trailing_entries));
    } else if (name == "tls.ca") {
      RETURN_IF_ERROR(string(&c->tls.ca_file));
    } else if (name == "tls.cert") {
      RETURN_IF_ERROR(string(&c->tls.cert_file));
    } else if (name == "tls.key") {
      RETURN_IF_ERROR(string(&c->tls.key_file));
    } else if (name == "acl.policy") {
      RETURN_IF_ERROR(string(&c->acl_policy_file));
    } else if (name == "raft.tick_ms") {
      RETURN_IF_ERROR(integer(&c->tick_ms));
    } else if (name == "raft.heartbeat_ticks") {
      RETURN_IF_ERROR(integer(&c->heartbeat_ticks));
    } else if (name == "raft.election_ticks") {
      RETURN_IF_ERROR(integer(&c->election_ticks));
    } else {
      return InvalidArgumentError(Where(node.source()) + ": unknown key '" + name + "'");
    }
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, ServerConfig* config) {
  toml::parse_result parsed = toml::parse_file(path);
  if (!parsed) {
    const toml::parse_error& err = parsed.error();
    const std::string what(err.description());
    if (err.source().begin.line == 0 || what.find("ould not open") != std::string::npos) {
      return common::NotFoundError("config file " + path + ": " + what);
    }
    return InvalidArgumentError("config file " + path + ":" + std::to_string(err.source().begin.line) + ": " + what);
  }
  return ReadTable(parsed.table(), "", config).WithContext("config file " + path);
}

}  // namespace server
