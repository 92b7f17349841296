#pragma once

// Helpers shared by the client's .cc files. Internal to the client library.

#include <cstdint>

#include <grpcpp/grpcpp.h>

namespace replog {

// Sets a deadline `timeout_ns` from now on `ctx` (at least 1 ms).
void SetTimeout(grpc::ClientContext* ctx, int64_t timeout_ns);

}  // namespace replog
