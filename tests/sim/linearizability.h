#pragma once

// A linearizability checker for client histories, generic over a model.
//
// A history is what clients saw: each operation's input, output, and the
// interval [call_ns, return_ns] during which it was outstanding. It is
// linearizable when every operation can be given one point inside its interval
// such that applying them in that order to the model, one at a time, yields
// exactly the recorded outputs. Intervals are closed: two operations that share
// a timestamp are concurrent. An operation whose outcome is unknown (the client
// timed out) is treated as returning at +infinity: it may take effect at any
// point after its call, or never, and any output is accepted.
//
// Algorithm: Wing & Gong's backtracking search with Lowe's memoization
// ("Testing for linearizability", 2017), run per partition (Horn & Kroening's
// P-compositionality: a KV history is linearizable iff each key's is). The
// search repeatedly linearizes a pending operation that real time allows next
// (its call is no later than the earliest return among pending known ops) and
// whose step is legal, and backtracks on a dead end. Configurations already
// explored, (set of linearized ops, model state), are cached.
//
// Unknown ops never return, so they stay candidates to the end of the history.
// To keep them from multiplying the search, the cache uses subsumption (having
// linearized fewer unknown ops is never worse, so a configuration is skipped
// when the same known ops and state were seen with a subset of its unknown
// ops), and an unknown op is linearized only where it can matter: it changes
// the state, no earlier unknown op with an equal input is still pending (such
// twins are used in call order), it does not just overwrite an unknown op
// placed right before it, and the op after it needs it (one op of lookahead:
// that op would be illegal, or end elsewhere, without it, and does not merely
// commute with it). Known ops are tried before unknown ones.
//
// Cost: the search is linear in the length of a partition's history, times a
// factor exponential in how many of its ops overlap in time, so keep per-key
// concurrency modest and use many keys. U pending unknown ops add a factor of
// about U when the search backtracks (U^2 model steps, memoized), which only
// an illegal history makes it do much of. CheckOptions bounds the cost.
//
// Dumps: DumpHistory/LoadHistory write and read a history as JSON lines (one
// flat object per operation) so a failing run can be saved and re-checked.

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace lincheck {

// One operation as a client saw it. Times are nanoseconds on any clock shared
// by all clients (virtual time in simulation).
template <typename Input, typename Output>
struct Operation {
  int64_t client_id = 0;
  int64_t call_ns = 0;
  int64_t return_ns = 0;  // >= call_ns; ignored when `unknown`
  Input input{};
  Output output{};        // ignored when `unknown`
  bool unknown = false;   // timed out: may or may not have taken effect
};

// A set of operations that can be checked on its own (e.g. those on one key).
struct SubHistory {
  std::string name;          // shown in failure reports, e.g. the key
  std::vector<size_t> ops;   // indices into the history
};

// What a model supplies. Models are deterministic and pure: the effect of an
// operation depends only on the state and the input.
//   State Init()                                       the initial state
//   std::optional<State> Step(state, input, output)    the state after the op,
//                                                      nullopt if `output` is
//                                                      impossible in `state`
//   State Apply(state, input)                          the effect of an op whose
//                                                      output is unknown
//   size_t HashState(state); State and Input have operator==
//   std::vector<SubHistory> Partition(history)         independent parts that
//                                                      together hold every op once
//   std::string DescribeOp(input, output), DescribeState(state)   for reports
template <typename M>
concept Model = requires(const M& m, const typename M::State& s, const typename M::Input& in,
                         const typename M::Output& out,
                         const std::vector<Operation<typename M::Input, typename M::Output>>& h) {
  { m.Init() } -> std::same_as<typename M::State>;
  { m.Step(s, in, out) } -> std::same_as<std::optional<typename M::State>>;
  { m.Apply(s, in) } -> std::same_as<typename M::State>;
  { m.HashState(s) } -> std::convertible_to<size_t>;
  { s == s } -> std::convertible_to<bool>;
  { in == in } -> std::convertible_to<bool>;
  { m.Partition(h) } -> std::same_as<std::vector<SubHistory>>;
  { m.DescribeOp(in, out) } -> std::same_as<std::string>;
  { m.DescribeState(s) } -> std::same_as<std::string>;
};

template <typename M>
using History = std::vector<Operation<typename M::Input, typename M::Output>>;

enum class Verdict {
  kOk,       // every partition is linearizable
  kIllegal,  // some partition is not
  kUnknown,  // the budget ran out first
};

std::string_view VerdictName(Verdict verdict);

struct CheckOptions {
  // Gives up with kUnknown after `timeout_ms` as measured on `clock` (which
  // must then be set and outlive the call). 0 = no time limit.
  common::Clock* clock = nullptr;
  int64_t timeout_ms = 0;
  // Gives up with kUnknown after this many search steps over all partitions:
  // a budget that, unlike time, reproduces exactly. 0 = no limit.
  uint64_t max_steps = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::kOk;
  // For kIllegal and kUnknown: the partition that failed or ran out of budget.
  std::string partition;
  // For kIllegal: the longest linearization found of that partition (history
  // indices in linearization order), and the known ops that real time allowed
  // next but that could not be placed there.
  std::vector<size_t> longest_prefix;
  std::vector<size_t> stuck;
  // A multi-line report for a person (empty for kOk).
  std::string explanation;
  uint64_t steps = 0;  // search steps taken, over all partitions
};

// Checks `history` against `model`. Partitions are checked one after another
// on the calling thread, in the order Partition() returns them; the first
// illegal one ends the check. A known op with return_ns < call_ns is a bug in
// the caller (CHECK). Keeps no state between calls: concurrent calls are safe
// if the model's const methods are.
template <Model M>
CheckResult Check(const M& model, const History<M>& history, const CheckOptions& options = {});

// ---- JSON lines -------------------------------------------------------------

// One line of a dump: a flat JSON object whose values are null, integers,
// booleans or strings. Strings hold bytes: control bytes and bytes >= 0x7f are
// written as \u0000..\u00ff and read back as single bytes, so any byte string
// survives (the escapes are not Unicode code points).
using JsonValue = std::variant<std::nullptr_t, int64_t, bool, std::string>;
using JsonRecord = std::map<std::string, JsonValue, std::less<>>;

// `s` as a JSON string literal, quotes included.
std::string QuoteString(std::string_view s);
// `record` as one line of JSON (no trailing newline), keys in sorted order.
std::string FormatJsonRecord(const JsonRecord& record);
// Parses one FormatJsonRecord line; kInvalidArgument on anything else.
common::Result<JsonRecord> ParseJsonRecord(std::string_view line);

// Typed access to a field; kInvalidArgument when missing or of another type.
common::Result<int64_t> GetInt(const JsonRecord& record, std::string_view field);
common::Result<bool> GetBool(const JsonRecord& record, std::string_view field);
common::Result<std::string> GetString(const JsonRecord& record, std::string_view field);
// A string field that may be null (nullopt).
common::Result<std::optional<std::string>> GetOptionalString(const JsonRecord& record,
                                                             std::string_view field);

// A model that can also save its operations. EncodeOp adds the op's own fields
// to a record that already holds "client", "call_ns", "return_ns" and
// "unknown" (those names are taken); DecodeOp reads them back.
template <typename M>
concept DumpableModel = Model<M> && requires(const M& m, const typename M::Input& in,
                                             const typename M::Output& out, JsonRecord& r) {
  { m.EncodeOp(in, out, r) } -> std::same_as<void>;
  { m.DecodeOp(std::as_const(r)) }
      -> std::same_as<common::Result<std::pair<typename M::Input, typename M::Output>>>;
};

// `history` as JSON lines, one operation per line in history order.
template <DumpableModel M>
std::string DumpHistory(const M& model, const History<M>& history);

// Reads a DumpHistory text back; blank lines are skipped. kInvalidArgument
// names the first bad line.
template <DumpableModel M>
common::Result<History<M>> LoadHistory(const M& model, std::string_view text);

// ---- Implementation ---------------------------------------------------------

namespace internal {

// The part of an operation the search needs, besides stepping the model.
struct OpSpan {
  int64_t call_ns = 0;
  int64_t return_ns = 0;
  bool unknown = false;
  // For an unknown op: the nearest unknown op called no later (and, on a tie,
  // listed earlier) with an equal input, or kNone. Such ops are
  // interchangeable, so the search uses them in call order.
  size_t twin = kNone;
  static constexpr size_t kNone = SIZE_MAX;
};

// Steps the model for the search, which sees states as small ids (0 is the
// initial state) so it can store and compare them cheaply. Step returns the
// state after op `op` (a partition-local index), or nullopt when illegal; for
// an unknown op it returns the op's effect.
class Stepper {
 public:
  virtual ~Stepper() = default;
  virtual std::optional<uint32_t> Step(uint32_t state, size_t op) = 0;
};

// The results of model steps, by (state id, op): an open-addressing table,
// as the search looks them up more than anything else.
class StepMemo {
 public:
  static constexpr uint32_t kUnset = UINT32_MAX;
  static constexpr uint32_t kIllegal = UINT32_MAX - 1;
  StepMemo();
  // The slot for (state, op), kUnset if never filled. Valid until the next Find.
  uint32_t* Find(uint32_t state, uint32_t op);

 private:
  void Grow();
  std::vector<uint64_t> keys_;  // (state + 1) << 32 | op; 0 = empty
  std::vector<uint32_t> values_;
  size_t size_ = 0;
};

// Counts steps against CheckOptions; shared by all partitions of one Check.
class Budget {
 public:
  explicit Budget(const CheckOptions& options);
  // Counts one step; true once the budget is spent.
  bool Spend();
  uint64_t steps() const { return steps_; }

 private:
  common::Clock* clock_;
  int64_t deadline_ns_ = 0;
  uint64_t max_steps_;
  uint64_t steps_ = 0;
  bool spent_ = false;
};

struct SearchOutcome {
  Verdict verdict = Verdict::kOk;
  std::vector<size_t> prefix;  // for kIllegal: partition-local indices
  uint32_t state_after_prefix = 0;
  std::vector<size_t> stuck;   // for kIllegal: partition-local indices
};

// Searches for a linearization of `ops` (one partition).
SearchOutcome Search(const std::vector<OpSpan>& ops, Stepper& stepper, Budget& budget);

// One op as a report line: "#12 client 3 [100, 250] get("x") -> "1"".
std::string FormatOp(size_t index, int64_t client_id, int64_t call_ns, int64_t return_ns,
                     bool unknown, const std::string& description);

// Interns the model's states as ids for the search.
template <Model M>
class ModelStepper final : public Stepper {
 public:
  using State = typename M::State;
  ModelStepper(const M& model, const History<M>& history, const std::vector<size_t>& ops)
      : model_(model), history_(history), ops_(ops), ids_(16, Hash{&model}) {
    Intern(model.Init());
  }

  // Memoized: the search steps the same (state, op) pairs again and again.
  std::optional<uint32_t> Step(uint32_t state, size_t op) override {
    uint32_t* slot = memo_.Find(state, static_cast<uint32_t>(op));
    if (*slot == StepMemo::kUnset) *slot = Compute(state, op).value_or(StepMemo::kIllegal);
    if (*slot == StepMemo::kIllegal) return std::nullopt;
    return *slot;
  }

  const State& state(uint32_t id) const { return *states_[id]; }

 private:
  struct Hash {
    const M* model;
    size_t operator()(const State& s) const { return model->HashState(s); }
  };

  std::optional<uint32_t> Compute(uint32_t state, size_t op) {
    const auto& o = history_[ops_[op]];
    if (o.unknown) return Intern(model_.Apply(*states_[state], o.input));
    std::optional<State> next = model_.Step(*states_[state], o.input, o.output);
    if (!next.has_value()) return std::nullopt;
    return Intern(std::move(*next));
  }

  uint32_t Intern(State s) {
    auto [it, inserted] = ids_.try_emplace(std::move(s), static_cast<uint32_t>(states_.size()));
    if (inserted) states_.push_back(&it->first);
    return it->second;
  }

  const M& model_;
  const History<M>& history_;
  const std::vector<size_t>& ops_;
  std::unordered_map<State, uint32_t, Hash> ids_;  // node-based: keys never move
  std::vector<const State*> states_;               // id -> state
  StepMemo memo_;
};

// The report for a partition that is not linearizable.
template <Model M>
std::string Explain(const M& model, const History<M>& history, const SubHistory& part,
                    const CheckResult& result, const typename M::State& state) {
  constexpr size_t kShownPrefix = 10;
  auto line = [&](size_t i) {
    const auto& o = history[i];
    return FormatOp(i, o.client_id, o.call_ns, o.return_ns, o.unknown,
                    model.DescribeOp(o.input, o.output));
  };
  std::string s = "not linearizable: partition " + QuoteString(part.name) + " (" +
                  std::to_string(part.ops.size()) + " ops)\n";
  s += "longest linearizable prefix: " + std::to_string(result.longest_prefix.size()) +
       " ops, leaving state " + model.DescribeState(state) + "\n";
  size_t first = result.longest_prefix.size() > kShownPrefix
                     ? result.longest_prefix.size() - kShownPrefix : 0;
  if (first > 0) s += "  ... " + std::to_string(first) + " earlier ops\n";
  for (size_t k = first; k < result.longest_prefix.size(); ++k) {
    s += "  " + line(result.longest_prefix[k]) + "\n";
  }
  s += "ops real time allows next, none of which can be placed:\n";
  for (size_t i : result.stuck) {
    bool legal = history[i].unknown ||
                 model.Step(state, history[i].input, history[i].output).has_value();
    s += "  " + line(i) + (legal ? "  (legal here, but a dead end later)\n"
                                 : "  (impossible in this state)\n");
  }
  return s;
}

// The search's view of the ops `ops` of `history`. Finding twins compares
// unknown ops pairwise: fine while timeouts are a small part of a partition.
template <Model M>
std::vector<OpSpan> Spans(const History<M>& history, const std::vector<size_t>& ops) {
  std::vector<OpSpan> spans;
  std::vector<size_t> unknowns;  // local indices, by (call_ns, index)
  spans.reserve(ops.size());
  for (size_t local = 0; local < ops.size(); ++local) {
    const auto& o = history[ops[local]];
    CHECK_MSG(o.unknown || o.call_ns <= o.return_ns,
              "op #" + std::to_string(ops[local]) + " returns before its call");
    spans.push_back({.call_ns = o.call_ns, .return_ns = o.return_ns, .unknown = o.unknown,
                     .twin = OpSpan::kNone});
    if (o.unknown) unknowns.push_back(local);
  }
  std::stable_sort(unknowns.begin(), unknowns.end(),
                   [&](size_t a, size_t b) { return spans[a].call_ns < spans[b].call_ns; });
  for (size_t u = 0; u < unknowns.size(); ++u) {
    for (size_t t = u; t-- > 0;) {
      if (history[ops[unknowns[t]]].input == history[ops[unknowns[u]]].input) {
        spans[unknowns[u]].twin = unknowns[t];
        break;
      }
    }
  }
  return spans;
}

}  // namespace internal

template <Model M>
CheckResult Check(const M& model, const History<M>& history, const CheckOptions& options) {
  CheckResult result;
  internal::Budget budget(options);
  for (const SubHistory& part : model.Partition(history)) {
    internal::ModelStepper<M> stepper(model, history, part.ops);
    internal::SearchOutcome out = internal::Search(internal::Spans<M>(history, part.ops),
                                                   stepper, budget);
    if (out.verdict == Verdict::kOk) continue;
    result.verdict = out.verdict;
    result.partition = part.name;
    if (out.verdict == Verdict::kUnknown) {
      result.explanation = "unknown: the check ran out of budget in partition " +
                           QuoteString(part.name) + "\n";
      break;
    }
    for (size_t i : out.prefix) result.longest_prefix.push_back(part.ops[i]);
    for (size_t i : out.stuck) result.stuck.push_back(part.ops[i]);
    result.explanation = internal::Explain(model, history, part, result,
                                           stepper.state(out.state_after_prefix));
    break;
  }
  result.steps = budget.steps();
  return result;
}

template <DumpableModel M>
std::string DumpHistory(const M& model, const History<M>& history) {
  std::string text;
  for (const auto& o : history) {
    JsonRecord r;
    r["client"] = o.client_id;
    r["call_ns"] = o.call_ns;
    r["return_ns"] = o.return_ns;
    r["unknown"] = o.unknown;
    model.EncodeOp(o.input, o.output, r);
    text += FormatJsonRecord(r);
    text += '\n';
  }
  return text;
}

template <DumpableModel M>
common::Result<History<M>> LoadHistory(const M& model, std::string_view text) {
  History<M> history;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto op = [&]() -> common::Result<Operation<typename M::Input, typename M::Output>> {
      ASSIGN_OR_RETURN(JsonRecord r, ParseJsonRecord(line));
      Operation<typename M::Input, typename M::Output> o;
      ASSIGN_OR_RETURN(o.client_id, GetInt(r, "client"));
      ASSIGN_OR_RETURN(o.call_ns, GetInt(r, "call_ns"));
      ASSIGN_OR_RETURN(o.return_ns, GetInt(r, "return_ns"));
      ASSIGN_OR_RETURN(o.unknown, GetBool(r, "unknown"));
      ASSIGN_OR_RETURN(auto io, model.DecodeOp(r));
      o.input = std::move(io.first);
      o.output = std::move(io.second);
      return o;
    }();
    if (!op.has_value()) return op.error().WithContext("line " + std::to_string(line_no));
    history.push_back(std::move(*op));
  }
  return history;
}

}  // namespace lincheck
