#pragma once

// KvWriteStreams and KvReadStreams: the KV.WriteStream and KV.ReadStream
// calls (kv.proto) that carry a KvClient's asynchronous attempts (PutAsync,
// GetAsync): RequestStreams (request_streams.h, which says how each attempt
// ends) over each kind, each attempt ending as a KvStreamAttempt whose
// response holds the result. Threads and lifetime: as RequestStreams.

#include <memory>
#include <string>
#include <utility>

#include "client/request_streams.h"
#include "client/rpc_outcome.h"
#include "replog/v1/kv.grpc.pb.h"

namespace replog {

// How one attempt on a stream ended. `status` is gRPC's (the member's
// answer or the stream's end); the caller names the operation.
template <typename Response>
struct KvStreamAttempt {
  std::string address;
  AttemptClass cls = AttemptClass::kFinal;
  grpc::Status status;
  LeaderHint hint;
  Response response;  // the member's answer, if any
};

// What both kinds share; `Derived` gives Open(stub, ctx, reactor).
template <typename Req, typename Resp>
struct KvStreamTraits {
  using Stub = v1::KV::Stub;
  using Request = Req;
  using Response = Resp;
  using Attempt = KvStreamAttempt<Resp>;

  static std::unique_ptr<Stub> NewStub(const std::shared_ptr<grpc::Channel>& channel) {
    return v1::KV::NewStub(channel);
  }
  static Attempt Answered(const std::string& address, Resp resp) {
    Attempt a;
    a.address = address;
    a.status = StreamedStatus(resp.error_code(), resp.error_message());
    a.hint = LeaderHint{.from_member = true, .id = resp.leader_id(), .address = resp.leader_address()};
    // A write's outcome classes are a produce's (rpc_outcome.h); a read
    // only looks at the status.
    a.cls = ClassifyProduce(a.status, a.hint);
    a.response = std::move(resp);
    return a;
  }
  static Attempt Ended(const std::string& address, AttemptClass cls, const grpc::Status& status) {
    Attempt a;
    a.address = address;
    a.cls = cls;
    a.status = status;
    return a;
  }
};

struct KvWriteStreamTraits : KvStreamTraits<v1::KvWriteRequest, v1::KvWriteResponse> {
  static void Open(Stub& stub, grpc::ClientContext* ctx, grpc::ClientBidiReactor<Request, Response>* reactor) {
    stub.async()->WriteStream(ctx, reactor);
  }
};

struct KvReadStreamTraits : KvStreamTraits<v1::KvReadRequest, v1::KvReadResponse> {
  static void Open(Stub& stub, grpc::ClientContext* ctx, grpc::ClientBidiReactor<Request, Response>* reactor) {
    stub.async()->ReadStream(ctx, reactor);
  }
};

extern template class RequestStreams<KvWriteStreamTraits>;
extern template class RequestStreams<KvReadStreamTraits>;

class KvWriteStreams final : public RequestStreams<KvWriteStreamTraits> {
 public:
  using RequestStreams::RequestStreams;
};

class KvReadStreams final : public RequestStreams<KvReadStreamTraits> {
 public:
  using RequestStreams::RequestStreams;
};

}  // namespace replog
