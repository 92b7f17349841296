#include "client/produce_streams.h"

#include <utility>

namespace replog {

ProduceAttempt ProduceStreamTraits::Answered(const std::string& address, v1::ProduceResponse resp) {
  const grpc::Status status = StreamedStatus(resp.error_code(), resp.error_message());
  ProduceAttempt a;
  a.address = address;
  a.hint = LeaderHint{.from_member = true, .id = resp.leader_id(), .address = resp.leader_address()};
  a.cls = ClassifyProduce(status, a.hint);
  a.status = FromGrpc(status, "produce to " + address);
  a.response = std::move(resp);
  return a;
}

ProduceAttempt ProduceStreamTraits::Ended(const std::string& address, AttemptClass cls, const grpc::Status& status) {
  ProduceAttempt a;
  a.address = address;
  a.cls = cls;
  a.status = FromGrpc(status, "produce to " + address);
  return a;
}

template class RequestStreams<ProduceStreamTraits>;

}  // namespace replog
