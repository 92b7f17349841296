#include "metrics/grpc_metrics.h"

#include <string_view>

namespace metrics {

namespace {

namespace gx = grpc::experimental;

constexpr const char* kCodeNames[17] = {
    "OK",          "CANCELLED",          "UNKNOWN",   "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",     "INTERNAL",  "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED"};

class CallInterceptor final : public gx::Interceptor {
 public:
  CallInterceptor(GrpcMetrics& metrics, GrpcMetrics::Method& method)
      : metrics_(metrics), method_(method), start_ns_(metrics.clock().NowNanos()) {}

  void Intercept(gx::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(gx::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.Record(method_, static_cast<int>(methods->GetSendStatus().error_code()),
                      metrics_.clock().NowNanos() - start_ns_);
    }
    methods->Proceed();
  }

 private:
  GrpcMetrics& metrics_;
  GrpcMetrics::Method& method_;
  const int64_t start_ns_;
};

class Factory final : public gx::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcMetrics& metrics) : metrics_(metrics) {}
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    return new CallInterceptor(metrics_, metrics_.MethodOf(info->method()));
  }

 private:
  GrpcMetrics& metrics_;
};

}  // namespace

GrpcMetrics::GrpcMetrics(Registry& registry, common::Clock& clock) : registry_(registry), clock_(clock) {}

std::unique_ptr<gx::ServerInterceptorFactoryInterface> GrpcMetrics::NewInterceptorFactory() {
  return std::make_unique<Factory>(*this);
}

GrpcMetrics::Method& GrpcMetrics::MethodOf(const char* name) {
  std::string_view n = name != nullptr ? name : "";
  std::lock_guard<std::mutex> l(mu_);
  auto it = methods_.find(n);
  if (it != methods_.end()) return *it->second;
  if (methods_.size() >= kMaxMethods) n = "other";
  it = methods_.find(n);
  if (it != methods_.end()) return *it->second;
  auto m = std::make_unique<Method>();
  m->name = std::string(n);
  m->handled = &registry_.AddHistogram("replog_grpc_handled_seconds",
                                       "Time from a gRPC call's start to its status, by method.", LatencyBounds(),
                                       {{"method", m->name}});
  return *methods_.emplace(m->name, std::move(m)).first->second;
}

void GrpcMetrics::Record(Method& m, int code, int64_t ns) {
  if (code < 0 || code >= static_cast<int>(m.by_code.size())) code = 2;  // UNKNOWN
  Counter* c = m.by_code[code].load(std::memory_order_acquire);
  if (c == nullptr) {
    std::lock_guard<std::mutex> l(mu_);
    c = &registry_.AddCounter("replog_grpc_requests_total", "gRPC calls handled, by method and status code.",
                              {{"method", m.name}, {"code", kCodeNames[code]}});
    m.by_code[code].store(c, std::memory_order_release);
  }
  c->Inc();
  m.handled->ObserveNanos(ns);
}

}  // namespace metrics
