#pragma once

// GrpcMetrics: counts the calls a gRPC server handled, by method and status
// code, and times them, through a server interceptor (per call, so it sees
// sync and callback-API handlers, unary and streaming, alike):
//   replog_grpc_requests_total{method="/replog.v1.Log/Produce",code="OK"}
//   replog_grpc_handled_seconds{method=...}  from the call's start to the
//     status it sends (for a stream: the stream's whole life)
// A call is counted when its status is sent; one that never sends a status
// (the server shut down under it) is not. Methods are those the clients
// named: after kMaxMethods distinct names, further ones count as "other"
// (unknown methods must not grow the registry without bound).
//
// Wiring: builder.experimental().SetInterceptorCreators(...) with
// NewInterceptorFactory() (see server/observability.h).
//
// Threads: interceptors run on gRPC's threads; per call they take one
// mutex when created (to find the method's metrics) and none after.

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/support/server_interceptor.h>

#include "common/clock.h"
#include "metrics/registry.h"

namespace metrics {

class GrpcMetrics {
 public:
  static constexpr size_t kMaxMethods = 64;

  // `registry` and `clock` must outlive this object, which must outlive
  // every gRPC server given its factories.
  GrpcMetrics(Registry& registry, common::Clock& clock);
  GrpcMetrics(const GrpcMetrics&) = delete;
  GrpcMetrics& operator=(const GrpcMetrics&) = delete;

  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewInterceptorFactory();

  // The metrics of one method; created on its first call.
  struct Method {
    std::string name;
    Histogram* handled = nullptr;
    std::array<std::atomic<Counter*>, 17> by_code{};  // grpc::StatusCode 0..16
  };
  Method& MethodOf(const char* name);
  // Counts one call of `m` that ended with `code` and took `ns`.
  void Record(Method& m, int code, int64_t ns);
  common::Clock& clock() { return clock_; }

 private:
  Registry& registry_;
  common::Clock& clock_;
  std::mutex mu_;  // methods_, and creating counters
  std::map<std::string, std::unique_ptr<Method>, std::less<>> methods_;
};

}  // namespace metrics
