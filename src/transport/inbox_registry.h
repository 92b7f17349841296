#pragma once

// InboxRegistry: the inboxes of the Raft groups hosted by this process, by
// group id. Part of GrpcTransport.
//
// Calls into an inbox run under a read lock, so Unregister (which takes the
// write lock) returns only once no call is running and none can start: the
// guarantee Transport::Unregister promises. Inbox methods must therefore
// not call Register or Unregister. Thread-safe.

#include <shared_mutex>
#include <unordered_map>
#include <utility>

#include "common/status.h"
#include "transport/transport.h"

namespace transport {

class InboxRegistry {
 public:
  // kFailedPrecondition if `group` is already registered; kInvalidArgument
  // for a null inbox.
  common::Status Register(GroupId group, Inbox* inbox);
  // Blocks until calls into the group's inbox have returned.
  void Unregister(GroupId group);

  // Calls fn(Inbox&) for `group` under the read lock; false (fn not called)
  // when the group is not registered.
  template <typename Fn>
  bool With(GroupId group, Fn&& fn) const {
    std::shared_lock lock(mu_);
    auto it = inboxes_.find(group);
    if (it == inboxes_.end()) return false;
    std::forward<Fn>(fn)(*it->second);
    return true;
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<GroupId, Inbox*> inboxes_;
};

}  // namespace transport
