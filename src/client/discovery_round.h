#pragma once

// One round of discovery (Client::Discover): which member to ask for
// GetServers next, and what the answers add up to. The decisions only; the
// caller makes the calls, with gRPC's sync API (Client::Discover) or its
// callback API (AsyncProduce), so that both follow the same rules. Internal
// to the client library. Not thread-safe: one per round, used by one thread
// at a time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock.h"
#include "common/status.h"
#include "replog/v1/log.pb.h"

namespace replog {

class Members;

class DiscoveryRound {
 public:
  // Asks the addresses of members.DiscoveryOrder() in turn, each call bounded
  // by call_timeout_ns, none started at or after deadline_ns. `members` must
  // outlive the round; answers update its view.
  DiscoveryRound(Members& members, int64_t deadline_ns, int64_t call_timeout_ns);

  struct Call {
    std::string address;
    int64_t timeout_ns = 0;
  };
  // The next member to ask, or nullopt when the round is over: a member named
  // a leader, every address was asked, or the deadline passed.
  std::optional<Call> Next(int64_t now_ns);
  // Takes the outcome of the call Next() returned last.
  void OnAnswer(const grpc::Status& status, const v1::GetServersResponse& response);
  // After Next() returned nullopt: OK when some member answered (with a leader
  // or without one), else kUnavailable naming each address and its error.
  common::Status Finish() const;

 private:
  Members& members_;
  const int64_t deadline_ns_;
  const int64_t call_timeout_ns_;
  std::vector<std::string> order_;
  size_t next_ = 0;
  std::string errors_;
  bool answered_ = false;
  bool found_leader_ = false;
};

// A whole round with gRPC's sync API, each call waiting for its member's
// connection first (Members::Connected): what Client and KvClient run to
// learn the members. Returns Finish()'s status. Thread-safe as Members is.
common::Status DiscoverBlocking(Members& members, common::Clock& clock, int64_t deadline_ns,
                                int64_t call_timeout_ns);

}  // namespace replog
