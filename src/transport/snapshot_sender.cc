#include "transport/snapshot_sender.h"
#include "common/thread_name.h"

#include <algorithm>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "replog/v1/peer.grpc.pb.h"
#include "transport/codec.h"

namespace transport {

SnapshotSender::SnapshotSender(std::shared_ptr<grpc::Channel> channel, GroupId group,
                               raft::Message msg, const GrpcTransportOptions& options,
                               ReportQueue& reports, internal::Counters& counters)
    : channel_(std::move(channel)),
      group_(group),
      to_(msg.to),
      msg_(std::move(msg)),
      options_(options),
      reports_(reports),
      counters_(counters) {
  CHECK(msg_.snapshot.has_value());
  // A peer that is down fails the send at once; Raft retries later.
  context_.set_wait_for_ready(false);
  thread_ = std::thread([this] { Run(); });
}

SnapshotSender::~SnapshotSender() {
  Cancel();
  Join();
}

void SnapshotSender::Join() {
  if (thread_.joinable()) thread_.join();
}

void SnapshotSender::Run() {
  common::SetThreadName("snap-send");
  const grpc::Status status = Send();
  const bool failed = !status.ok();
  if (failed) {
    internal::Add(counters_.snapshots_failed);
    spdlog::warn("transport: snapshot of group {} to peer {} failed: {} (code {})", group_, to_,
                 status.error_message(), static_cast<int>(status.error_code()));
  } else {
    internal::Add(counters_.snapshots_sent);
  }
  reports_.SnapshotDone(group_, to_, failed);
  done_.store(true, std::memory_order_release);
}

grpc::Status SnapshotSender::Send() {
  auto stub = replog::v1::Peer::NewStub(channel_);
  replog::v1::SnapshotAck ack;
  auto writer = stub->SendSnapshot(&context_, &ack);

  const std::string data = std::move(msg_.snapshot->data);
  replog::v1::SnapshotChunk chunk;
  chunk.set_group(group_);
  chunk.set_from_node(options_.self);
  chunk.set_to_node(to_);
  EncodeMessage(std::move(msg_), chunk.mutable_message());
  // Leave room for the message and framing in the first chunk.
  const size_t chunk_bytes = std::clamp<size_t>(options_.snapshot_chunk_bytes, 1,
                                                static_cast<size_t>(options_.max_message_bytes) / 2);
  size_t offset = 0;
  do {
    const size_t n = std::min(chunk_bytes, data.size() - offset);
    chunk.set_data(data.data() + offset, n);
    offset += n;
    chunk.set_last(offset == data.size());
    // A failed write ends the call; Finish says why.
    if (!writer->Write(chunk)) break;
    chunk.clear_message();
  } while (offset < data.size());
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace transport
