#pragma once

// `replog kv ...` (docs/client.md, "The `replog kv` commands"): flags ->
// replog::KvClient calls -> lines on stdout (client/kv_format.h).
//
//   replog kv put KEY VALUE
//   replog kv get KEY [--local]
//   replog kv del KEY
//   replog kv cas KEY (--expect VALUE | --expect-revision N | --expect-absent)
//                     (--value V | --delete)
//   replog kv scan [--prefix P | --from K [--to K]] [--limit N] [--keys-only] [--local]
//   replog kv status
//
// Exit codes besides cli.h's (0 ok, 1 failed, 2 usage): kExitNotSwapped
// when cas found its compare false (nothing written), kExitNotFound when get
// found no such key (nothing printed).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "apps/replog/cli.h"

namespace CLI {
class App;
}  // namespace CLI

namespace replog::cli {

inline constexpr int kExitNotSwapped = 3;
inline constexpr int kExitNotFound = 4;

struct KvFlags {
  std::string key;
  std::string value;
  bool local = false;
  // cas
  std::vector<std::string> expect;  // at most one: --expect VALUE
  std::vector<uint64_t> expect_revision;  // at most one
  bool expect_absent = false;
  std::vector<std::string> new_value;  // at most one: --value V
  bool delete_key = false;
  // scan
  std::string prefix;
  std::string from;
  std::string to;
  uint64_t limit = 0;  // 0: every key
  bool keys_only = false;
};

// What the global flags say (cli.cc).
struct KvGlobals {
  std::vector<std::string> addrs;
  bool json = false;
  int64_t deadline_ms = 10'000;
  std::shared_ptr<grpc::ChannelCredentials> credentials;  // nullptr: plaintext
};

// Adds `kv` and its subcommands to `app`; `f` must outlive the parse.
CLI::App* AddKvCommand(CLI::App& app, KvFlags* f);

// Runs the `kv` subcommand that `kv` parsed and returns the exit code;
// errors go to io.err as one line naming the command.
int RunKv(const CLI::App& kv, const KvFlags& f, const KvGlobals& g, const CliIo& io);

}  // namespace replog::cli
