#pragma once

// The `replog` command line (docs/client.md): flags -> replog::Client calls
// -> lines on stdout. main.cc only calls RunCli; tests call it against a
// fake cluster.
//
//   replog [--addrs A,B,C] [--json] [--timeout SECONDS] <command>
//   replog produce [--key K] [--header k=v]... [--no-exactly-once] [VALUE...]
//                  (no VALUE: each stdin line)
//   replog consume [--from N] [--max N] [--follow] [--linearizable]
//                  [--leader | --member ADDR]
//   replog servers
//   replog cluster status | transfer [ID] | leave ID
//   replog kv put|get|del|cas|scan|status ...   (kv_command.h)
//
// --addrs defaults to $REPLOG_ADDRS, else 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003.
// Exit codes: 0 ok; 1 an operation failed (one line on stderr naming it);
// 2 usage error; `kv cas` and `kv get` add 3 and 4 (kv_command.h).

#include <iosfwd>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace replog::cli {

inline constexpr const char* kDefaultAddrs = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
inline constexpr size_t kStdinBatchLines = 1000;
inline constexpr size_t kStdinBatchBytes = 1 << 20;

struct CliIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  // For the client's deadlines and backoff; nullptr: the real clock.
  common::Clock* clock = nullptr;
};

// Runs one `replog` command line (argv[0] is the program name) and returns
// its exit code. Reads stdin only for `produce` without values. Not
// reentrant with respect to `io`'s streams; otherwise thread-safe.
// A line suggesting the TLS flags when `s` looks like a plaintext client
// refused by a TLS member and `tls` is false; "" otherwise.
std::string TlsHint(const common::Status& s, bool tls);

int RunCli(int argc, const char* const* argv, const CliIo& io);

}  // namespace replog::cli
