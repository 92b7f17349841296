#pragma once

// What a Client knows of the cluster: the members' addresses (from
// GetServers and the bootstrap list), the leader, and one gRPC channel per
// address, made on first use and kept for the Client's life. Internal to the
// client library. Thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "client/types.h"

namespace replog {

class Members {
 public:
  // keepalive_ms > 0: channels ping an idle connection that often and drop
  // it when no answer comes within keepalive_ms (a stopped member).
  // `credentials`: of every channel; nullptr: plaintext.
  Members(std::vector<std::string> bootstrap, int max_receive_bytes, int64_t keepalive_ms,
          std::shared_ptr<grpc::ChannelCredentials> credentials);

  // The channel to `address`. Channels of one Members share no connection
  // with other Clients' (a local subchannel pool), reconnect within a
  // second of a member's return, and accept responses up to
  // max_receive_bytes.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address);
  // Channel(address), once its connection is up, has failed (after one
  // short wait for a retry that was due), or timeout_ns has passed. A sync call on a channel that is still connecting fails at
  // once, and gRPC 1.51's sync client notices a connection that completed
  // meanwhile only from its backup poller (every 5 s): a restarted member
  // would stay unusable that long. Waiting here drives the connection.
  std::shared_ptr<grpc::Channel> Connected(const std::string& address, int64_t timeout_ns);

  // Takes the view of a GetServers answer; its leader becomes the leader.
  void Update(const ClusterView& view);
  ClusterView view() const;

  // The leader's address, "" when none is known.
  std::string leader_address() const;
  // Takes a leader hint (id may be 0 when the member did not say).
  void SetLeader(uint64_t id, const std::string& address);
  // Forgets the leader if it is still `address` (a call to it failed).
  void ForgetLeader(const std::string& address);

  // Every address known: the members of the view, then bootstrap addresses
  // not among them, starting at a position that moves by one per call so
  // that discovery does not always ask the same member first.
  std::vector<std::string> DiscoveryOrder();

  // Where a read goes, in the order to try (types.h, ReadFrom): the
  // preferred members in round robin, then the others, then bootstrap
  // addresses not in the view.
  std::vector<std::string> ReadOrder(ReadFrom from);

 private:
  std::vector<std::string> MemberAddresses() const;  // mu_ held
  void AppendBootstrap(std::vector<std::string>* out) const;  // mu_ held

  const std::vector<std::string> bootstrap_;
  const int max_receive_bytes_;
  const int64_t keepalive_ms_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  mutable std::mutex mu_;
  ClusterView view_;
  std::string leader_address_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  uint64_t discovery_rr_ = 0;
  uint64_t read_rr_ = 0;
};

}  // namespace replog
