#pragma once

// ProduceStreams: the ProduceStream calls (log.proto) that carry a Client's
// asynchronous produce attempts (ProduceAsync): RequestStreams
// (request_streams.h, which says how each attempt ends) over
// Log.ProduceStream, each attempt ending as a ProduceAttempt
// (produce_retry.h) whose response holds the offsets.
// Threads and lifetime: as RequestStreams.

#include <memory>
#include <string>

#include "client/produce_retry.h"
#include "client/request_streams.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

struct ProduceStreamTraits {
  using Stub = v1::Log::Stub;
  using Request = v1::ProduceRequest;
  using Response = v1::ProduceResponse;
  using Attempt = ProduceAttempt;

  static std::unique_ptr<Stub> NewStub(const std::shared_ptr<grpc::Channel>& channel) {
    return v1::Log::NewStub(channel);
  }
  static void Open(Stub& stub, grpc::ClientContext* ctx, grpc::ClientBidiReactor<Request, Response>* reactor) {
    stub.async()->ProduceStream(ctx, reactor);
  }
  static ProduceAttempt Answered(const std::string& address, v1::ProduceResponse resp);
  static ProduceAttempt Ended(const std::string& address, AttemptClass cls, const grpc::Status& status);
};

extern template class RequestStreams<ProduceStreamTraits>;

class ProduceStreams final : public RequestStreams<ProduceStreamTraits> {
 public:
  using RequestStreams::RequestStreams;
};

}  // namespace replog
