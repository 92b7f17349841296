#pragma once

// AclPolicy: who may do what (docs/operations.md, "Access control"). A
// policy file (TOML) maps principals (the subject CN of a client's
// certificate) to actions, with `*` as a wildcard for any run of characters
// in either:
//
//   members = ["member-*"]          # principals that are cluster members
//                                   # (this is the default)
//
//   [[allow]]
//   principals = ["admin"]
//   actions = ["*"]
//
//   [[allow]]
//   principals = ["app-*", "alice"]
//   actions = ["log:produce", "log:consume", "kv:read"]
//
// Actions are "resource:verb": log:produce, log:consume, kv:read, kv:write,
// cluster:admin. Everything not allowed is denied. Members are allowed the
// peer service and what joining and leaving take (kMemberAction), and
// nothing else; no [[allow]] applies to them.
//
// Immutable once loaded; safe to share between threads.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace security {

// The actions a policy may grant.
inline constexpr std::string_view kLogProduce = "log:produce";
inline constexpr std::string_view kLogConsume = "log:consume";
inline constexpr std::string_view kKvRead = "kv:read";
inline constexpr std::string_view kKvWrite = "kv:write";
inline constexpr std::string_view kClusterAdmin = "cluster:admin";
// What members do among themselves; never granted by [[allow]].
inline constexpr std::string_view kMemberAction = "cluster:member";

// The members' principals when a policy names none (scripts/dev-certs.sh
// names member certificates member-N).
inline constexpr std::string_view kDefaultMembers = "member-*";

// Whether `text` matches `pattern`, where `*` matches any run of characters
// (none included) and every other character itself.
bool GlobMatch(std::string_view pattern, std::string_view text);

class AclPolicy {
 public:
  struct Rule {
    std::vector<std::string> principals;  // patterns
    std::vector<std::string> actions;     // patterns
  };

  // kInvalidArgument naming the file, line and what is wrong: a TOML error,
  // an unknown key, an action pattern that matches no action (a typo must
  // not silently deny or allow), an empty principal.
  static common::Result<AclPolicy> Load(const std::string& path);
  static common::Result<AclPolicy> Parse(std::string_view toml_text, const std::string& source_name);

  bool IsMember(std::string_view principal) const;
  // Whether a non-member principal is granted `action` by some rule.
  bool Allows(std::string_view principal, std::string_view action) const;

  const std::vector<std::string>& member_patterns() const { return members_; }
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<std::string> members_;
  std::vector<Rule> rules_;
};

}  // namespace security
