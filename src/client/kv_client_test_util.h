#pragma once

// Helpers of KvClient's tests (kv_client_test.cc, kv_async_test.cc); they
// overload client_test_util.h's for KvClient.

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "client/fake_kv_service.h"
#include "client/kv_client.h"

namespace replog::testing {

// Options for a client of `fake` bootstrapped at member `first`; with a
// ManualClock backoff costs no real time (nullptr: the real clock).
inline KvClientOptions Options(const FakeKvCluster& fake, uint64_t first, common::Clock* clock) {
  KvClientOptions o;
  o.bootstrap_addresses = {fake.address(first)};
  o.clock = clock;
  o.client_id_seed = 7;
  return o;
}

inline std::unique_ptr<KvClient> MustConnect(KvClientOptions o) {
  auto c = KvClient::Connect(std::move(o));
  EXPECT_TRUE(c.has_value()) << c.status().ToString();
  return c.has_value() ? std::move(*c) : nullptr;
}

}  // namespace replog::testing
