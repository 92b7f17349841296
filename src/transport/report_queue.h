#pragma once

// ReportQueue: hands the transport's reports (unreachable peers, ended
// snapshot sends) to the inboxes from a thread of its own. Part of
// GrpcTransport.
//
// Why a thread: reports arise inside Transport::Send (a full queue, an
// unknown peer), on sender threads and on snapshot threads. Calling the inbox
// there would re-enter the caller (a raft::Node calling Send holds its own
// state) or stall a sender; queuing keeps every inbox call on one thread that
// holds no transport lock. Unreachable reports for the same (group, peer)
// that are still pending coalesce into one: Raft only needs to know once.

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "transport/inbox_registry.h"
#include "transport/transport.h"

namespace transport {

class ReportQueue {
 public:
  // Starts the thread. `inboxes` must outlive this object.
  explicit ReportQueue(const InboxRegistry& inboxes);
  ~ReportQueue();  // Stop()
  ReportQueue(const ReportQueue&) = delete;
  ReportQueue& operator=(const ReportQueue&) = delete;

  // Queues Inbox::ReportUnreachable(peer) for `group`. Thread-safe.
  void Unreachable(GroupId group, NodeId peer);
  // Queues Inbox::ReportSnapshot(peer, failed) for `group`. Thread-safe.
  void SnapshotDone(GroupId group, NodeId peer, bool failed);
  // Drops what is pending and joins the thread; later reports are dropped.
  // Idempotent.
  void Stop();

 private:
  struct Report {
    enum class Kind { kUnreachable, kSnapshot } kind;
    GroupId group;
    NodeId peer;
    bool failed;
  };

  void Push(const Report& report);
  void Run();

  const InboxRegistry& inboxes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Report> pending_;  // guarded by mu_
  bool stop_ = false;            // guarded by mu_
  std::thread thread_;
};

}  // namespace transport
