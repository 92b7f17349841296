#include "sim/kv_model.h"

#include <functional>
#include <map>
#include <string_view>

namespace lincheck {

KvInput KvPut(std::string key, std::string value) {
  return {.op = KvOp::kPut, .key = std::move(key), .value = std::move(value), .expected = {}};
}
KvInput KvGet(std::string key) {
  return {.op = KvOp::kGet, .key = std::move(key), .value = {}, .expected = {}};
}
KvInput KvCas(std::string key, std::optional<std::string> expected, std::string value) {
  return {.op = KvOp::kCas, .key = std::move(key), .value = std::move(value),
          .expected = std::move(expected)};
}
KvInput KvDelete(std::string key) {
  return {.op = KvOp::kDelete, .key = std::move(key), .value = {}, .expected = {}};
}

KvOutput KvRead(std::optional<std::string> value) { return {.value = std::move(value), .swapped = false}; }
KvOutput KvSwapped() { return {.value = std::nullopt, .swapped = true}; }
KvOutput KvNotSwapped() { return {.value = std::nullopt, .swapped = false}; }
KvOutput KvDone() { return {}; }

std::optional<KvModel::State> KvModel::Step(const State& state, const Input& input,
                                            const Output& output) const {
  switch (input.op) {
    case KvOp::kGet:
      if (output.value != state.value) return std::nullopt;
      return state;
    case KvOp::kCas:
      if (output.swapped != (state.value == input.expected)) return std::nullopt;
      return Apply(state, input);
    case KvOp::kPut:
    case KvOp::kDelete:
      return Apply(state, input);
  }
  return std::nullopt;
}

KvModel::State KvModel::Apply(const State& state, const Input& input) const {
  switch (input.op) {
    case KvOp::kGet: return state;
    case KvOp::kPut: return State{input.value};
    case KvOp::kDelete: return State{};
    case KvOp::kCas: return state.value == input.expected ? State{input.value} : state;
  }
  return state;
}

size_t KvModel::HashState(const State& state) const {
  if (!state.value.has_value()) return 0x5bd1e995;
  return std::hash<std::string>()(*state.value);
}

std::vector<SubHistory> KvModel::Partition(const std::vector<KvOperation>& history) const {
  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t i = 0; i < history.size(); ++i) by_key[history[i].input.key].push_back(i);
  std::vector<SubHistory> parts;
  for (auto& [key, ops] : by_key) parts.push_back({key, std::move(ops)});
  return parts;
}

namespace {

std::string ValueOrAbsent(const std::optional<std::string>& v) {
  return v.has_value() ? QuoteString(*v) : "absent";
}

std::string_view OpName(KvOp op) {
  switch (op) {
    case KvOp::kPut: return "put";
    case KvOp::kGet: return "get";
    case KvOp::kCas: return "cas";
    case KvOp::kDelete: return "delete";
  }
  return "?";
}

}  // namespace

std::string KvModel::DescribeOp(const Input& input, const Output& output) const {
  std::string s = std::string(OpName(input.op)) + "(" + QuoteString(input.key);
  switch (input.op) {
    case KvOp::kPut: return s + ", " + QuoteString(input.value) + ")";
    case KvOp::kGet: return s + ") -> " + ValueOrAbsent(output.value);
    case KvOp::kDelete: return s + ")";
    case KvOp::kCas:
      return s + ", " + ValueOrAbsent(input.expected) + ", " + QuoteString(input.value) +
             ") -> " + (output.swapped ? "swapped" : "not swapped");
  }
  return s + ")";
}

std::string KvModel::DescribeState(const State& state) const { return ValueOrAbsent(state.value); }

namespace {

JsonValue OptionalToJson(const std::optional<std::string>& v) {
  return v.has_value() ? JsonValue(*v) : JsonValue(nullptr);
}

}  // namespace

void KvModel::EncodeOp(const Input& input, const Output& output, JsonRecord& record) const {
  record["op"] = std::string(OpName(input.op));
  record["key"] = input.key;
  if (input.op == KvOp::kPut || input.op == KvOp::kCas) record["value"] = input.value;
  if (input.op == KvOp::kCas) {
    record["expected"] = OptionalToJson(input.expected);
    record["swapped"] = output.swapped;
  }
  if (input.op == KvOp::kGet) record["read"] = OptionalToJson(output.value);
}

common::Result<std::pair<KvInput, KvOutput>> KvModel::DecodeOp(const JsonRecord& record) const {
  ASSIGN_OR_RETURN(std::string name, GetString(record, "op"));
  ASSIGN_OR_RETURN(std::string key, GetString(record, "key"));
  if (name == "put" || name == "cas") {
    ASSIGN_OR_RETURN(std::string value, GetString(record, "value"));
    if (name == "put") return std::pair(KvPut(std::move(key), std::move(value)), KvDone());
    ASSIGN_OR_RETURN(std::optional<std::string> expected, GetOptionalString(record, "expected"));
    ASSIGN_OR_RETURN(bool swapped, GetBool(record, "swapped"));
    return std::pair(KvCas(std::move(key), std::move(expected), std::move(value)),
                     swapped ? KvSwapped() : KvNotSwapped());
  }
  if (name == "get") {
    ASSIGN_OR_RETURN(std::optional<std::string> read, GetOptionalString(record, "read"));
    return std::pair(KvGet(std::move(key)), KvRead(std::move(read)));
  }
  if (name == "delete") return std::pair(KvDelete(std::move(key)), KvDone());
  return common::InvalidArgumentError("unknown op \"" + name + "\"");
}

}  // namespace lincheck
