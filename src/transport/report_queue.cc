#include "transport/report_queue.h"
#include "common/thread_name.h"

#include <utility>

namespace transport {

ReportQueue::ReportQueue(const InboxRegistry& inboxes) : inboxes_(inboxes) {
  thread_ = std::thread([this] { Run(); });
}

ReportQueue::~ReportQueue() { Stop(); }

void ReportQueue::Unreachable(GroupId group, NodeId peer) {
  Push(Report{.kind = Report::Kind::kUnreachable, .group = group, .peer = peer, .failed = true});
}

void ReportQueue::SnapshotDone(GroupId group, NodeId peer, bool failed) {
  Push(Report{.kind = Report::Kind::kSnapshot, .group = group, .peer = peer, .failed = failed});
}

void ReportQueue::Push(const Report& report) {
  std::lock_guard lock(mu_);
  if (stop_) return;
  if (report.kind == Report::Kind::kUnreachable) {
    // The pending list holds at most one unreachable report per (group,
    // peer), so this scan stays short even when a full queue drops many
    // messages.
    for (const Report& r : pending_) {
      if (r.kind == report.kind && r.group == report.group && r.peer == report.peer) return;
    }
  }
  pending_.push_back(report);
  if (pending_.size() == 1) cv_.notify_one();
}

void ReportQueue::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    pending_.clear();
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ReportQueue::Run() {
  common::SetThreadName("peer-reports");
  std::vector<Report> batch;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (stop_) return;
    batch.swap(pending_);
    lock.unlock();
    for (const Report& r : batch) {
      inboxes_.With(r.group, [&r](Inbox& inbox) {
        if (r.kind == Report::Kind::kUnreachable) {
          inbox.ReportUnreachable(r.peer);
        } else {
          inbox.ReportSnapshot(r.peer, r.failed);
        }
      });
    }
    batch.clear();
    lock.lock();
  }
}

}  // namespace transport
