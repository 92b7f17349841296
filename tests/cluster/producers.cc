#include "producers.h"

#include <future>

namespace cluster_testing {

BackgroundProducers::BackgroundProducers(ProducerOptions options, common::Clock& clock)
    : options_(std::move(options)), clock_(clock), logs_(static_cast<size_t>(options_.threads)) {
  const int each = options_.calls / options_.threads, rest = options_.calls % options_.threads;
  for (int t = 0; t < options_.threads; t++) {
    threads_.emplace_back([this, t, calls = each + (t < rest ? 1 : 0)] { Run(t, calls); });
  }
}

BackgroundProducers::~BackgroundProducers() { Stop(); }

void BackgroundProducers::Run(int thread, int calls) {
  ProducerLog& out = logs_[static_cast<size_t>(thread)];
  replog::ClientOptions client_options = options_.client;
  client_options.seed = static_cast<uint64_t>(thread) + 1;
  auto client = replog::Client::Connect(client_options);
  if (!client.has_value()) {
    out.failed.push_back({"(connect)", client.error()});
    return;
  }
  for (int seq = 0; (calls == 0 || seq < calls) && !stop_.load(); seq++) {
    replog::Record record;
    record.value = options_.prefix + std::to_string(thread) + "-" + std::to_string(seq);
    ProducedCall call;
    call.start_ns = clock_.NowNanos();
    common::Result<replog::ProduceResult> result = common::InternalError("no result");
    if (options_.async) {
      std::promise<common::Result<replog::ProduceResult>> done;
      std::future<common::Result<replog::ProduceResult>> f = done.get_future();
      (*client)->ProduceAsync({record}, [&done](common::Result<replog::ProduceResult> r) { done.set_value(std::move(r)); });
      result = f.get();
    } else {
      result = (*client)->Produce({record});
    }
    call.end_ns = clock_.NowNanos();
    if (!result.has_value()) {
      out.failed.push_back({record.value, result.error()});
      continue;
    }
    if (result->offsets.size() != 1) {
      out.failed.push_back(
          {record.value, common::InternalError("offsets: " + std::to_string(result->offsets.size()))});
      continue;
    }
    call.ack = Ack{record.value, result->offsets[0], result->retried_after_unknown_outcome};
    call.attempts = result->attempts;
    call.leader = result->leader_address;
    out.acked.push_back(std::move(call));
    acked_.fetch_add(1);
  }
}

bool BackgroundProducers::WaitAcked(int target, int64_t timeout_ms) {
  const int64_t deadline = clock_.NowNanos() + timeout_ms * 1'000'000;
  while (acked_.load() < target) {
    if (clock_.NowNanos() >= deadline) return false;
    clock_.SleepNanos(2'000'000);
  }
  return true;
}

void BackgroundProducers::Stop() {
  stop_.store(true);
  Join();
}

void BackgroundProducers::Wait() {
  CHECK(options_.calls > 0);
  Join();
}

void BackgroundProducers::Join() {
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::vector<Ack> BackgroundProducers::Acks() const {
  std::vector<Ack> acks;
  for (const ProducerLog& log : logs_) {
    for (const ProducedCall& c : log.acked) acks.push_back(c.ack);
  }
  return acks;
}

size_t BackgroundProducers::failures() const {
  size_t n = 0;
  for (const ProducerLog& log : logs_) n += log.failed.size();
  return n;
}

std::vector<std::string> BackgroundProducers::DescribeFailures(size_t per_thread) const {
  std::vector<std::string> out;
  for (size_t t = 0; t < logs_.size(); t++) {
    const std::vector<FailedCall>& failed = logs_[t].failed;
    for (size_t i = 0; i < failed.size() && i < per_thread; i++) {
      out.push_back("thread " + std::to_string(t) + ": produce of \"" + failed[i].value +
                    "\" failed: " + failed[i].status.ToString());
    }
  }
  return out;
}

}  // namespace cluster_testing
