// Names the calling thread, as `top -H`, `perf` and gdb show it. Linux keeps
// at most 15 bytes; longer names are cut. Best effort: a failure is ignored.
#pragma once

#include <string>

namespace common {

void SetThreadName(const std::string& name);

}  // namespace common
