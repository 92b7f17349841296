#include "client/kv_convert.h"

#include <utility>

namespace replog {

KeyValue FromProto(const v1::KeyValue& kv) {
  return KeyValue{kv.key(), kv.value(), kv.create_revision(), kv.mod_revision(), kv.version()};
}

std::optional<KeyValue> FromProtoIf(bool present, const v1::KeyValue& kv) {
  if (!present) return std::nullopt;
  return FromProto(kv);
}

v1::ReadConsistency ToProto(ReadConsistency c) { return c == ReadConsistency::kLocal ? v1::LOCAL : v1::LINEARIZABLE; }

v1::PutRequest MakePutRequest(std::string_view key, std::string_view value) {
  v1::PutRequest request;
  request.set_key(std::string(key));
  request.set_value(std::string(value));
  return request;
}

PutResult ToPutResult(const v1::PutResponse& response, WriteInfo info) {
  return PutResult{.revision = response.revision(),
                   .previous = FromProtoIf(response.had_previous(), response.previous()),
                   .write = std::move(info)};
}

v1::GetRequest MakeGetRequest(std::string_view key, ReadConsistency consistency) {
  v1::GetRequest request;
  request.set_key(std::string(key));
  request.set_consistency(ToProto(consistency));
  return request;
}

GetResult ToGetResult(const v1::GetResponse& response, std::string served_by) {
  GetResult r;
  r.found = response.found();
  if (r.found) r.kv = FromProto(response.kv());
  r.revision = response.revision();
  r.served_by = std::move(served_by);
  return r;
}

}  // namespace replog
