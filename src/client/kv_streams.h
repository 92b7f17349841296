#pragma once

// KvWriteStreams: the KV.WriteStream calls (kv.proto) that carry a
// KvClient's asynchronous write attempts (PutAsync): RequestStreams
// (request_streams.h, which says how each attempt ends) over KV.WriteStream,
// each attempt ending as a KvStreamAttempt whose response holds the result.
// Threads and lifetime: as RequestStreams.

#include <memory>
#include <string>

#include "client/request_streams.h"
#include "client/rpc_outcome.h"
#include "replog/v1/kv.grpc.pb.h"

namespace replog {

// How one write attempt on a stream ended. `status` is gRPC's (the member's
// answer or the stream's end); the write's caller names the operation.
struct KvStreamAttempt {
  std::string address;
  AttemptClass cls = AttemptClass::kFinal;
  grpc::Status status;
  LeaderHint hint;
  v1::KvWriteResponse response;  // the member's answer, if any
};

struct KvWriteStreamTraits {
  using Stub = v1::KV::Stub;
  using Request = v1::KvWriteRequest;
  using Response = v1::KvWriteResponse;
  using Attempt = KvStreamAttempt;

  static std::unique_ptr<Stub> NewStub(const std::shared_ptr<grpc::Channel>& channel) {
    return v1::KV::NewStub(channel);
  }
  static void Open(Stub& stub, grpc::ClientContext* ctx, grpc::ClientBidiReactor<Request, Response>* reactor) {
    stub.async()->WriteStream(ctx, reactor);
  }
  static KvStreamAttempt Answered(const std::string& address, v1::KvWriteResponse resp);
  static KvStreamAttempt Ended(const std::string& address, AttemptClass cls, const grpc::Status& status);
};

extern template class RequestStreams<KvWriteStreamTraits>;

class KvWriteStreams final : public RequestStreams<KvWriteStreamTraits> {
 public:
  using RequestStreams::RequestStreams;
};

}  // namespace replog
