#pragma once

// How the client reads a finished RPC: the leader hint a member attached
// (rpc/leader_hint.h), the class of a failed Produce attempt (client.h explains the classes), and the
// conversion of grpc::Status to common::Status, which keeps the code.

#include <cstdint>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "rpc/leader_hint.h"

namespace replog {

using rpc::LeaderHint;
using rpc::ReadLeaderHint;

enum class AttemptClass {
  kOk,
  kNotApplied,  // certainly not committed: safe to retry
  kUnknown,     // may have been committed: a retry may duplicate
  kFinal,       // do not retry: return the error
};

// True when gRPC failed the call before sending it: no connection to the
// member could be made ("failed to connect to all addresses").
bool NeverSent(const grpc::Status& status);

// The class of a Produce attempt that ended with `status` and `hint`.
AttemptClass ClassifyProduce(const grpc::Status& status, const LeaderHint& hint);

// The status a streamed answer (ProduceResponse, KvWriteResponse) carries
// in its fields: error_code 0 is OK, else that code with `message`.
grpc::Status StreamedStatus(int32_t error_code, const std::string& message);

// True for the codes after which a read may be tried on another member:
// all but those that say the request (or its range) is wrong.
bool RetryableRead(common::Code code);

// common::Status with the same code and the message "<context>: <message>".
// OK stays OK.
common::Status FromGrpc(const grpc::Status& status, std::string_view context);

}  // namespace replog
