#include "sim/linearizability.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace lincheck {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kOk: return "ok";
    case Verdict::kIllegal: return "illegal";
    case Verdict::kUnknown: return "unknown";
  }
  return "?";
}

namespace internal {

Budget::Budget(const CheckOptions& options)
    : clock_(options.clock), max_steps_(options.max_steps) {
  if (options.timeout_ms > 0) {
    CHECK_MSG(clock_ != nullptr, "CheckOptions::timeout_ms needs a clock");
    deadline_ns_ = clock_->NowNanos() + options.timeout_ms * 1'000'000;
  } else {
    clock_ = nullptr;
  }
}

bool Budget::Spend() {
  constexpr uint64_t kStepsPerClockRead = 1024;
  ++steps_;
  if (max_steps_ != 0 && steps_ > max_steps_) spent_ = true;
  if (clock_ != nullptr && steps_ % kStepsPerClockRead == 0 && clock_->NowNanos() >= deadline_ns_) {
    spent_ = true;
  }
  return spent_;
}

StepMemo::StepMemo() : keys_(1024, 0), values_(1024, kUnset) {}

namespace {
size_t Slot(uint64_t key, size_t mask) { return (key * 0x9e3779b97f4a7c15ull) >> 24 & mask; }
}  // namespace

uint32_t* StepMemo::Find(uint32_t state, uint32_t op) {
  if ((size_ + 1) * 2 > keys_.size()) Grow();
  const uint64_t key = (uint64_t{state} + 1) << 32 | op;
  const size_t mask = keys_.size() - 1;
  for (size_t i = Slot(key, mask);; i = (i + 1) & mask) {
    if (keys_[i] == key) return &values_[i];
    if (keys_[i] == 0) {
      keys_[i] = key;
      ++size_;
      return &values_[i];
    }
  }
}

void StepMemo::Grow() {
  std::vector<uint64_t> keys(keys_.size() * 2, 0);
  std::vector<uint32_t> values(keys.size(), kUnset);
  const size_t mask = keys.size() - 1;
  for (size_t j = 0; j < keys_.size(); ++j) {
    if (keys_[j] == 0) continue;
    size_t i = Slot(keys_[j], mask);
    while (keys[i] != 0) i = (i + 1) & mask;
    keys[i] = keys_[j];
    values[i] = values_[j];
  }
  keys_ = std::move(keys);
  values_ = std::move(values);
}

namespace {

// Wing & Gong's search over one partition.
//
// Ops are numbered by position in call order. Pending (not yet linearized) ops
// sit in two doubly linked lists: all of them by call time, and the known ones
// by return time. An op may be linearized next iff its call is no later than
// the earliest pending return. Linearizing an op unlinks it from both lists;
// backtracking relinks it, which is exact because unlinks are undone in
// reverse order (dancing links).
//
// The cache key of a configuration is compact: the model state, the position
// k of the first pending known op, and the linearized known ops after k (only
// ops whose call is no later than k's return can be there, so few). Which
// unknown ops are linearized is kept beside the key as a bitset, and a
// configuration is pruned when a subset of its bitset was already seen.
//
// Unknown ops stay pending to the end of the history, so without care each
// would be tried at every step; Useless() keeps only the placements that can
// matter, and the search tries known ops first.
class Searcher {
 public:
  Searcher(const std::vector<OpSpan>& ops, Stepper& stepper, Budget& budget);
  SearchOutcome Run();

 private:
  struct Frame {
    uint32_t pos;
    uint32_t prev_state;
  };
  // Where the scan for the next candidate stands: known ops first (pass 0),
  // then unknown ones (pass 1), each from `node` onwards in call order.
  struct Cursor {
    int pass;
    uint32_t node;
  };

  void LinkLists();
  std::optional<uint32_t> NextCandidate(Cursor& cursor) const;
  bool TryLinearize(uint32_t pos);
  bool Useless(uint32_t pos, uint32_t next);
  bool Backtrack(Cursor& cursor);
  void Lift(uint32_t pos);
  void Unlift(uint32_t pos);
  bool RememberConfiguration();
  std::vector<uint32_t> Candidates() const;
  void RecordBest();
  int64_t EarliestPendingReturn() const { return return_[rnext_[end_]]; }

  Stepper& stepper_;
  Budget& budget_;
  uint32_t end_;  // the lists' sentinel: the op count
  std::vector<uint32_t> local_;  // position -> partition-local index
  std::vector<int64_t> call_, return_;  // by position; return_[end_] = +inf
  std::vector<int32_t> unknown_ordinal_;  // by position; -1 for known ops
  std::vector<uint32_t> twin_;  // by position; end_ for none
  std::vector<uint32_t> cnext_, cprev_, rnext_, rprev_;
  std::vector<bool> linearized_;
  std::vector<uint64_t> unknown_bits_;
  size_t known_pending_ = 0;
  uint32_t state_ = 0;
  std::vector<Frame> stack_;

  struct KeyHash {
    size_t operator()(const std::vector<uint32_t>& key) const;
  };
  std::unordered_map<std::vector<uint32_t>, std::vector<std::vector<uint64_t>>, KeyHash> cache_;
  std::vector<uint32_t> key_;  // scratch

  SearchOutcome best_;
  bool have_best_ = false;
};

Searcher::Searcher(const std::vector<OpSpan>& ops, Stepper& stepper, Budget& budget)
    : stepper_(stepper), budget_(budget), end_(static_cast<uint32_t>(ops.size())) {
  local_.resize(ops.size());
  for (uint32_t i = 0; i < end_; ++i) local_[i] = i;
  std::stable_sort(local_.begin(), local_.end(),
                   [&](uint32_t a, uint32_t b) { return ops[a].call_ns < ops[b].call_ns; });
  std::vector<uint32_t> position(end_);
  for (uint32_t p = 0; p < end_; ++p) position[local_[p]] = p;
  int32_t unknowns = 0;
  for (uint32_t p = 0; p < end_; ++p) {
    const OpSpan& op = ops[local_[p]];
    call_.push_back(op.call_ns);
    return_.push_back(op.unknown ? std::numeric_limits<int64_t>::max() : op.return_ns);
    unknown_ordinal_.push_back(op.unknown ? unknowns++ : -1);
    twin_.push_back(op.twin == OpSpan::kNone ? end_ : position[op.twin]);
    if (!op.unknown) ++known_pending_;
  }
  return_.push_back(std::numeric_limits<int64_t>::max());
  linearized_.assign(end_, false);
  unknown_bits_.assign((static_cast<size_t>(unknowns) + 63) / 64, 0);
  LinkLists();
}

// Links every op into the call list and the known ones into the return list,
// both circular through the sentinel end_.
void Searcher::LinkLists() {
  cnext_.resize(end_ + 1);
  cprev_.resize(end_ + 1);
  for (uint32_t p = 0; p <= end_; ++p) {
    cnext_[p] = p == end_ ? (end_ == 0 ? end_ : 0) : p + 1;
    cprev_[p] = p == 0 ? end_ : p - 1;
  }
  std::vector<uint32_t> by_return;
  for (uint32_t p = 0; p < end_; ++p) {
    if (unknown_ordinal_[p] < 0) by_return.push_back(p);
  }
  std::stable_sort(by_return.begin(), by_return.end(),
                   [&](uint32_t a, uint32_t b) { return return_[a] < return_[b]; });
  rnext_.assign(end_ + 1, end_);
  rprev_.assign(end_ + 1, end_);
  uint32_t last = end_;
  for (uint32_t p : by_return) {
    rnext_[last] = p;
    rprev_[p] = last;
    last = p;
  }
  rnext_[last] = end_;
  rprev_[end_] = last;
}

SearchOutcome VerdictOnly(Verdict verdict) {
  SearchOutcome out;
  out.verdict = verdict;
  return out;
}

SearchOutcome Searcher::Run() {
  Cursor cursor{0, cnext_[end_]};
  while (known_pending_ > 0) {
    if (budget_.Spend()) return VerdictOnly(Verdict::kUnknown);
    std::optional<uint32_t> pos = NextCandidate(cursor);
    if (!pos.has_value()) {
      if (!Backtrack(cursor)) {
        RecordBest();
        return best_;
      }
      continue;
    }
    cursor.node = cnext_[*pos];
    if (TryLinearize(*pos)) cursor = {0, cnext_[end_]};
  }
  return VerdictOnly(Verdict::kOk);
}

std::optional<uint32_t> Searcher::NextCandidate(Cursor& cursor) const {
  const int64_t limit = EarliestPendingReturn();
  for (; cursor.pass < 2; ++cursor.pass, cursor.node = cnext_[end_]) {
    for (; cursor.node != end_ && call_[cursor.node] <= limit; cursor.node = cnext_[cursor.node]) {
      bool unknown = unknown_ordinal_[cursor.node] >= 0;
      if (unknown == (cursor.pass == 1)) return cursor.node;
    }
  }
  return std::nullopt;
}

bool Searcher::TryLinearize(uint32_t pos) {
  std::optional<uint32_t> next = stepper_.Step(state_, local_[pos]);
  if (!next.has_value()) return false;
  if (unknown_ordinal_[pos] >= 0 && Useless(pos, *next)) return false;
  const uint32_t prev = state_;
  state_ = *next;
  Lift(pos);
  if (!RememberConfiguration()) {
    Unlift(pos);
    state_ = prev;
    return false;
  }
  stack_.push_back({pos, prev});
  return true;
}

// Whether linearizing unknown op `pos` (reaching state `next`) can be skipped
// because every completion it allows is also allowed by a configuration that
// is explored anyway and has fewer unknown ops linearized. True when
//  - the op changes nothing;
//  - an earlier twin (an unknown op with the same input) is still pending:
//    the twin can stand in for it, so twins are used in call order;
//  - it overwrites, unseen, an unknown op linearized just before it
//    (linearizing `pos` in that op's place reaches the same state);
//  - looking one op ahead, it helps no op q allowed next (the same ops with or
//    without `pos`): q is illegal after it, or q alone reaches the same state,
//    or q commutes with it (q then `pos` reaches the same state, and `pos`
//    stays allowed after q), so the configuration is reached from q. Among
//    unknown ops only an earlier q counts as commuting, so that of two
//    commuting unknown ops one order is always kept.
// Without these rules, k pending unknown writes, which stay pending to the
// end of the history, could be combined in 2^k ways, and each would be tried
// at every step the search backtracks over.
bool Searcher::Useless(uint32_t pos, uint32_t next) {
  if (next == state_) return true;
  if (twin_[pos] != end_ && !linearized_[twin_[pos]]) return true;
  if (!stack_.empty() && unknown_ordinal_[stack_.back().pos] >= 0 &&
      stepper_.Step(stack_.back().prev_state, local_[pos]) == next) {
    return true;
  }
  const int64_t limit = EarliestPendingReturn();
  for (uint32_t q = cnext_[end_]; q != end_ && call_[q] <= limit; q = cnext_[q]) {
    const bool twin_of_pos = twin_[q] == pos;  // allowed only once `pos` is linearized
    if (q == pos || (twin_[q] != end_ && !linearized_[twin_[q]] && !twin_of_pos)) continue;
    std::optional<uint32_t> after = stepper_.Step(next, local_[q]);
    if (!after.has_value()) continue;
    if (unknown_ordinal_[q] >= 0 && *after == next) continue;
    if (twin_of_pos) return false;
    std::optional<uint32_t> alone = stepper_.Step(state_, local_[q]);
    if (!alone.has_value()) return false;
    if (*alone == *after) continue;
    // Two commuting unknown ops are tried in position order only (else each
    // would defer to the other).
    const bool may_commute = unknown_ordinal_[q] < 0 || q < pos;
    if (!may_commute || stepper_.Step(*alone, local_[pos]) != after) return false;
  }
  return true;
}

bool Searcher::Backtrack(Cursor& cursor) {
  if (stack_.empty()) return false;
  RecordBest();
  Frame f = stack_.back();
  stack_.pop_back();
  Unlift(f.pos);
  state_ = f.prev_state;
  cursor = {unknown_ordinal_[f.pos] >= 0 ? 1 : 0, cnext_[f.pos]};
  return true;
}

void Searcher::Lift(uint32_t pos) {
  cnext_[cprev_[pos]] = cnext_[pos];
  cprev_[cnext_[pos]] = cprev_[pos];
  if (int32_t u = unknown_ordinal_[pos]; u >= 0) {
    unknown_bits_[u / 64] |= uint64_t{1} << (u % 64);
  } else {
    rnext_[rprev_[pos]] = rnext_[pos];
    rprev_[rnext_[pos]] = rprev_[pos];
    --known_pending_;
  }
  linearized_[pos] = true;
}

void Searcher::Unlift(uint32_t pos) {
  linearized_[pos] = false;
  if (int32_t u = unknown_ordinal_[pos]; u >= 0) {
    unknown_bits_[u / 64] &= ~(uint64_t{1} << (u % 64));
  } else {
    rnext_[rprev_[pos]] = pos;
    rprev_[rnext_[pos]] = pos;
    ++known_pending_;
  }
  cnext_[cprev_[pos]] = pos;
  cprev_[cnext_[pos]] = pos;
}

// Records the current configuration; false if it (or one it subsumes) was
// already explored, or is being explored further up the stack.
bool Searcher::RememberConfiguration() {
  key_.clear();
  key_.push_back(state_);
  if (known_pending_ > 0) {
    // The first pending known op in call order; pending unknown ops come first.
    uint32_t k = cnext_[end_];
    while (unknown_ordinal_[k] >= 0) k = cnext_[k];
    key_.push_back(k);
    for (uint32_t p = k + 1; p < end_ && call_[p] <= return_[k]; ++p) {
      if (linearized_[p] && unknown_ordinal_[p] < 0) key_.push_back(p);
    }
  }
  auto [it, inserted] = cache_.try_emplace(key_);
  for (const std::vector<uint64_t>& seen : it->second) {
    bool subset = true;
    for (size_t w = 0; w < seen.size() && subset; ++w) subset = (seen[w] & ~unknown_bits_[w]) == 0;
    if (subset) return false;
  }
  it->second.push_back(unknown_bits_);
  return true;
}

// The known ops real time allows next in the current configuration.
std::vector<uint32_t> Searcher::Candidates() const {
  std::vector<uint32_t> out;
  Cursor cursor{0, cnext_[end_]};
  while (true) {
    std::optional<uint32_t> pos = NextCandidate(cursor);
    if (!pos.has_value() || cursor.pass > 0) break;
    out.push_back(*pos);
    cursor.node = cnext_[*pos];
  }
  return out;
}

// Keeps the deepest configuration reached, for the failure report.
void Searcher::RecordBest() {
  if (have_best_ && best_.prefix.size() >= stack_.size()) return;
  have_best_ = true;
  best_.verdict = Verdict::kIllegal;
  best_.prefix.clear();
  for (const Frame& f : stack_) best_.prefix.push_back(local_[f.pos]);
  best_.state_after_prefix = state_;
  best_.stuck.clear();
  for (uint32_t p : Candidates()) best_.stuck.push_back(local_[p]);
}

size_t Searcher::KeyHash::operator()(const std::vector<uint32_t>& key) const {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ key.size();
  for (uint32_t v : key) {
    h ^= v;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return static_cast<size_t>(h);
}

}  // namespace

SearchOutcome Search(const std::vector<OpSpan>& ops, Stepper& stepper, Budget& budget) {
  return Searcher(ops, stepper, budget).Run();
}

std::string FormatOp(size_t index, int64_t client_id, int64_t call_ns, int64_t return_ns,
                     bool unknown, const std::string& description) {
  std::string s = "#" + std::to_string(index) + " client " + std::to_string(client_id) + " [" +
                  std::to_string(call_ns) + ", " +
                  (unknown ? std::string("?") : std::to_string(return_ns)) + "] " + description;
  if (unknown) s += " (outcome unknown)";
  return s;
}

}  // namespace internal

// ---- JSON lines -------------------------------------------------------------

std::string QuoteString(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b == '"' || b == '\\') {
      out += '\\';
      out += c;
    } else if (b == '\n') {
      out += "\\n";
    } else if (b < 0x20 || b >= 0x7f) {
      out += "\\u00";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string FormatJsonRecord(const JsonRecord& record) {
  std::string out = "{";
  for (const auto& [name, value] : record) {
    if (out.size() > 1) out += ',';
    out += QuoteString(name);
    out += ':';
    if (std::holds_alternative<std::nullptr_t>(value)) out += "null";
    if (const int64_t* i = std::get_if<int64_t>(&value)) out += std::to_string(*i);
    if (const bool* b = std::get_if<bool>(&value)) out += *b ? "true" : "false";
    if (const std::string* s = std::get_if<std::string>(&value)) out += QuoteString(*s);
  }
  return out + "}";
}

namespace {

// A cursor over one line of JSON; every Parse* consumes what it reads.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  common::Result<JsonRecord> ParseRecord() {
    JsonRecord record;
    if (!Consume('{')) return Error("expected '{'");
    if (Consume('}')) return Finish(std::move(record));
    do {
      ASSIGN_OR_RETURN(std::string name, ParseString());
      if (!Consume(':')) return Error("expected ':'");
      ASSIGN_OR_RETURN(JsonValue value, ParseValue());
      record[std::move(name)] = std::move(value);
    } while (Consume(','));
    if (!Consume('}')) return Error("expected ',' or '}'");
    return Finish(std::move(record));
  }

 private:
  common::Result<JsonRecord> Finish(JsonRecord record) {
    SkipSpace();
    if (pos_ != text_.size()) return Error("trailing characters");
    return record;
  }

  common::Result<JsonValue> ParseValue() {
    SkipSpace();
    if (ConsumeWord("null")) return JsonValue(nullptr);
    if (ConsumeWord("true")) return JsonValue(true);
    if (ConsumeWord("false")) return JsonValue(false);
    if (pos_ < text_.size() && text_[pos_] == '"') {
      ASSIGN_OR_RETURN(std::string s, ParseString());
      return JsonValue(std::move(s));
    }
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + text_.size(), v);
    if (ec != std::errc()) return Error("expected a value");
    pos_ = static_cast<size_t>(end - text_.data());
    return JsonValue(v);
  }

  common::Result<std::string> ParseString() {
    if (!Consume('"')) return Error("expected '\"'");
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) break;
      char e = text_[pos_++];
      if (e == 'n') {
        out += '\n';
      } else if (e == 'u') {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(text_.data() + pos_,
                                         text_.data() + std::min(pos_ + 4, text_.size()), v, 16);
        if (ec != std::errc() || end != text_.data() + pos_ + 4 || v > 0xff) {
          return Error("bad \\u escape (only \\u0000..\\u00ff)");
        }
        pos_ += 4;
        out += static_cast<char>(v);
      } else if (e == '"' || e == '\\' || e == '/') {
        out += e;
      } else {
        return Error("bad escape");
      }
    }
    if (!Consume('"')) return Error("unterminated string");
    return out;
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(char c) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool ConsumeWord(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  common::Status Error(std::string_view what) const {
    return common::InvalidArgumentError(std::string(what) + " at column " + std::to_string(pos_ + 1));
  }

  std::string_view text_;
  size_t pos_ = 0;
};

template <typename T>
common::Result<T> GetField(const JsonRecord& record, std::string_view field, const char* type) {
  auto it = record.find(field);
  if (it == record.end()) {
    return common::InvalidArgumentError("missing field \"" + std::string(field) + "\"");
  }
  if (const T* v = std::get_if<T>(&it->second)) return *v;
  return common::InvalidArgumentError("field \"" + std::string(field) + "\" is not " + type);
}

}  // namespace

common::Result<JsonRecord> ParseJsonRecord(std::string_view line) {
  return JsonReader(line).ParseRecord();
}

common::Result<int64_t> GetInt(const JsonRecord& record, std::string_view field) {
  return GetField<int64_t>(record, field, "an integer");
}

common::Result<bool> GetBool(const JsonRecord& record, std::string_view field) {
  return GetField<bool>(record, field, "a boolean");
}

common::Result<std::string> GetString(const JsonRecord& record, std::string_view field) {
  return GetField<std::string>(record, field, "a string");
}

common::Result<std::optional<std::string>> GetOptionalString(const JsonRecord& record,
                                                             std::string_view field) {
  auto it = record.find(field);
  if (it != record.end() && std::holds_alternative<std::nullptr_t>(it->second)) {
    return std::optional<std::string>();
  }
  ASSIGN_OR_RETURN(std::string s, GetString(record, field));
  return std::optional<std::string>(std::move(s));
}

}  // namespace lincheck
