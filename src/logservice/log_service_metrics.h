#pragma once

// The metrics LogService updates (docs/metrics.md), created in the registry
// LogServiceOptions::metrics names. Every pointer is nullptr when metrics
// are off.

#include "metrics/registry.h"
#include "replog/v1/log.pb.h"

namespace logservice {

struct LogServiceMetrics {
  // A produce (unary or one request of a stream) from its arrival to its
  // offsets, for requests that were proposed and succeeded.
  metrics::Histogram* produce_seconds = nullptr;
  // Records, and their key + value bytes, of those produces.
  metrics::Counter* produced_records = nullptr;
  metrics::Counter* produced_bytes = nullptr;
  // Records, and their key + value bytes, returned by Consume and
  // ConsumeStream.
  metrics::Counter* consumed_records = nullptr;
  metrics::Counter* consumed_bytes = nullptr;

  // All nullptr when `registry` is nullptr.
  static LogServiceMetrics Create(metrics::Registry* registry);

  // What a produce request holds, taken when it arrives (a stream reuses
  // its request message); zeros when metrics are off.
  struct Size {
    uint64_t records = 0;
    uint64_t bytes = 0;
  };
  Size SizeOf(const replog::v1::ProduceRequest& req) const;
  // Count a produce of `size` that succeeded `ns` after it arrived.
  void Produced(Size size, int64_t ns) const;
  // Count the records of `resp`.
  void Consumed(const replog::v1::ConsumeResponse& resp) const;
};

}  // namespace logservice
