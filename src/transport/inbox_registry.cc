#include "transport/inbox_registry.h"

#include <mutex>
#include <string>

namespace transport {

common::Status InboxRegistry::Register(GroupId group, Inbox* inbox) {
  if (inbox == nullptr) return common::InvalidArgumentError("null inbox for group " + std::to_string(group));
  std::unique_lock lock(mu_);
  if (!inboxes_.emplace(group, inbox).second) {
    return common::FailedPreconditionError("group " + std::to_string(group) + " is already registered");
  }
  return common::Status::Ok();
}

void InboxRegistry::Unregister(GroupId group) {
  std::unique_lock lock(mu_);
  inboxes_.erase(group);
}

}  // namespace transport
