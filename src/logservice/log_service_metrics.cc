#include "logservice/log_service_metrics.h"

namespace logservice {

namespace {

uint64_t PayloadBytes(const replog::v1::Record& r) { return r.key().size() + r.value().size(); }

}  // namespace

LogServiceMetrics LogServiceMetrics::Create(metrics::Registry* registry) {
  LogServiceMetrics m;
  if (registry == nullptr) return m;
  m.produce_seconds = &registry->AddHistogram(
      "replog_produce_seconds", "Time from a produce request's arrival to its offsets, for produces that succeeded.",
      metrics::LatencyBounds());
  m.produced_records = &registry->AddCounter("replog_produced_records_total", "Records produced (committed).");
  m.produced_bytes =
      &registry->AddCounter("replog_produced_bytes_total", "Key and value bytes of the records produced.");
  m.consumed_records =
      &registry->AddCounter("replog_consumed_records_total", "Records returned by Consume and ConsumeStream.");
  m.consumed_bytes = &registry->AddCounter("replog_consumed_bytes_total",
                                           "Key and value bytes of the records returned by Consume and ConsumeStream.");
  return m;
}

LogServiceMetrics::Size LogServiceMetrics::SizeOf(const replog::v1::ProduceRequest& req) const {
  Size size;
  if (produce_seconds == nullptr) return size;
  size.records = static_cast<uint64_t>(req.records_size());
  for (const replog::v1::Record& r : req.records()) size.bytes += PayloadBytes(r);
  return size;
}

void LogServiceMetrics::Produced(Size size, int64_t ns) const {
  if (produce_seconds == nullptr) return;
  produce_seconds->ObserveNanos(ns);
  produced_records->Inc(size.records);
  produced_bytes->Inc(size.bytes);
}

void LogServiceMetrics::Consumed(const replog::v1::ConsumeResponse& resp) const {
  if (consumed_records == nullptr) return;
  uint64_t bytes = 0;
  for (const replog::v1::Record& r : resp.records()) bytes += PayloadBytes(r);
  consumed_records->Inc(static_cast<uint64_t>(resp.records_size()));
  consumed_bytes->Inc(bytes);
}

}  // namespace logservice
