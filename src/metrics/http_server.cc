#include "metrics/http_server.h"

#include <charconv>
#include <chrono>

#include <httplib.h>
#include <sys/socket.h>

#include "common/thread_name.h"

namespace metrics {

namespace {

constexpr size_t kRequestThreads = 2;
constexpr const char* kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

MetricsHttpServer::MetricsHttpServer(const Registry& registry, ReadinessCheck ready)
    : registry_(registry), ready_(std::move(ready)), http_(std::make_unique<httplib::Server>()) {
  http_->new_task_queue = [] { return new httplib::ThreadPool(kRequestThreads); };
  // httplib sets SO_REUSEPORT by default: a second member started on a port
  // in use would then listen beside the first. SO_REUSEADDR alone lets a
  // restarted member bind while old connections linger in TIME_WAIT.
  http_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  Route();
}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::Route() {
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Expose(), kExpositionType);
  });
  http_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  http_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const common::Status s = ready_ ? ready_() : common::Status::Ok();
    if (s.ok()) {
      res.set_content("ready\n", "text/plain");
    } else {
      res.status = 503;
      res.set_content(s.message() + "\n", "text/plain");
    }
  });
}

common::Status MetricsHttpServer::Start(const std::string& address) {
  if (started_) return common::FailedPreconditionError("metrics server already started");
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return common::InvalidArgumentError("metrics address \"" + address + "\" has no port (host:port)");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  const char* first = address.data() + colon + 1;
  const char* last = address.data() + address.size();
  if (auto [end, ec] = std::from_chars(first, last, port); ec != std::errc() || end != last) port = -1;
  if (port < 0 || port > 65535) return common::InvalidArgumentError("metrics address \"" + address + "\": bad port");
  const int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return common::UnavailableError("cannot listen on " + address + " for metrics (in use, or not an address of this machine)");
  }
  port_ = bound;
  started_ = true;
  listening_done_ = false;
  thread_ = std::thread([this] {
    common::SetThreadName("metrics-http");
    http_->listen_after_bind();
    std::lock_guard<std::mutex> l(mu_);
    listening_done_ = true;
    cv_.notify_all();
  });
  return common::Status::Ok();
}

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until the listening loop has begun: ask
  // again until the thread returns.
  std::unique_lock<std::mutex> l(mu_);
  while (!listening_done_) {
    http_->stop();
    cv_.wait_for(l, std::chrono::milliseconds(5));
  }
  l.unlock();
  thread_.join();
}

}  // namespace metrics
