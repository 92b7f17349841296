#include "transport/peer_sender.h"
#include "common/thread_name.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include "transport/codec.h"

namespace transport {
namespace {

// Wire bytes of an entry beyond its data, rounded up: tags, varints and the
// length prefixes of the nesting (entry in message in batch).
constexpr uint64_t kEntryOverhead = 40;
constexpr uint64_t kMessageOverhead = 96;
// A batch that grew past this is freed after its write rather than kept for
// reuse, so that one catch-up burst does not pin its memory.
constexpr uint64_t kMaxReusedBatchBytes = 4 << 20;

uint64_t Seed(uint64_t seed, NodeId peer) {
  if (seed == 0) return std::random_device{}() ^ peer;
  return seed ^ (peer * 0x9E3779B97F4A7C15ull);
}

}  // namespace

uint64_t MessageBytes(const raft::Message& msg) {
  uint64_t bytes = kMessageOverhead + msg.context.size();
  for (const raft::Entry& e : msg.entries) bytes += e.data.size() + kEntryOverhead;
  if (msg.snapshot.has_value()) {
    const raft::ConfState& cs = msg.snapshot->meta.conf_state;
    bytes += 10 * (cs.voters.size() + cs.learners.size() + cs.voters_outgoing.size() +
                   cs.learners_next.size());
  }
  return bytes;
}

PeerSender::PeerSender(NodeId peer, std::string address, const GrpcTransportOptions& options,
                       ReportQueue& reports, internal::Counters& counters)
    : peer_(peer),
      address_(std::move(address)),
      options_(options),
      reports_(reports),
      counters_(counters),
      channel_(NewPeerChannel(address_, options)),
      stub_(replog::v1::Peer::NewStub(channel_)),
      rng_(Seed(options.seed, peer)) {
  thread_ = std::thread([this] { Run(); });
}

PeerSender::~PeerSender() { Stop(); }

PeerSender::EnqueueResult PeerSender::Enqueue(GroupId group, raft::Message&& msg) {
  const uint64_t bytes = MessageBytes(msg);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return EnqueueResult::kStopped;
    if (state_ == State::kBackoff) return EnqueueResult::kDisconnected;
    if (queue_.size() >= options_.max_queue_messages || queue_bytes_ + bytes > options_.max_queue_bytes) {
      return EnqueueResult::kQueueFull;
    }
    queue_.push_back(Item{.group = group, .msg = std::move(msg), .bytes = bytes});
    queue_bytes_ += bytes;
    wake = queue_.size() == 1;
  }
  // After unlocking: woken under the lock, the sender would only wait for it
  // (on 2 vCPUs, a switch there and back for every round).
  if (wake) cv_.notify_one();
  return EnqueueResult::kQueued;
}

void PeerSender::Stop() {
  {
    std::lock_guard lock(mu_);
    state_ = State::kStopped;
    queue_.clear();
    queue_bytes_ = 0;
    // Unblocks a Write stuck on a peer that does not read (stopped, cut off).
    if (context_) context_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeerSender::Run() {
  common::SetThreadName("peer-send-" + std::to_string(peer_));
  std::vector<Item> items;
  while (TakeQueue(&items)) {
    if (!writer_ && !OpenStream()) break;
    if (WriteItems(items)) {
      backoff_ms_ = 0;
      std::lock_guard lock(mu_);
      if (state_ == State::kConnecting) state_ = State::kReady;
      if (logged_failure_) {
        spdlog::info("transport: stream to peer {} at {} is up again", peer_, address_);
        logged_failure_ = false;
      }
    } else {
      const grpc::Status status = CloseStream();
      if (stopping()) break;
      if (!logged_failure_) {
        spdlog::warn("transport: stream to peer {} at {} failed: {} (code {}); retrying with backoff",
                     peer_, address_, status.error_message(), static_cast<int>(status.error_code()));
        logged_failure_ = true;
      }
      FailAndBackOff(items);
    }
    items.clear();
  }
  CloseStream();
}

bool PeerSender::stopping() {
  std::lock_guard lock(mu_);
  return state_ == State::kStopped;
}

bool PeerSender::TakeQueue(std::vector<Item>* items) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return state_ == State::kStopped || !queue_.empty(); });
  if (state_ == State::kStopped) return false;
  items->swap(queue_);
  queue_bytes_ = 0;
  return true;
}

bool PeerSender::OpenStream() {
  auto context = std::make_unique<grpc::ClientContext>();
  // Fail at once while the channel is down rather than wait for it: the
  // messages are reported unreachable and Raft decides what to resend.
  context->set_wait_for_ready(false);
  // Starting the call sends nothing: its headers go with the first batch,
  // so opening the stream never blocks.
  context->set_initial_metadata_corked(true);
  grpc::ClientContext* raw = nullptr;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return false;
    context_ = std::move(context);
    raw = context_.get();
  }
  writer_ = stub_->Stream(raw, &summary_);
  stream_rounds_ = 0;
  return true;
}

bool PeerSender::WriteItems(std::vector<Item>& items) {
  const uint64_t limit = static_cast<uint64_t>(options_.max_message_bytes) -
                         static_cast<uint64_t>(options_.max_message_bytes) / 16;
  size_t used = 0;  // batches_[0, used) hold this round's groups
  first_write_of_round_ = true;
  for (Item& item : items) {
    if (item.bytes > limit) {
      internal::Add(counters_.dropped_oversize);
      reports_.Unreachable(item.group, peer_);
      continue;
    }
    Pending& pending = BatchFor(item.group, &used);
    // Split rather than exceed the message size limit; the group's order
    // holds because the earlier part is written first.
    if (pending.bytes + item.bytes > limit && !WriteBatch(pending)) return false;
    EncodeMessage(std::move(item.msg), pending.batch.add_messages());
    pending.bytes += item.bytes;
  }
  for (size_t i = 0; i < used; ++i) {
    if (batches_[i].batch.messages_size() > 0 && !WriteBatch(batches_[i])) return false;
  }
  return true;
}

PeerSender::Pending& PeerSender::BatchFor(GroupId group, size_t* used) {
  for (size_t i = 0; i < *used; ++i) {
    if (batches_[i].batch.group() == group) return batches_[i];
  }
  if (*used == batches_.size()) batches_.emplace_back();
  Pending& pending = batches_[(*used)++];
  pending.batch.Clear();  // keeps its messages allocated for reuse
  pending.batch.set_group(group);
  pending.batch.set_from_node(options_.self);
  pending.batch.set_to_node(peer_);
  pending.bytes = 0;
  return pending;
}

bool PeerSender::WriteBatch(Pending& pending) {
  if (!writer_->Write(pending.batch)) {
    // A stream that carried several rounds may have died while idle (the
    // peer restarted, keepalive closed the connection). If nothing of this
    // round was written yet, one retry on a fresh stream cannot duplicate or
    // reorder anything, and spares Raft a needless unreachable report. A
    // stream that failed on its first or second round gets no retry: the peer
    // refuses it (misrouted, shutting down), and retrying would hide that.
    if (!first_write_of_round_ || stream_rounds_ < 2) return false;
    CloseStream();
    if (!OpenStream() || !writer_->Write(pending.batch)) return false;
  }
  if (first_write_of_round_) ++stream_rounds_;
  first_write_of_round_ = false;
  internal::Add(counters_.batches_sent);
  internal::Add(counters_.messages_sent, static_cast<uint64_t>(pending.batch.messages_size()));
  if (pending.bytes > kMaxReusedBatchBytes) {
    // Do not keep a catch-up burst's memory around for reuse.
    const GroupId group = pending.batch.group();
    pending.batch = replog::v1::PeerBatch();
    pending.batch.set_group(group);
    pending.batch.set_from_node(options_.self);
    pending.batch.set_to_node(peer_);
  } else {
    pending.batch.clear_messages();
  }
  pending.bytes = 0;
  return true;
}

grpc::Status PeerSender::CloseStream() {
  if (!writer_) return grpc::Status::OK;
  // A healthy stream is only closed by Stop, which cancelled it already: no
  // WritesDone handshake to wait for.
  grpc::Status status = writer_->Finish();
  writer_.reset();
  std::lock_guard lock(mu_);
  context_.reset();
  return status;
}

void PeerSender::FailAndBackOff(std::vector<Item>& items) {
  internal::Add(counters_.stream_failures);
  std::vector<Item> dropped;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return;
    state_ = State::kBackoff;
    dropped.swap(queue_);
    queue_bytes_ = 0;
  }
  // The written part of `items` may or may not have arrived; Raft treats
  // both alike. Each group hears of the failure once (the queue coalesces).
  internal::Add(counters_.dropped_disconnected, items.size() + dropped.size());
  for (const Item& item : items) reports_.Unreachable(item.group, peer_);
  for (const Item& item : dropped) reports_.Unreachable(item.group, peer_);

  const auto wait = std::chrono::milliseconds(NextBackoffMs());
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [this] { return state_ == State::kStopped; });
  if (state_ != State::kStopped) state_ = State::kConnecting;
}

int64_t PeerSender::NextBackoffMs() {
  backoff_ms_ = backoff_ms_ == 0 ? options_.backoff_initial_ms
                                 : std::min(options_.backoff_max_ms, backoff_ms_ * 2);
  std::uniform_real_distribution<double> factor(1.0 - options_.backoff_jitter,
                                                1.0 + options_.backoff_jitter);
  return std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(backoff_ms_) * factor(rng_)));
}

}  // namespace transport
