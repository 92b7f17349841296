#include "client/rpc_outcome.h"

namespace replog {

bool NeverSent(const grpc::Status& status) {
  // gRPC's own message when the channel has no connection to pick: the call
  // failed in the client before any byte of it was written.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().starts_with("failed to connect to all addresses");
}

AttemptClass ClassifyProduce(const grpc::Status& status, const LeaderHint& hint) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return AttemptClass::kOk;
    case grpc::StatusCode::UNAVAILABLE:
      // A member's answer (it carries our metadata) or a call that never left
      // is certainly not applied; a transport failure may have happened after
      // the member got the request.
      return hint.from_member || NeverSent(status) ? AttemptClass::kNotApplied : AttemptClass::kUnknown;
    case grpc::StatusCode::ABORTED:
      return AttemptClass::kNotApplied;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::CANCELLED:
      return AttemptClass::kUnknown;
    default:
      return AttemptClass::kFinal;
  }
}

grpc::Status StreamedStatus(int32_t error_code, const std::string& message) {
  return error_code == 0 ? grpc::Status::OK : grpc::Status(static_cast<grpc::StatusCode>(error_code), message);
}

bool RetryableRead(common::Code code) {
  switch (code) {
    // The request itself is wrong, or the range is: another member answers
    // the same.
    case common::Code::kOk:
    case common::Code::kInvalidArgument:
    case common::Code::kNotFound:
    case common::Code::kAlreadyExists:
    case common::Code::kPermissionDenied:
    case common::Code::kFailedPrecondition:
    case common::Code::kOutOfRange:
    case common::Code::kUnimplemented:
      return false;
    // Unavailable, timed out, broken (INTERNAL, UNKNOWN: a reset stream),
    // overloaded, or this member's copy is damaged (DATA_LOSS).
    default:
      return true;
  }
}

common::Status FromGrpc(const grpc::Status& status, std::string_view context) {
  if (status.ok()) return common::Status::Ok();
  std::string message(context);
  message += ": ";
  message += status.error_message();
  int code = static_cast<int>(status.error_code());
  // UNAUTHENTICATED (16) has no common::Code of its own.
  if (code > static_cast<int>(common::Code::kDataLoss)) return common::Status(common::Code::kPermissionDenied, message);
  return common::Status(static_cast<common::Code>(code), std::move(message));
}

}  // namespace replog
