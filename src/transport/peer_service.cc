#include "transport/peer_service.h"

#include <optional>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "transport/codec.h"

namespace transport {
namespace {

grpc::Status Refused(grpc::StatusCode code, std::string message) {
  return grpc::Status(code, std::move(message));
}

}  // namespace

PeerService::PeerService(const GrpcTransportOptions& options, const InboxRegistry& inboxes,
                         internal::Counters& counters)
    : options_(options), inboxes_(inboxes), counters_(counters) {}

bool PeerService::Enter(grpc::ServerContextBase* context) {
  std::lock_guard lock(mu_);
  if (shutdown_) return false;
  active_.insert(context);
  return true;
}

void PeerService::Leave(grpc::ServerContextBase* context) {
  std::lock_guard lock(mu_);
  active_.erase(context);
  if (active_.empty()) idle_cv_.notify_all();
}

void PeerService::Shutdown() {
  std::unique_lock lock(mu_);
  shutdown_ = true;
  // A cancelled call's pending read fails: each Stream reactor finishes and
  // each SendSnapshot handler returns.
  for (grpc::ServerContextBase* context : active_) context->TryCancel();
  idle_cv_.wait(lock, [this] { return active_.empty(); });
}

// One inbound stream: reads batch after batch and routes each, until the
// sender closes the stream (OK), the call is cancelled, or a batch names
// another node (FAILED_PRECONDITION). Deletes itself in OnDone, after which
// Shutdown may return.
class PeerService::StreamReactor final : public grpc::ServerReadReactor<replog::v1::PeerBatch> {
 public:
  StreamReactor(PeerService& service, grpc::CallbackServerContext* context, replog::v1::PeerStreamSummary* summary)
      : service_(service), context_(context), summary_(summary) {
    if (!service_.Enter(context_)) {
      entered_ = false;
      Finish(Refused(grpc::StatusCode::UNAVAILABLE, "node is shutting down"));
      return;
    }
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the sender closed the stream, or the call was cancelled
      summary_->set_batches_received(batches_);
      Finish(grpc::Status::OK);
      return;
    }
    ++batches_;
    if (batch_.to_node() != service_.options_.self) {
      Finish(Refused(grpc::StatusCode::FAILED_PRECONDITION,
                     "batch for node " + std::to_string(batch_.to_node()) + " reached node " +
                         std::to_string(service_.options_.self)));
      return;
    }
    service_.Route(batch_, &logged_);
    StartRead(&batch_);
  }

  void OnDone() override {
    if (entered_) service_.Leave(context_);
    delete this;
  }

 private:
  PeerService& service_;
  grpc::CallbackServerContext* const context_;
  replog::v1::PeerStreamSummary* const summary_;
  // One batch for the whole stream: parsing into it reuses its messages.
  replog::v1::PeerBatch batch_;
  uint64_t batches_ = 0;
  bool logged_ = false;
  bool entered_ = true;
};

grpc::ServerReadReactor<replog::v1::PeerBatch>* PeerService::Stream(grpc::CallbackServerContext* context,
                                                                    replog::v1::PeerStreamSummary* summary) {
  return new StreamReactor(*this, context, summary);
}

void PeerService::Route(replog::v1::PeerBatch& batch, bool* logged) {
  internal::Add(counters_.batches_received);
  std::vector<raft::Message> msgs;
  msgs.reserve(static_cast<size_t>(batch.messages_size()));
  for (replog::v1::RaftMessage& wire : *batch.mutable_messages()) {
    common::Result<raft::Message> msg = DecodeMessage(std::move(wire));
    // A snapshot only travels whole, through SendSnapshot.
    if (msg.has_value() && msg->type == raft::MessageType::kSnap) {
      msg = common::InvalidArgumentError("a snapshot message on the stream");
    }
    if (!msg.has_value()) {
      internal::Add(counters_.dropped_invalid);
      if (!*logged) {
        spdlog::warn("transport: dropped a message from node {}: {}", batch.from_node(),
                     msg.error().ToString());
        *logged = true;
      }
      continue;
    }
    msgs.push_back(std::move(msg).value());
  }
  if (msgs.empty()) return;
  const uint64_t n = msgs.size();
  // Counted before the inbox sees them, so that stats never lag behind it.
  const bool delivered = inboxes_.With(batch.group(), [&](Inbox& inbox) {
    internal::Add(counters_.messages_received, n);
    inbox.Deliver(std::move(msgs));
  });
  if (!delivered) internal::Add(counters_.dropped_unknown_group, n);
}

grpc::Status PeerService::SendSnapshot(grpc::ServerContext* context,
                                       grpc::ServerReader<replog::v1::SnapshotChunk>* reader,
                                       replog::v1::SnapshotAck* /*ack*/) {
  if (!Enter(context)) return Refused(grpc::StatusCode::UNAVAILABLE, "node is shutting down");
  grpc::Status status = ReceiveSnapshot(reader);
  Leave(context);
  return status;
}

grpc::Status PeerService::ReceiveSnapshot(grpc::ServerReader<replog::v1::SnapshotChunk>* reader) {
  replog::v1::SnapshotChunk chunk;
  std::optional<raft::Message> msg;
  GroupId group = 0;
  std::string data;
  bool last = false;
  while (!last && reader->Read(&chunk)) {
    if (!msg.has_value()) {
      grpc::Status status = TakeSnapshotHeader(chunk, &msg);
      if (!status.ok()) return status;
      group = chunk.group();
    }
    if (data.size() + chunk.data().size() > options_.max_snapshot_bytes) {
      return Refused(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "snapshot larger than " + std::to_string(options_.max_snapshot_bytes) + " bytes");
    }
    if (data.empty()) {
      data = std::move(*chunk.mutable_data());
    } else {
      data.append(chunk.data());
    }
    last = chunk.last();
  }
  if (!last) return Refused(grpc::StatusCode::CANCELLED, "snapshot stream ended before its last chunk");
  msg->snapshot->data = std::move(data);
  const bool delivered = inboxes_.With(group, [&](Inbox& inbox) {
    internal::Add(counters_.snapshots_received);
    std::vector<raft::Message> msgs;
    msgs.push_back(std::move(*msg));
    inbox.Deliver(std::move(msgs));
  });
  if (!delivered) {
    internal::Add(counters_.dropped_unknown_group);
    return Refused(grpc::StatusCode::NOT_FOUND, "group " + std::to_string(group) + " is not hosted here");
  }
  return grpc::Status::OK;
}

grpc::Status PeerService::TakeSnapshotHeader(replog::v1::SnapshotChunk& chunk,
                                             std::optional<raft::Message>* msg) {
  if (!chunk.has_message()) {
    return Refused(grpc::StatusCode::INVALID_ARGUMENT, "first chunk without its message");
  }
  if (chunk.to_node() != options_.self) {
    return Refused(grpc::StatusCode::FAILED_PRECONDITION,
                   "snapshot for node " + std::to_string(chunk.to_node()) + " reached node " +
                       std::to_string(options_.self));
  }
  common::Result<raft::Message> decoded = DecodeMessage(std::move(*chunk.mutable_message()));
  if (!decoded.has_value()) return Refused(grpc::StatusCode::INVALID_ARGUMENT, decoded.error().ToString());
  if (decoded->type != raft::MessageType::kSnap) {
    return Refused(grpc::StatusCode::INVALID_ARGUMENT, "snapshot chunk without a kSnap message");
  }
  *msg = std::move(decoded).value();
  return grpc::Status::OK;
}

}  // namespace transport
