#include "client/kv_streams.h"

namespace replog {

template class RequestStreams<KvWriteStreamTraits>;
template class RequestStreams<KvReadStreamTraits>;

}  // namespace replog
