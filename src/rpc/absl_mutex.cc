#include "rpc/absl_mutex.h"

#include <absl/synchronization/mutex.h>

namespace rpc {

void DisableMutexDeadlockDetection() { absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore); }

}  // namespace rpc
