#pragma once

// Child processes for the cluster harness: spawn with output to a file and
// PR_SET_PDEATHSIG, wait with a timeout, read CPU time, tail a file.
//
// Threads: any thread; a child's PR_SET_PDEATHSIG fires when the thread that
// spawned it exits, so spawn long-lived children from the main thread.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace cluster_testing {

struct ExitStatus;

// Starts `path` with `args` (argv[0] is `path`), its stdout and stderr
// appended to `output_path`, an empty signal mask and default handlers for
// SIGTERM, SIGINT and SIGPIPE, no inherited descriptors beyond 0-2, and
// SIGKILL as its parent-death signal. kInternal when fork or the file fails;
// a failed exec shows as exit code 127 with the reason in the output file.
common::Result<pid_t> Spawn(const std::string& path, const std::vector<std::string>& args,
                            const std::string& output_path);

// Turns a waitpid status into an ExitStatus.
ExitStatus DecodeWaitStatus(int status);

// Waits up to `timeout_ms` for `pid` to exit and reaps it. kDeadlineExceeded
// when it is still running (not reaped); kInternal when waitpid fails.
common::Result<ExitStatus> WaitExit(pid_t pid, int64_t timeout_ms, common::Clock& clock);

// User + system CPU time of `pid` in milliseconds (/proc/PID/stat).
common::Result<int64_t> ProcessCpuMs(pid_t pid);

// The whole file at `path` ("" when it cannot be read).
std::string ReadWholeFile(const std::string& path);

// The last `lines` lines of the file at `path` ("" when it cannot be read).
std::string TailOfFile(const std::string& path, int lines);

}  // namespace cluster_testing
