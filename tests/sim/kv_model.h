#pragma once

// KvModel: the lincheck model of a key-value store with put, get,
// compare-and-swap and delete, partitioned by key.
//
// Operations (build inputs and outputs with the helpers below):
//   put(key, value)                    always succeeds; output ignored
//   get(key) -> value or absent        legal iff it returns the current value
//   cas(key, expected, value) -> ok    swaps iff the current value equals
//                                      `expected` (nullopt = absent, so
//                                      cas(k, nullopt, v) is create-if-absent);
//                                      legal iff `swapped` says what happened
//   delete(key)                        always succeeds; the key becomes absent
//
// Partition() gives each key its own sub-history (named by the key, in key
// order), so the model's State is the value of that one key: Step never sees
// two keys. Check a KV history only through Partition (Check does).

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sim/linearizability.h"

namespace lincheck {

enum class KvOp { kPut, kGet, kCas, kDelete };

struct KvInput {
  KvOp op = KvOp::kGet;
  std::string key;
  std::string value;                    // put, cas: the value written
  std::optional<std::string> expected;  // cas: the value compared against
  friend bool operator==(const KvInput&, const KvInput&) = default;
};

struct KvOutput {
  std::optional<std::string> value;  // get: the value read (nullopt = absent)
  bool swapped = false;              // cas: whether it wrote
  friend bool operator==(const KvOutput&, const KvOutput&) = default;
};

KvInput KvPut(std::string key, std::string value);
KvInput KvGet(std::string key);
KvInput KvCas(std::string key, std::optional<std::string> expected, std::string value);
KvInput KvDelete(std::string key);

KvOutput KvRead(std::optional<std::string> value);  // a get's output
KvOutput KvSwapped();                               // a cas that wrote
KvOutput KvNotSwapped();                            // a cas that found another value
KvOutput KvDone();                                  // put, delete

using KvOperation = Operation<KvInput, KvOutput>;

class KvModel {
 public:
  // The value of the partition's key; nullopt = absent.
  struct State {
    std::optional<std::string> value;
    friend bool operator==(const State&, const State&) = default;
  };
  using Input = KvInput;
  using Output = KvOutput;

  State Init() const { return State{}; }
  std::optional<State> Step(const State& state, const Input& input, const Output& output) const;
  State Apply(const State& state, const Input& input) const;
  size_t HashState(const State& state) const;
  std::vector<SubHistory> Partition(const std::vector<KvOperation>& history) const;
  // `cas("x", absent, "1") -> swapped`, `get("x") -> "1"`.
  std::string DescribeOp(const Input& input, const Output& output) const;
  std::string DescribeState(const State& state) const;

  // Dump fields: "op" (put/get/cas/delete), "key", and as the op needs
  // "value", "expected" (null = absent), "read" (null = absent), "swapped".
  void EncodeOp(const Input& input, const Output& output, JsonRecord& record) const;
  common::Result<std::pair<Input, Output>> DecodeOp(const JsonRecord& record) const;
};

}  // namespace lincheck
