#pragma once

// Helpers of the client's tests (client_test.cc, client_async_test.cc,
// client_exactly_once_test.cc).

#include <gtest/gtest.h>

#include <future>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"

namespace replog::testing {

// Options for a client of the fake cluster at `addresses`; with a
// ManualClock backoff costs no real time.
inline ClientOptions Options(std::vector<std::string> addresses, common::Clock* clock = nullptr) {
  ClientOptions o;
  o.bootstrap_addresses = std::move(addresses);
  o.clock = clock;
  return o;
}

inline std::unique_ptr<Client> MustConnect(ClientOptions o) {
  auto c = Client::Connect(std::move(o));
  EXPECT_TRUE(c.has_value()) << c.status().ToString();
  return c.has_value() ? std::move(*c) : nullptr;
}

inline std::vector<Record> Values(std::initializer_list<const char*> values) {
  std::vector<Record> out;
  for (const char* v : values) out.push_back(Record{.value = v});
  return out;
}

// The two ways to produce, which follow the same rules.
enum class ProducePath { kSync, kAsync };

inline std::string PathName(const ::testing::TestParamInfo<ProducePath>& info) {
  return info.param == ProducePath::kSync ? "Produce" : "ProduceAsync";
}

// Produces `records` through `path`: Produce, or ProduceAsync and a wait for
// its callback (a second call of which fails the test: the promise throws).
inline common::Result<ProduceResult> ProduceVia(ProducePath path, Client& client, const std::vector<Record>& records) {
  if (path == ProducePath::kSync) return client.Produce(records);
  auto result = std::make_shared<std::promise<common::Result<ProduceResult>>>();
  std::future<common::Result<ProduceResult>> f = result->get_future();
  client.ProduceAsync(records, [result](common::Result<ProduceResult> r) { result->set_value(std::move(r)); });
  return f.get();
}

// The fixture of Produce's tests, which run through both paths:
//   class MyTest : public testing::ProducePathTest {};
//   INSTANTIATE_TEST_SUITE_P(SyncAndAsync, MyTest, testing::BothPaths(), testing::PathName);
class ProducePathTest : public ::testing::TestWithParam<ProducePath> {
 protected:
  // Produces `records` through the test's path (ProduceVia).
  common::Result<ProduceResult> Produce(Client& client, const std::vector<Record>& records) {
    return ProduceVia(GetParam(), client, records);
  }
};

inline auto BothPaths() { return ::testing::Values(ProducePath::kSync, ProducePath::kAsync); }

}  // namespace replog::testing
