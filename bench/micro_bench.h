#pragma once

namespace bench {

// `replog-bench micro [Google Benchmark flags]`: registers the micro
// benchmarks (record encoding and decoding, Checksum64) and runs them.
// argv[0] is the program name; returns the process exit code.
int RunMicro(int argc, char** argv);

}  // namespace bench
