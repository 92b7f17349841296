#include "transport/grpc_options.h"

#include <algorithm>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>

namespace transport {
namespace {

int Ms(int64_t ms) { return static_cast<int>(std::clamp<int64_t>(ms, 1, INT32_MAX)); }

}  // namespace

void ConfigurePeerServer(const GrpcTransportOptions& options, grpc::ServerBuilder* builder) {
  builder->SetMaxReceiveMessageSize(options.max_message_bytes);
  builder->SetMaxSendMessageSize(options.max_message_bytes);
  // A peer stream sends no data back until it ends, so every keepalive ping
  // of the peer arrives "without data"; gRPC's default (5 min) would count
  // ours as abuse and close the connection.
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              Ms(options.keepalive_time_ms / 2));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Ms(options.keepalive_time_ms));
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Ms(options.keepalive_timeout_ms));
}

std::shared_ptr<grpc::Channel> NewPeerChannel(const std::string& address,
                                              const GrpcTransportOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, Ms(options.backoff_initial_ms));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Ms(options.backoff_max_ms));
  // Despite its name, the time one connection attempt may take.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Ms(options.connect_timeout_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Ms(options.keepalive_time_ms));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Ms(options.keepalive_timeout_ms));
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto creds = options.credentials ? options.credentials : grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(address, creds, args);
}

namespace internal {

GrpcTransportStats Counters::Read() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return GrpcTransportStats{
      .batches_sent = get(batches_sent),
      .messages_sent = get(messages_sent),
      .batches_received = get(batches_received),
      .messages_received = get(messages_received),
      .dropped_no_peer = get(dropped_no_peer),
      .dropped_queue_full = get(dropped_queue_full),
      .dropped_disconnected = get(dropped_disconnected),
      .dropped_oversize = get(dropped_oversize),
      .dropped_unknown_group = get(dropped_unknown_group),
      .dropped_invalid = get(dropped_invalid),
      .stream_failures = get(stream_failures),
      .snapshots_sent = get(snapshots_sent),
      .snapshots_failed = get(snapshots_failed),
      .snapshots_received = get(snapshots_received),
  };
}

}  // namespace internal
}  // namespace transport
