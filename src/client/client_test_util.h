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

// The ways to produce, which follow the same rules: Produce, and
// ProduceAsync on the client's produce streams (the default) or on unary
// calls (ClientOptions::pipelined_produce false).
enum class ProducePath { kSync, kAsync, kAsyncUnary };

inline std::string PathName(const ::testing::TestParamInfo<ProducePath>& info) {
  switch (info.param) {
    case ProducePath::kSync:
      return "Produce";
    case ProducePath::kAsync:
      return "ProduceAsync";
    case ProducePath::kAsyncUnary:
      return "ProduceAsyncUnary";
  }
  return "?";
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

// The fixture of Produce's tests, which run through every path:
//   class MyTest : public testing::ProducePathTest {};
//   INSTANTIATE_TEST_SUITE_P(Paths, MyTest, testing::ProducePaths(), testing::PathName);
class ProducePathTest : public ::testing::TestWithParam<ProducePath> {
 protected:
  // testing::Options for the test's path (hides it in the tests' bodies).
  ClientOptions Options(std::vector<std::string> addresses, common::Clock* clock = nullptr) const {
    ClientOptions o = testing::Options(std::move(addresses), clock);
    o.pipelined_produce = GetParam() != ProducePath::kAsyncUnary;
    return o;
  }
  // Produces `records` through the test's path (ProduceVia).
  common::Result<ProduceResult> Produce(Client& client, const std::vector<Record>& records) {
    return ProduceVia(GetParam(), client, records);
  }
};

inline auto ProducePaths() {
  return ::testing::Values(ProducePath::kSync, ProducePath::kAsync, ProducePath::kAsyncUnary);
}

}  // namespace replog::testing
