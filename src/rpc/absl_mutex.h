#pragma once

// Process-wide settings of the absl::Mutex that gRPC locks everywhere.

namespace rpc {

// Turns off absl's lock-order (deadlock) detection for the whole process.
// Debian's absl checks every lock order (a graph update per acquisition):
// a debugging aid that costs CPU on every RPC (4-5% of a benchmark client's
// samples, 2.5% of a leader's). Our own locks are std::mutex. Call once from
// main(), before any gRPC object exists.
void DisableMutexDeadlockDetection();

}  // namespace rpc
