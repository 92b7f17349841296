#include "sim/linearizability.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "sim/kv_model.h"

namespace lincheck {
namespace {

KvOperation Op(int64_t client, int64_t call_ns, int64_t return_ns, KvInput input,
               KvOutput output = KvDone()) {
  return {.client_id = client, .call_ns = call_ns, .return_ns = return_ns,
          .input = std::move(input), .output = std::move(output), .unknown = false};
}

// An op that timed out: its outcome is unknown.
KvOperation TimedOut(int64_t client, int64_t call_ns, KvInput input) {
  return {.client_id = client, .call_ns = call_ns, .return_ns = call_ns,
          .input = std::move(input), .output = KvDone(), .unknown = true};
}

Verdict CheckKv(const std::vector<KvOperation>& history) {
  return Check(KvModel(), history).verdict;
}

// ---- Basic semantics --------------------------------------------------------

TEST(LinearizabilityTest, SequentialLegalHistoryIsOk) {
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvPut("x", "1")),
      Op(2, 20, 30, KvGet("x"), KvRead("1")),
      Op(1, 40, 50, KvPut("x", "2")),
      Op(3, 60, 70, KvGet("x"), KvRead("2")),
      Op(2, 80, 90, KvGet("y"), KvRead(std::nullopt)),
  };
  CheckResult r = Check(KvModel(), h);
  EXPECT_EQ(r.verdict, Verdict::kOk);
  EXPECT_TRUE(r.explanation.empty());
}

TEST(LinearizabilityTest, EmptyHistoryIsOk) { EXPECT_EQ(CheckKv({}), Verdict::kOk); }

TEST(LinearizabilityTest, StaleReadAcrossClientsIsIllegal) {
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvPut("x", "1")),
      Op(1, 20, 30, KvPut("x", "2")),
      Op(2, 40, 50, KvGet("x"), KvRead("1")),
  };
  CheckResult r = Check(KvModel(), h);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.partition, "x");
  EXPECT_EQ(r.longest_prefix, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(r.stuck, (std::vector<size_t>{2}));
  EXPECT_NE(r.explanation.find("partition \"x\""), std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("#2 client 2 [40, 50] get(\"x\") -> \"1\"  (impossible"),
            std::string::npos) << r.explanation;
  EXPECT_NE(r.explanation.find("leaving state \"2\""), std::string::npos) << r.explanation;
}

TEST(LinearizabilityTest, ConcurrentPutAndGetMayBeOrderedEitherWay) {
  for (std::optional<std::string> read : {std::optional<std::string>(), std::optional<std::string>("1")}) {
    std::vector<KvOperation> h = {
        Op(1, 0, 100, KvPut("x", "1")),
        Op(2, 10, 20, KvGet("x"), KvRead(read)),
    };
    EXPECT_EQ(CheckKv(h), Verdict::kOk) << (read ? *read : "absent");
  }
}

TEST(LinearizabilityTest, OpsSharingATimestampAreConcurrent) {
  std::vector<KvOperation> h = {Op(1, 0, 10, KvPut("x", "1")),
                                Op(2, 10, 20, KvGet("x"), KvRead(std::nullopt))};
  EXPECT_EQ(CheckKv(h), Verdict::kOk);
  h[1].call_ns = 11;
  EXPECT_EQ(CheckKv(h), Verdict::kIllegal);
}

TEST(LinearizabilityTest, CasSwapsOnlyOnMatch) {
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvCas("x", std::nullopt, "1"), KvSwapped()),  // create if absent
      Op(2, 20, 30, KvCas("x", std::nullopt, "9"), KvNotSwapped()),
      Op(1, 40, 50, KvCas("x", "0", "2"), KvNotSwapped()),
      Op(2, 60, 70, KvCas("x", "1", "2"), KvSwapped()),
      Op(3, 80, 90, KvGet("x"), KvRead("2")),
  };
  EXPECT_EQ(CheckKv(h), Verdict::kOk);
}

TEST(LinearizabilityTest, CasReportingTheWrongOutcomeIsIllegal) {
  // Reports a swap although the value differs.
  EXPECT_EQ(CheckKv({Op(1, 0, 10, KvPut("x", "3")),
                     Op(2, 20, 30, KvCas("x", "1", "2"), KvSwapped())}),
            Verdict::kIllegal);
  // Reports no swap although the key was absent as expected.
  EXPECT_EQ(CheckKv({Op(1, 0, 10, KvCas("x", std::nullopt, "1"), KvNotSwapped())}),
            Verdict::kIllegal);
  // A failed cas must not write.
  EXPECT_EQ(CheckKv({Op(1, 0, 10, KvPut("x", "3")),
                     Op(2, 20, 30, KvCas("x", "1", "2"), KvNotSwapped()),
                     Op(3, 40, 50, KvGet("x"), KvRead("2"))}),
            Verdict::kIllegal);
}

TEST(LinearizabilityTest, DeleteThenGetIsAbsent) {
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvPut("x", "1")),
      Op(1, 20, 30, KvDelete("x")),
      Op(2, 40, 50, KvGet("x"), KvRead(std::nullopt)),
  };
  EXPECT_EQ(CheckKv(h), Verdict::kOk);
  h[2].output = KvRead("1");
  EXPECT_EQ(CheckKv(h), Verdict::kIllegal);
}

// Each get overlaps the put, so each alone could go either way; only the real-
// time order between the two gets (the first returned before the second was
// called) makes the history illegal.
TEST(LinearizabilityTest, RealTimeOrderBetweenOverlappingOpsIsEnforced) {
  std::vector<KvOperation> h = {
      Op(1, 0, 100, KvPut("x", "1")),
      Op(2, 10, 20, KvGet("x"), KvRead("1")),
      Op(3, 30, 40, KvGet("x"), KvRead(std::nullopt)),
  };
  CheckResult r = Check(KvModel(), h);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.stuck, (std::vector<size_t>{2})) << r.explanation;
  h[2].call_ns = 15;  // now the gets overlap: absent, then put, then "1"
  EXPECT_EQ(CheckKv(h), Verdict::kOk);
}

// ---- Unknown outcomes -------------------------------------------------------

TEST(LinearizabilityTest, TimedOutPutThatIsLaterObservedIsOk) {
  EXPECT_EQ(CheckKv({TimedOut(1, 0, KvPut("x", "1")),
                     Op(2, 50, 60, KvGet("x"), KvRead(std::nullopt)),
                     Op(2, 70, 80, KvGet("x"), KvRead("1"))}),
            Verdict::kOk);
}

TEST(LinearizabilityTest, TimedOutPutThatIsNeverObservedIsOk) {
  EXPECT_EQ(CheckKv({TimedOut(1, 0, KvPut("x", "1")),
                     Op(2, 50, 60, KvGet("x"), KvRead(std::nullopt)),
                     Op(2, 70, 80, KvPut("x", "2")),
                     Op(3, 90, 95, KvGet("x"), KvRead("2"))}),
            Verdict::kOk);
}

TEST(LinearizabilityTest, TimedOutOpTakesEffectOnlyAfterItsCall) {
  EXPECT_EQ(CheckKv({Op(2, 0, 10, KvGet("x"), KvRead("1")), TimedOut(1, 20, KvPut("x", "1"))}),
            Verdict::kIllegal);
}

TEST(LinearizabilityTest, TimedOutCasTakesEffectOnlyIfItMatches) {
  EXPECT_EQ(CheckKv({TimedOut(1, 0, KvCas("x", std::nullopt, "1")),
                     Op(2, 10, 20, KvGet("x"), KvRead("1"))}),
            Verdict::kOk);
  EXPECT_EQ(CheckKv({Op(1, 0, 5, KvPut("x", "0")), TimedOut(1, 6, KvCas("x", std::nullopt, "1")),
                     Op(2, 10, 20, KvGet("x"), KvRead("1"))}),
            Verdict::kIllegal);
}

// Many never-observed timed-out writes on one key, and a stale read at the end:
// the search must not try every subset of them.
TEST(LinearizabilityTest, ManyTimedOutWritesDoNotBlowUpTheSearch) {
  std::vector<KvOperation> h;
  for (int i = 0; i < 250; ++i) {
    int64_t t = i * 100;
    if (i % 5 == 0) h.push_back(TimedOut(9, t, KvPut("x", "lost" + std::to_string(i))));
    h.push_back(Op(i % 3, t + 10, t + 60, KvPut("x", std::to_string(i))));
    h.push_back(Op(3 + i % 3, t + 70, t + 90, KvGet("x"), KvRead(std::to_string(i))));
  }
  EXPECT_EQ(CheckKv(h), Verdict::kOk);
  h.push_back(Op(7, 100'000, 100'010, KvGet("x"), KvRead("248")));
  CheckResult r = Check(KvModel(), h);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  // Each step backtracked over tries each of the 50 pending writes once.
  EXPECT_LT(r.steps, 50'000u);
}

// ---- Partitions, budget, reports --------------------------------------------

TEST(LinearizabilityTest, IllegalKeyIsNamedInTheReport) {
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvPut("a", "1")),   Op(2, 0, 10, KvPut("b", "1")),
      Op(3, 0, 10, KvPut("c", "1")),   Op(1, 20, 30, KvPut("b", "2")),
      Op(2, 20, 30, KvGet("a"), KvRead("1")), Op(3, 40, 50, KvGet("b"), KvRead("1")),
      Op(1, 40, 50, KvGet("c"), KvRead("1")),
  };
  CheckResult r = Check(KvModel(), h);
  ASSERT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_EQ(r.partition, "b");
  EXPECT_EQ(r.longest_prefix, (std::vector<size_t>{1, 3}));  // history indices
  EXPECT_EQ(r.stuck, (std::vector<size_t>{5}));
  EXPECT_NE(r.explanation.find("partition \"b\" (3 ops)"), std::string::npos) << r.explanation;
  std::printf("%s", r.explanation.c_str());
}

// 20 concurrent writes and a read nothing wrote: proving it illegal means
// visiting every subset of the writes, far beyond any budget here.
std::vector<KvOperation> HardHistory() {
  std::vector<KvOperation> h;
  for (int i = 0; i < 20; ++i) h.push_back(Op(i, 0, 100, KvPut("x", std::to_string(i))));
  h.push_back(Op(99, 200, 300, KvGet("x"), KvRead("never")));
  return h;
}

// A clock that moves 1 ms each time it is read.
class SteppingClock final : public common::Clock {
 public:
  int64_t NowNanos() override { return now_ns_ += 1'000'000; }
  int64_t WallMillis() override { return now_ns_ / 1'000'000; }
  void SleepNanos(int64_t ns) override { now_ns_ += ns; }

 private:
  int64_t now_ns_ = 0;
};

TEST(LinearizabilityTest, TimeoutGivesUnknown) {
  SteppingClock clock;
  CheckResult r = Check(KvModel(), HardHistory(), {.clock = &clock, .timeout_ms = 5, .max_steps = 0});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_EQ(r.partition, "x");
  EXPECT_LE(r.steps, 5u * 1024);
}

TEST(LinearizabilityTest, StepBudgetGivesUnknown) {
  CheckResult r = Check(KvModel(), HardHistory(), {.clock = nullptr, .timeout_ms = 0, .max_steps = 5000});
  EXPECT_EQ(r.verdict, Verdict::kUnknown);
  EXPECT_EQ(r.steps, 5001u);
}

// ---- Scale and random histories ---------------------------------------------

// LINCHECK_SEED=<n> replays a run; otherwise a fresh seed.
uint64_t TestSeed() {
  const char* env = std::getenv("LINCHECK_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device()();
}

struct RandomHistory {
  std::vector<KvOperation> ops;
  std::vector<size_t> known_gets;  // indices of gets with a known outcome
};

// Runs `n` random ops one at a time against a map (the real execution), then
// gives each an interval around its point in that sequence, up to `spread_ns`
// either side (points are 100 ns apart). `timeout_percent` of the writes time
// out, and either take effect or not.
RandomHistory GenerateHistory(uint64_t seed, int n, int keys, int64_t spread_ns,
                              int timeout_percent) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::map<std::string, std::string> store;
  RandomHistory out;
  for (int i = 0; i < n; ++i) {
    const int64_t point = 1000 + i * 100;
    std::string key = "k" + std::to_string(uniform(0, keys - 1));
    auto current = [&]() -> std::optional<std::string> {
      auto it = store.find(key);
      return it == store.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
    int64_t kind = uniform(0, 99);
    KvOperation op = Op(uniform(0, 7), point - uniform(0, spread_ns), point + uniform(0, spread_ns),
                        KvGet(key), KvRead(current()));
    if (kind >= 40 && kind < 70) {
      op.input = KvPut(key, "v" + std::to_string(i));
      op.output = KvDone();
    }
    if (kind >= 70 && kind < 85) {
      std::optional<std::string> expected =
          uniform(0, 1) == 0 ? current() : std::optional<std::string>("v" + std::to_string(uniform(0, i)));
      op.input = KvCas(key, expected, "v" + std::to_string(i));
      op.output = expected == current() ? KvSwapped() : KvNotSwapped();
    }
    if (kind >= 85) {
      op.input = KvDelete(key);
      op.output = KvDone();
    }
    bool takes_effect = true;
    if (op.input.op != KvOp::kGet && uniform(0, 99) < timeout_percent) {
      op.unknown = true;
      takes_effect = uniform(0, 1) == 0;
    }
    if (takes_effect && op.input.op != KvOp::kGet) {
      KvModel::State next = KvModel().Apply({current()}, op.input);
      if (next.value.has_value()) store[key] = *next.value; else store.erase(key);
    }
    if (op.input.op == KvOp::kGet) out.known_gets.push_back(out.ops.size());
    out.ops.push_back(std::move(op));
  }
  return out;
}

TEST(LinearizabilityTest, RandomHistoriesFromARealExecutionAreOkAndMutationsAreCaught) {
  const uint64_t base_seed = TestSeed();
  std::printf("base seed %llu (LINCHECK_SEED=%llu replays)\n", static_cast<unsigned long long>(base_seed),
              static_cast<unsigned long long>(base_seed));
  int mutated = 0, caught = 0;
  for (uint64_t s = base_seed; s < base_seed + 20; ++s) {
    SCOPED_TRACE("seed " + std::to_string(s));
    RandomHistory h = GenerateHistory(s, 300, 3, 250, 5);
    CheckResult r = Check(KvModel(), h.ops);
    ASSERT_EQ(r.verdict, Verdict::kOk) << r.explanation;
    if (h.known_gets.empty()) continue;
    std::mt19937_64 rng(s);
    size_t victim = h.known_gets[rng() % h.known_gets.size()];
    std::vector<KvOperation> never = h.ops;
    never[victim].output = KvRead("never-written");
    EXPECT_EQ(Check(KvModel(), never).verdict, Verdict::kIllegal);
    // A read of some other value of the key: usually, not always, illegal.
    std::vector<KvOperation> other = h.ops;
    other[victim].output = KvRead(h.ops[victim].output.value.has_value()
                                      ? std::nullopt
                                      : std::optional<std::string>("v" + std::to_string(rng() % 300)));
    ++mutated;
    caught += Check(KvModel(), other).verdict == Verdict::kIllegal ? 1 : 0;
  }
  std::printf("%d of %d reads changed to another value were caught\n", caught, mutated);
}

TEST(LinearizabilityTest, ThousandsOfOpsOnOneKeyAreChecked) {
  const uint64_t seed = TestSeed();
  std::printf("seed %llu (LINCHECK_SEED=%llu replays)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RandomHistory h = GenerateHistory(seed, 5000, 1, 300, 1);
  CheckResult r = Check(KvModel(), h.ops);
  EXPECT_EQ(r.verdict, Verdict::kOk) << r.explanation;
  std::printf("5000 ops on one key: ok after %llu steps\n", static_cast<unsigned long long>(r.steps));
}

// A failure at the end of a long history makes the search rule out every
// ordering before it: the worst case, still linear in the history here.
TEST(LinearizabilityTest, StaleReadAtTheEndOfALongHistoryIsFound) {
  const uint64_t seed = TestSeed();
  std::printf("seed %llu (LINCHECK_SEED=%llu replays)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RandomHistory h = GenerateHistory(seed, 2000, 1, 300, 0);
  h.ops[h.known_gets.back()].output = KvRead("never-written");
  CheckResult r = Check(KvModel(), h.ops);
  EXPECT_EQ(r.verdict, Verdict::kIllegal);
  EXPECT_THAT(r.stuck, ::testing::Contains(h.known_gets.back())) << r.explanation;
  std::printf("2000 ops on one key: illegal after %llu steps\n", static_cast<unsigned long long>(r.steps));
}

// ---- Against brute force ----------------------------------------------------

// A counter: add(n) and read() -> value. Unlike KV writes, two equal adds
// differ from one, which exercises how the search treats equal timed-out ops.
struct CounterModel {
  struct Input {
    bool read = false;
    int64_t add = 0;
    friend bool operator==(const Input&, const Input&) = default;
  };
  using Output = int64_t;  // read: the value seen
  using State = int64_t;
  State Init() const { return 0; }
  std::optional<State> Step(State s, const Input& in, Output out) const {
    if (!in.read) return s + in.add;
    return out == s ? std::optional<State>(s) : std::nullopt;
  }
  State Apply(State s, const Input& in) const { return in.read ? s : s + in.add; }
  size_t HashState(State s) const { return std::hash<int64_t>()(s); }
  std::vector<SubHistory> Partition(const History<CounterModel>& h) const {
    SubHistory all{"counter", {}};
    for (size_t i = 0; i < h.size(); ++i) all.ops.push_back(i);
    return {all};
  }
  std::string DescribeOp(const Input& in, Output out) const {
    return in.read ? "read() -> " + std::to_string(out) : "add(" + std::to_string(in.add) + ")";
  }
  std::string DescribeState(State s) const { return std::to_string(s); }
};
static_assert(Model<CounterModel>);
static_assert(DumpableModel<KvModel>);

// Whether some order of all known ops and any subset of the unknown ones that
// respects real time explains `h`: the definition, by exhaustive search.
template <typename M>
bool BruteForce(const M& model, const History<M>& h, typename M::State state, uint32_t used) {
  bool all_known_used = true;
  for (size_t i = 0; i < h.size(); ++i) all_known_used &= h[i].unknown || (used >> i & 1);
  if (all_known_used) return true;
  for (size_t i = 0; i < h.size(); ++i) {
    if (used >> i & 1) continue;
    bool blocked = false;  // by an op that returned before i was called
    for (size_t j = 0; j < h.size(); ++j) {
      blocked |= !(used >> j & 1) && !h[j].unknown && h[j].return_ns < h[i].call_ns;
    }
    if (blocked) continue;
    std::optional<typename M::State> next =
        h[i].unknown ? std::optional(model.Apply(state, h[i].input))
                     : model.Step(state, h[i].input, h[i].output);
    if (next.has_value() && BruteForce(model, h, *next, used | (1u << i))) return true;
  }
  return false;
}

template <typename M>
std::string Describe(const M& model, const History<M>& h) {
  std::string s;
  for (size_t i = 0; i < h.size(); ++i) {
    s += internal::FormatOp(i, h[i].client_id, h[i].call_ns, h[i].return_ns, h[i].unknown,
                            model.DescribeOp(h[i].input, h[i].output)) + "\n";
  }
  return s;
}

template <typename M, typename MakeOp>
void CompareWithBruteForce(const M& model, uint64_t seed, MakeOp make_op) {
  std::mt19937_64 rng(seed);
  int legal = 0;
  for (int round = 0; round < 1500; ++round) {
    History<M> h;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      auto op = make_op(rng);
      op.call_ns = static_cast<int64_t>(rng() % 20);
      op.return_ns = op.call_ns + static_cast<int64_t>(rng() % 10);
      op.unknown = rng() % 4 == 0;
      h.push_back(op);
    }
    const bool expected = BruteForce(model, h, model.Init(), 0);
    legal += expected ? 1 : 0;
    ASSERT_EQ(VerdictName(Check(model, h).verdict), VerdictName(expected ? Verdict::kOk : Verdict::kIllegal))
        << "round " << round << "\n" << Describe(model, h) << Check(model, h).explanation;
  }
  std::printf("%d of 1500 random histories legal\n", legal);
}

TEST(LinearizabilityTest, AgreesWithBruteForceOnSmallKvHistories) {
  const uint64_t seed = TestSeed();
  std::printf("seed %llu (LINCHECK_SEED=%llu replays)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  auto value = [](std::mt19937_64& rng) -> std::optional<std::string> {
    uint64_t v = rng() % 3;
    return v == 0 ? std::nullopt : std::optional<std::string>(v == 1 ? "a" : "b");
  };
  CompareWithBruteForce(KvModel(), seed, [&](std::mt19937_64& rng) {
    switch (rng() % 4) {
      case 0: return Op(1, 0, 0, KvPut("x", value(rng).value_or("a")));
      case 1: return Op(1, 0, 0, KvGet("x"), KvRead(value(rng)));
      case 2: {
        std::optional<std::string> expected = value(rng);
        return Op(1, 0, 0, KvCas("x", expected, value(rng).value_or("b")),
                  rng() % 2 == 0 ? KvSwapped() : KvNotSwapped());
      }
      default: return Op(1, 0, 0, KvDelete("x"));
    }
  });
}

TEST(LinearizabilityTest, AgreesWithBruteForceOnSmallCounterHistories) {
  const uint64_t seed = TestSeed();
  std::printf("seed %llu (LINCHECK_SEED=%llu replays)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  CompareWithBruteForce(CounterModel(), seed, [](std::mt19937_64& rng) {
    Operation<CounterModel::Input, CounterModel::Output> op;
    op.input = rng() % 2 == 0 ? CounterModel::Input{.read = true, .add = 0}
                              : CounterModel::Input{.read = false, .add = 1 + static_cast<int64_t>(rng() % 2)};
    op.output = static_cast<int64_t>(rng() % 4);
    return op;
  });
}

// ---- Dumps ------------------------------------------------------------------

TEST(HistoryDumpTest, RoundTripsEveryOpAndByte) {
  std::string odd_key("k\0\"\\\n\xff", 6);
  std::vector<KvOperation> h = {
      Op(1, 0, 10, KvPut(odd_key, "v\x01")),
      Op(2, 5, 20, KvGet(odd_key), KvRead("v\x01")),
      Op(3, 30, 40, KvGet("y"), KvRead(std::nullopt)),
      Op(1, 30, 40, KvCas("y", std::nullopt, "1"), KvSwapped()),
      Op(2, 50, 60, KvCas("y", "0", "2"), KvNotSwapped()),
      Op(3, 70, 80, KvDelete("y")),
      TimedOut(4, 90, KvPut("y", "3")),
  };
  std::string text = DumpHistory(KvModel(), h);
  common::Result<std::vector<KvOperation>> back = LoadHistory(KvModel(), text);
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  ASSERT_EQ(back->size(), h.size());
  for (size_t i = 0; i < h.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ((*back)[i].client_id, h[i].client_id);
    EXPECT_EQ((*back)[i].call_ns, h[i].call_ns);
    EXPECT_EQ((*back)[i].return_ns, h[i].return_ns);
    EXPECT_EQ((*back)[i].unknown, h[i].unknown);
    EXPECT_EQ((*back)[i].input, h[i].input);
    if (!h[i].unknown) {
      EXPECT_EQ((*back)[i].output, h[i].output);
    }
  }
  EXPECT_EQ(Check(KvModel(), *back).verdict, Verdict::kOk);
}

TEST(HistoryDumpTest, LineLooksLikeThis) {
  std::string text = DumpHistory(KvModel(), {Op(1, 5, 9, KvGet("x"), KvRead(std::nullopt))});
  EXPECT_EQ(text, "{\"call_ns\":5,\"client\":1,\"key\":\"x\",\"op\":\"get\",\"read\":null,"
                  "\"return_ns\":9,\"unknown\":false}\n");
}

TEST(HistoryDumpTest, BadLineIsNamed) {
  std::string text = DumpHistory(KvModel(), {Op(1, 0, 10, KvPut("x", "1"))}) +
                     "\n{\"client\":1,\"call_ns\":0}\n";
  common::Result<std::vector<KvOperation>> back = LoadHistory(KvModel(), text);
  ASSERT_FALSE(back.has_value());
  EXPECT_EQ(back.error().code(), common::Code::kInvalidArgument);
  EXPECT_NE(back.error().message().find("line 3"), std::string::npos) << back.error().ToString();
}

TEST(HistoryDumpTest, ParserRejectsMalformedJson) {
  for (std::string_view bad : {"", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":1} x", "{\"a\":\"\\u0100\"}",
                               "{\"a\":\"unterminated}"}) {
    EXPECT_FALSE(ParseJsonRecord(bad).has_value()) << bad;
  }
  common::Result<JsonRecord> ok = ParseJsonRecord(" { \"a\" : -3 , \"b\" : true } ");
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(*GetInt(*ok, "a"), -3);
  EXPECT_TRUE(*GetBool(*ok, "b"));
}

}  // namespace
}  // namespace lincheck
