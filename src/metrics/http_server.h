#pragma once

// MetricsHttpServer: the metrics and health endpoints of a replogd member
// (docs/metrics.md), over cpp-httplib on a port of its own:
//   GET /metrics  200, the registry's text (Content-Type
//                 "text/plain; version=0.0.4; charset=utf-8")
//   GET /healthz  200 "ok" while the process serves it
//   GET /readyz   200 "ready" when the readiness callback says so, else 503
//                 with the reason it gave as the body
// Anything else is 404.
//
// Threads: Start runs one listening thread and a pool of two request
// threads; the collectors and the readiness callback run on the latter,
// possibly two at once. Start and Stop are called from one thread (the
// owner's); Stop is idempotent and joins the threads; the destructor stops.

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/status.h"
#include "metrics/registry.h"

namespace httplib {
class Server;
}

namespace metrics {

// Readiness: OK, or a status whose message says why not.
using ReadinessCheck = std::function<common::Status()>;

class MetricsHttpServer {
 public:
  // `registry` must outlive the server. An empty `ready` means always ready.
  MetricsHttpServer(const Registry& registry, ReadinessCheck ready);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // Listens on `address` ("host:port"; port 0 picks a free one) and serves
  // until Stop. Errors: kInvalidArgument for an address without a port;
  // kUnavailable "cannot listen on <address>" when it cannot be bound;
  // kFailedPrecondition when started before (a server starts once).
  common::Status Start(const std::string& address);
  // The bound port (after a successful Start), 0 before.
  int port() const { return port_; }
  void Stop();

 private:
  void Route();

  const Registry& registry_;
  const ReadinessCheck ready_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  bool started_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool listening_done_ = false;  // the listening thread returned
};

}  // namespace metrics
