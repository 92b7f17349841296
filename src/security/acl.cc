#include "security/acl.h"

#include <array>

// Errors as values, not exceptions (STYLE: no exceptions across our APIs).
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include "common/fs.h"

namespace security {
namespace {

constexpr uint64_t kMaxPolicyBytes = 1 << 20;
constexpr std::array<std::string_view, 5> kGrantable = {kLogProduce, kLogConsume, kKvRead, kKvWrite, kClusterAdmin};

std::string Where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line);
}

// A non-empty array of non-empty strings at `node`.
common::Result<std::vector<std::string>> Strings(const toml::node& node, const std::string& where,
                                                 const std::string& key) {
  const toml::array* a = node.as_array();
  if (a == nullptr || a->empty()) {
    return common::InvalidArgumentError(where + ": " + key + " must be a non-empty array of strings");
  }
  std::vector<std::string> out;
  for (const toml::node& item : *a) {
    auto s = item.value<std::string>();
    if (!s || s->empty()) return common::InvalidArgumentError(where + ": " + key + " holds a non-string or \"\"");
    out.push_back(*s);
  }
  return out;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point (the last `*`): linear in
  // practice for the short patterns of a policy.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

common::Result<AclPolicy> AclPolicy::Load(const std::string& path) {
  common::PosixFs fs;
  common::Result<std::string> text = common::ReadWholeFile(fs, path, kMaxPolicyBytes);
  if (!text.has_value()) return text.error().WithContext("access policy");
  return Parse(*text, path);
}

common::Result<AclPolicy> AclPolicy::Parse(std::string_view toml_text, const std::string& source_name) {
  toml::parse_result parsed = toml::parse(toml_text, source_name);
  if (!parsed) {
    return common::InvalidArgumentError("access policy " + Where(source_name, parsed.error().source()) + ": " +
                                        std::string(parsed.error().description()));
  }
  AclPolicy policy;
  policy.members_ = {std::string(kDefaultMembers)};
  for (const auto& [key, node] : parsed.table()) {
    const std::string where = "access policy " + Where(source_name, node.source());
    if (key == "members") {
      ASSIGN_OR_RETURN(policy.members_, Strings(node, where, "members"));
    } else if (key == "allow") {
      const toml::array* rules = node.as_array();
      if (rules == nullptr || !rules->is_array_of_tables()) {
        return common::InvalidArgumentError(where + ": allow must be tables ([[allow]])");
      }
      for (const toml::node& r : *rules) {
        const std::string rule_where = "access policy " + Where(source_name, r.source());
        Rule rule;
        for (const auto& [k, v] : *r.as_table()) {
          if (k == "principals") {
            ASSIGN_OR_RETURN(rule.principals, Strings(v, rule_where, "principals"));
          } else if (k == "actions") {
            ASSIGN_OR_RETURN(rule.actions, Strings(v, rule_where, "actions"));
          } else {
            return common::InvalidArgumentError(rule_where + ": unknown key '" + std::string(k.str()) +
                                                "' in [[allow]] (principals, actions)");
          }
        }
        if (rule.principals.empty() || rule.actions.empty()) {
          return common::InvalidArgumentError(rule_where + ": an [[allow]] needs principals and actions");
        }
        for (const std::string& a : rule.actions) {
          bool any = false;
          for (std::string_view g : kGrantable) any = any || GlobMatch(a, g);
          if (!any) {
            return common::InvalidArgumentError(rule_where + ": action '" + a +
                                                "' matches none of log:produce, log:consume, kv:read, kv:write, "
                                                "cluster:admin");
          }
        }
        policy.rules_.push_back(std::move(rule));
      }
    } else {
      return common::InvalidArgumentError(where + ": unknown key '" + std::string(key.str()) +
                                          "' (members, [[allow]])");
    }
  }
  return policy;
}

bool AclPolicy::IsMember(std::string_view principal) const {
  for (const std::string& m : members_) {
    if (GlobMatch(m, principal)) return true;
  }
  return false;
}

bool AclPolicy::Allows(std::string_view principal, std::string_view action) const {
  for (const Rule& r : rules_) {
    bool who = false;
    for (const std::string& p : r.principals) who = who || GlobMatch(p, principal);
    if (!who) continue;
    for (const std::string& a : r.actions) {
      if (GlobMatch(a, action)) return true;
    }
  }
  return false;
}

}  // namespace security
