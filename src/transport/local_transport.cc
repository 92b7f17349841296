#include "transport/local_transport.h"

#include <algorithm>
#include <chrono>

namespace transport {

LocalNetwork::LocalNetwork(common::Clock& clock) : clock_(clock) {
  thread_ = std::thread([this] { Run(); });
}

LocalNetwork::~LocalNetwork() {
  {
    std::lock_guard<std::mutex> l(mu_);
    CHECK_MSG(endpoints_.empty(), "LocalNetwork destroyed before its transports");
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void LocalNetwork::Isolate(NodeId id) {
  std::lock_guard<std::mutex> l(mu_);
  isolated_.insert(id);
}

void LocalNetwork::DropBetween(NodeId a, NodeId b) {
  std::lock_guard<std::mutex> l(mu_);
  dropped_links_.insert({std::min(a, b), std::max(a, b)});
}

void LocalNetwork::Heal() {
  std::lock_guard<std::mutex> l(mu_);
  isolated_.clear();
  dropped_links_.clear();
}

void LocalNetwork::SetDelay(int64_t delay_ns) {
  std::lock_guard<std::mutex> l(mu_);
  delay_ns_ = std::max<int64_t>(0, delay_ns);
}

void LocalNetwork::Attach(NodeId id, const std::string& address) {
  std::lock_guard<std::mutex> l(mu_);
  CHECK_MSG(!endpoints_.contains(address), "LocalNetwork: address " + address + " attached twice");
  endpoints_[address].id = id;
}

void LocalNetwork::Detach(const std::string& address) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = endpoints_.find(address);
  if (it == endpoints_.end()) return;
  std::vector<Inbox*> inboxes;
  for (const auto& [group, inbox] : it->second.inboxes) inboxes.push_back(inbox);
  endpoints_.erase(it);
  idle_cv_.wait(l, [&] { return std::find(inboxes.begin(), inboxes.end(), busy_inbox_) == inboxes.end(); });
}

common::Status LocalNetwork::RegisterInbox(const std::string& address, GroupId group, Inbox* inbox) {
  std::lock_guard<std::mutex> l(mu_);
  Endpoint& ep = endpoints_.at(address);
  if (ep.inboxes.contains(group)) {
    return common::FailedPreconditionError("local transport " + address + ": group " + std::to_string(group) +
                                           " already registered");
  }
  ep.inboxes[group] = inbox;
  return common::Status::Ok();
}

void LocalNetwork::UnregisterInbox(const std::string& address, GroupId group) {
  std::unique_lock<std::mutex> l(mu_);
  auto it = endpoints_.find(address);
  if (it == endpoints_.end()) return;
  auto in = it->second.inboxes.find(group);
  if (in == it->second.inboxes.end()) return;
  Inbox* inbox = in->second;
  it->second.inboxes.erase(in);
  idle_cv_.wait(l, [&] { return busy_inbox_ != inbox; });
}

void LocalNetwork::Enqueue(std::vector<Item> items) {
  if (items.empty()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    int64_t at = delay_ns_ > 0 ? clock_.NowNanos() + delay_ns_ : 0;
    // Never before an item queued earlier: the queue stays in delivery order.
    if (at > 0 && !queue_.empty()) at = std::max(at, queue_.back().deliver_at_ns);
    for (Item& it : items) {
      it.deliver_at_ns = at;
      queue_.push_back(std::move(it));
    }
  }
  work_cv_.notify_one();
}

void LocalNetwork::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    int64_t at = queue_.front().deliver_at_ns;
    if (at > 0) {
      int64_t now = clock_.NowNanos();
      if (now < at) {
        work_cv_.wait_for(l, std::chrono::nanoseconds(at - now));
        continue;
      }
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    DeliverLocked(l, std::move(item));
  }
}

bool LocalNetwork::DroppedLocked(NodeId a, NodeId b) const {
  return isolated_.contains(a) || isolated_.contains(b) || dropped_links_.contains({std::min(a, b), std::max(a, b)});
}

Inbox* LocalNetwork::InboxLocked(const std::string& address, GroupId group) const {
  auto it = endpoints_.find(address);
  if (it == endpoints_.end()) return nullptr;
  auto in = it->second.inboxes.find(group);
  return in == it->second.inboxes.end() ? nullptr : in->second;
}

template <typename Fn>
void LocalNetwork::CallLocked(std::unique_lock<std::mutex>& lock, Inbox* inbox, Fn fn) {
  if (inbox == nullptr) return;
  busy_inbox_ = inbox;
  lock.unlock();
  fn(inbox);
  lock.lock();
  busy_inbox_ = nullptr;
  idle_cv_.notify_all();
}

void LocalNetwork::DeliverLocked(std::unique_lock<std::mutex>& lock, Item item) {
  const NodeId to = item.to;
  if (item.kind == ItemKind::kUnreachable) {
    CallLocked(lock, InboxLocked(item.from_address, item.group), [to](Inbox* in) { in->ReportUnreachable(to); });
    return;
  }
  auto ep = endpoints_.find(item.to_address);
  bool reachable = ep != endpoints_.end() && ep->second.id == to;
  if (!reachable || DroppedLocked(item.from, to)) {
    dropped_ += item.msgs.size();
    Inbox* sender = InboxLocked(item.from_address, item.group);
    if (item.snapshot) {
      CallLocked(lock, sender, [to](Inbox* in) {
        in->ReportSnapshot(to, true);
        in->ReportUnreachable(to);
      });
    } else if (!reachable) {
      CallLocked(lock, sender, [to](Inbox* in) { in->ReportUnreachable(to); });
    }
    return;
  }
  Inbox* dest = InboxLocked(item.to_address, item.group);
  if (dest == nullptr) {
    dropped_ += item.msgs.size();
    return;
  }
  delivered_ += item.msgs.size();
  CallLocked(lock, dest, [&item](Inbox* in) { in->Deliver(std::move(item.msgs)); });
  if (item.snapshot) {
    CallLocked(lock, InboxLocked(item.from_address, item.group), [to](Inbox* in) { in->ReportSnapshot(to, false); });
  }
}

LocalTransport::LocalTransport(LocalNetwork& network, NodeId self, std::string address)
    : network_(network), self_(self), address_(std::move(address)) {
  network_.Attach(self_, address_);
}

LocalTransport::~LocalTransport() { network_.Detach(address_); }

common::Status LocalTransport::Register(GroupId group, Inbox* inbox) {
  return network_.RegisterInbox(address_, group, inbox);
}

void LocalTransport::Unregister(GroupId group) { network_.UnregisterInbox(address_, group); }

void LocalTransport::SetPeer(NodeId id, const std::string& address) {
  std::lock_guard<std::mutex> l(mu_);
  peers_[id] = address;
}

void LocalTransport::RemovePeer(NodeId id) {
  std::lock_guard<std::mutex> l(mu_);
  peers_.erase(id);
}

void LocalTransport::Send(GroupId group, std::vector<raft::Message> msgs) {
  using Item = LocalNetwork::Item;
  std::vector<Item> items;
  std::map<NodeId, size_t> open;  // destination -> its item still taking messages
  {
    std::lock_guard<std::mutex> l(mu_);
    for (raft::Message& m : msgs) {
      const NodeId to = m.to;
      auto peer = peers_.find(to);
      if (peer == peers_.end()) {
        if (open.contains(to)) continue;  // already reported for this Send
        items.push_back(Item{.kind = LocalNetwork::ItemKind::kUnreachable, .from = self_, .to = to,
                             .from_address = address_, .group = group});
        open[to] = items.size() - 1;
        continue;
      }
      bool snap = m.snapshot.has_value();
      auto it = open.find(to);
      if (snap || it == open.end()) {
        items.push_back(Item{.from = self_, .to = to, .from_address = address_, .to_address = peer->second,
                             .group = group, .snapshot = snap});
        items.back().msgs.push_back(std::move(m));
        // A snapshot travels alone: what follows it goes in a new item.
        if (snap) {
          open.erase(to);
        } else {
          open[to] = items.size() - 1;
        }
        continue;
      }
      items[it->second].msgs.push_back(std::move(m));
    }
  }
  network_.Enqueue(std::move(items));
}

}  // namespace transport
