#pragma once

// Between KvClient's plain structs (kv_client.h) and the messages of
// replog.v1.KV (kv.proto), for the blocking and the asynchronous calls
// alike. Internal to the client library.

#include <optional>
#include <string>
#include <string_view>

#include "client/kv_client.h"
#include "replog/v1/kv.pb.h"

namespace replog {

KeyValue FromProto(const v1::KeyValue& kv);
// FromProto(kv) when `present`, else nullopt.
std::optional<KeyValue> FromProtoIf(bool present, const v1::KeyValue& kv);
v1::ReadConsistency ToProto(ReadConsistency c);

// A Put of `value` at `key`, without a session (each attempt sets it).
v1::PutRequest MakePutRequest(std::string_view key, std::string_view value);
// The result of the write `info` describes, answered with `response`.
PutResult ToPutResult(const v1::PutResponse& response, WriteInfo info);

v1::GetRequest MakeGetRequest(std::string_view key, ReadConsistency consistency);
// The result of a Get answered with `response` by the member `served_by`.
GetResult ToGetResult(const v1::GetResponse& response, std::string served_by);

}  // namespace replog
