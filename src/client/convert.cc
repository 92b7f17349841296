#include "client/convert.h"

namespace replog {

void ToProto(const Record& record, v1::Record* out) {
  out->set_key(record.key);
  out->set_value(record.value);
  out->set_timestamp_ms(record.timestamp_ms);
  for (const Header& h : record.headers) {
    v1::RecordHeader* ph = out->add_headers();
    ph->set_key(h.key);
    ph->set_value(h.value);
  }
}

Record FromProto(const v1::Record& record) {
  Record r;
  r.offset = record.offset();
  r.key = record.key();
  r.value = record.value();
  r.timestamp_ms = record.timestamp_ms();
  r.headers.reserve(static_cast<size_t>(record.headers_size()));
  for (const v1::RecordHeader& h : record.headers()) r.headers.push_back(Header{h.key(), h.value()});
  return r;
}

ConsumeBatch FromProto(const v1::ConsumeResponse& response, std::string served_by) {
  ConsumeBatch b;
  b.records.reserve(static_cast<size_t>(response.records_size()));
  for (const v1::Record& r : response.records()) b.records.push_back(FromProto(r));
  b.next_offset = response.next_offset();
  b.first_offset = response.first_offset();
  b.committed_offset = response.committed_offset();
  b.served_by = std::move(served_by);
  return b;
}

ClusterView FromProto(const v1::GetServersResponse& response, std::string answered_by) {
  ClusterView v;
  for (const v1::Server& s : response.servers()) {
    v.servers.push_back(ServerInfo{s.id(), s.address(), s.role(), s.is_leader()});
  }
  v.leader_id = response.leader_id();
  v.term = response.term();
  v.answered_by = std::move(answered_by);
  return v;
}

}  // namespace replog
