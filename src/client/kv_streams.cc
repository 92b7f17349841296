#include "client/kv_write_streams.h"

#include <utility>

namespace replog {

KvStreamAttempt KvWriteStreamTraits::Answered(const std::string& address, v1::KvWriteResponse resp) {
  KvStreamAttempt a;
  a.address = address;
  a.status = StreamedStatus(resp.error_code(), resp.error_message());
  a.hint = LeaderHint{.from_member = true, .id = resp.leader_id(), .address = resp.leader_address()};
  // A write's outcome classes are a produce's (rpc_outcome.h).
  a.cls = ClassifyProduce(a.status, a.hint);
  a.response = std::move(resp);
  return a;
}

KvStreamAttempt KvWriteStreamTraits::Ended(const std::string& address, AttemptClass cls, const grpc::Status& status) {
  KvStreamAttempt a;
  a.address = address;
  a.cls = cls;
  a.status = status;
  return a;
}

template class RequestStreams<KvWriteStreamTraits>;

}  // namespace replog
