#pragma once

// Between the client's plain structs (types.h) and the messages of
// replog.v1 (log.proto). Internal to the client library.

#include <vector>

#include "client/types.h"
#include "replog/v1/log.pb.h"

namespace replog {

void ToProto(const Record& record, v1::Record* out);
Record FromProto(const v1::Record& record);
ConsumeBatch FromProto(const v1::ConsumeResponse& response, std::string served_by);
ClusterView FromProto(const v1::GetServersResponse& response, std::string answered_by);

}  // namespace replog
