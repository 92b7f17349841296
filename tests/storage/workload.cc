#include "workload.h"

#include <algorithm>
#include <limits>
#include <random>

namespace storage_testing {

using common::Status;
using storage::EntryKind;

namespace {

// A payload that names its entry, then pseudo-random filler from `rng`.
std::string Payload(uint64_t index, uint64_t term, size_t bytes, std::mt19937_64& rng) {
  std::string p = "i" + std::to_string(index) + "t" + std::to_string(term) + ":";
  p.resize(std::max(p.size(), bytes));
  for (size_t i = p.find(':') + 1; i < p.size(); i++) p[i] = static_cast<char>('a' + rng() % 26);
  p.resize(bytes);
  return p;
}

uint64_t Uniform(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {
  return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
}

std::string HardStateString(const HardState& hs) {
  return "(" + std::to_string(hs.term) + "," + std::to_string(hs.vote) + "," + std::to_string(hs.commit) + ")";
}

// The first difference between two states, for failure messages.
std::string FirstDifference(const ModelState& got, const ModelState& want) {
  if (got.first_index != want.first_index || got.last_index != want.last_index ||
      got.purge_term != want.purge_term || !(got.hard_state == want.hard_state)) {
    return "got " + got.Summary() + ", want " + want.Summary();
  }
  for (size_t i = 0; i < got.entries.size() && i < want.entries.size(); i++) {
    const LogEntry& g = got.entries[i];
    const LogEntry& w = want.entries[i];
    if (!(g == w)) {
      return "entry " + std::to_string(w.index) + ": got index " + std::to_string(g.index) + " term " +
             std::to_string(g.term) + " payload '" + g.payload.substr(0, 24) + "' (" +
             std::to_string(g.payload.size()) + " B), want term " + std::to_string(w.term) + " payload '" +
             w.payload.substr(0, 24) + "' (" + std::to_string(w.payload.size()) + " B)";
    }
  }
  return "equal";
}

}  // namespace

void ModelState::Apply(const Step& step) {
  switch (step.kind) {
    case Step::Kind::kEntry:
      CHECK_MSG(step.entry.index == last_index + 1, "model: append out of order");
      entries.push_back(step.entry);
      last_index = step.entry.index;
      break;
    case Step::Kind::kHardState:
      hard_state = step.hard_state;
      break;
    case Step::Kind::kTruncateAfter:
      CHECK_MSG(step.index + 1 >= first_index && step.index <= last_index, "model: truncate out of range");
      while (last_index > step.index) {
        entries.pop_back();
        last_index--;
      }
      break;
    case Step::Kind::kPurgeUpTo:
      if (step.index < first_index) break;
      while (!entries.empty() && entries.front().index <= step.index) entries.pop_front();
      first_index = step.index + 1;
      purge_term = step.term;
      last_index = std::max(last_index, step.index);
      break;
  }
}

uint64_t ModelState::TermOf(uint64_t index) const {
  if (index + 1 == first_index) return purge_term;
  CHECK_MSG(index >= first_index && index <= last_index, "model: TermOf out of range");
  return entries[index - first_index].term;
}

std::string ModelState::Summary() const {
  return "first=" + std::to_string(first_index) + " last=" + std::to_string(last_index) +
         " purge_term=" + std::to_string(purge_term) + " hs=" + HardStateString(hard_state) +
         " entries=" + std::to_string(entries.size());
}

std::vector<Step> Op::Steps() const {
  std::vector<Step> steps;
  switch (kind) {
    case Kind::kAppend:
      for (const LogEntry& e : entries) steps.push_back(Step{Step::Kind::kEntry, e, {}, 0, 0});
      break;
    case Kind::kSetHardState:
      steps.push_back(Step{Step::Kind::kHardState, {}, hard_state, 0, 0});
      break;
    case Kind::kTruncateAfter:
      steps.push_back(Step{Step::Kind::kTruncateAfter, {}, {}, index, 0});
      break;
    case Kind::kPurgeUpTo:
      steps.push_back(Step{Step::Kind::kPurgeUpTo, {}, {}, index, term});
      break;
    case Kind::kSync:
      break;
  }
  return steps;
}

std::string Op::Name() const {
  switch (kind) {
    case Kind::kAppend:
      return "Append[" + std::to_string(entries.front().index) + ".." + std::to_string(entries.back().index) + "]";
    case Kind::kSetHardState: return "SetHardState" + HardStateString(hard_state);
    case Kind::kTruncateAfter: return "TruncateAfter(" + std::to_string(index) + ")";
    case Kind::kPurgeUpTo: return "PurgeUpTo(" + std::to_string(index) + "," + std::to_string(term) + ")";
    case Kind::kSync: return "Sync";
  }
  return "?";
}

std::vector<Op> MakeWorkload(uint64_t seed, const WorkloadConfig& config, const ModelState& start) {
  std::mt19937_64 rng(seed);
  ModelState m = start;
  uint64_t term = std::max<uint64_t>(1, m.hard_state.term);
  if (!m.entries.empty()) term = std::max(term, m.entries.back().term);
  std::vector<Op> ops;
  while (ops.size() + 1 < config.ops) {
    int r = static_cast<int>(Uniform(rng, 0, 99));
    bool empty = m.last_index < m.first_index;
    Op op;
    if ((r -= config.sync_percent) < 0) {
      op.kind = Op::Kind::kSync;
    } else if ((r -= config.truncate_percent) < 0 && !empty) {
      op.kind = Op::Kind::kTruncateAfter;
      // Half of the truncations reach far back, often below the last segment.
      if (Uniform(rng, 0, 1) == 0) {
        op.index = Uniform(rng, m.first_index - 1, (m.first_index + m.last_index) / 2);
      } else {
        op.index = m.last_index - Uniform(rng, 0, std::min<uint64_t>(8, m.last_index + 1 - m.first_index));
      }
      term++;  // a new leader overwrites the suffix
    } else if ((r -= config.purge_percent) < 0 && !empty) {
      op.kind = Op::Kind::kPurgeUpTo;
      if (Uniform(rng, 0, 2) == 0) {
        op.index = m.last_index + Uniform(rng, 1, 40);  // snapshot install: past the end
        op.term = term;
      } else {
        op.index = Uniform(rng, m.first_index, m.first_index + (m.last_index - m.first_index) / 3);
        op.term = m.TermOf(op.index);
      }
    } else if ((r -= config.hard_state_percent) < 0) {
      op.kind = Op::Kind::kSetHardState;
      op.hard_state = HardState{term, Uniform(rng, 0, 3), Uniform(rng, 0, m.last_index)};
    } else {
      op.kind = Op::Kind::kAppend;
      uint64_t n = Uniform(rng, 1, config.max_batch);
      size_t max_payload = Uniform(rng, 0, 15) == 0 ? 4 * config.max_payload : config.max_payload;
      for (uint64_t i = 0; i < n; i++) {
        uint64_t index = m.last_index + 1 + i;
        op.entries.push_back(LogEntry{index, term, static_cast<EntryKind>(Uniform(rng, 0, 2)),
                                      Payload(index, term, Uniform(rng, 0, max_payload), rng)});
      }
    }
    for (const Step& s : op.Steps()) m.Apply(s);
    ops.push_back(std::move(op));
  }
  ops.push_back(Op{});
  return ops;
}

void RunOps(storage::SegmentedLog& log, const std::vector<Op>& ops, size_t begin, size_t end, RunRecord* record,
            const std::function<void(size_t)>& after_op) {
  for (size_t i = begin; i < end; i++) {
    const Op& op = ops[i];
    Status s;
    switch (op.kind) {
      case Op::Kind::kAppend: s = log.Append(op.entries); break;
      case Op::Kind::kSetHardState: s = log.SetHardState(op.hard_state); break;
      case Op::Kind::kTruncateAfter: s = log.TruncateAfter(op.index); break;
      case Op::Kind::kPurgeUpTo: s = log.PurgeUpTo(op.index, op.term); break;
      case Op::Kind::kSync: s = log.Sync(); break;
    }
    if (!s.ok()) {
      record->first_error = s;
      record->failed_op = i;
      return;
    }
    for (Step& step : op.Steps()) record->steps.push_back(std::move(step));
    if (op.kind == Op::Kind::kSync) record->durable_steps = record->steps.size();
    record->ops_done++;
    if (after_op) after_op(i);
  }
}

common::Result<ModelState> ReadLogState(const storage::SegmentedLog& log) {
  ModelState m;
  m.first_index = log.first_index();
  m.last_index = log.last_index();
  m.hard_state = log.hard_state();
  ASSIGN_OR_RETURN(m.purge_term, log.Term(m.first_index - 1));
  if (m.last_index >= m.first_index) {
    ASSIGN_OR_RETURN(std::vector<LogEntry> all,
                     log.Entries(m.first_index, m.last_index + 1, std::numeric_limits<uint64_t>::max()));
    m.entries.assign(all.begin(), all.end());
  }
  return m;
}

std::string MatchPrefix(const ModelState& got, const std::vector<Step>& steps, size_t min_steps, size_t* matched) {
  ModelState m;
  ModelState at_min;
  std::string same_shape;  // the difference from a candidate with the same indexes
  for (size_t j = 0; j <= steps.size(); j++) {
    if (j > 0) m.Apply(steps[j - 1]);
    if (j < min_steps) continue;
    if (j == min_steps) at_min = m;
    if (m == got) {
      if (matched != nullptr) *matched = j;
      return "";
    }
    if (same_shape.empty() && m.first_index == got.first_index && m.last_index == got.last_index) {
      same_shape = "closest candidate (after " + std::to_string(j) + " steps): " + FirstDifference(got, m);
    }
  }
  std::string why = "recovered " + got.Summary() + " matches no prefix of " + std::to_string(steps.size()) +
                    " steps of at least " + std::to_string(min_steps) + "; after " + std::to_string(min_steps) +
                    ": " + at_min.Summary() + "; after all: " + m.Summary();
  if (!same_shape.empty()) why += "; " + same_shape;
  return why;
}

ModelState Replay(const std::vector<Step>& steps, const ModelState& start) {
  ModelState m = start;
  for (const Step& s : steps) m.Apply(s);
  return m;
}

std::vector<LogEntry> MakeEntries(uint64_t first, uint64_t n, uint64_t term, size_t payload_bytes) {
  std::mt19937_64 rng(first * 1000003 + term);
  std::vector<LogEntry> v;
  for (uint64_t i = first; i < first + n; i++) {
    v.push_back(LogEntry{i, term, EntryKind::kNormal, Payload(i, term, payload_bytes, rng)});
  }
  return v;
}

}  // namespace storage_testing
