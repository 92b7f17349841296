#include "logservice/produce_outcome.h"

#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "logservice/log_state_machine.h"
#include "logservice/record_codec.h"

namespace logservice {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

raft::Entry Normal(uint64_t index, std::string data) {
  raft::Entry e;
  e.index = index;
  e.term = 1;
  e.type = raft::EntryType::kNormal;
  e.data = std::move(data);
  return e;
}

// The answers a request gets, from the table and from apply results, agree.
replog::v1::ProduceRequest Request(uint64_t producer, uint64_t sequence, int records) {
  replog::v1::ProduceRequest req;
  req.set_producer_id(producer);
  req.set_sequence(sequence);
  for (int i = 0; i < records; ++i) req.add_records()->set_value("v");
  return req;
}

std::vector<raft::ApplyResult> ApplyRequest(LogStateMachine& sm, const replog::v1::ProduceRequest& req,
                                            uint64_t* index) {
  std::vector<raft::ApplyResult> out;
  for (int i = 0; i < req.records_size(); ++i) {
    ++*index;
    out.push_back(raft::ApplyResult{*index, 1, sm.Apply(Normal(*index, EncodeRecord(req.records(i), 1, StampOf(req, i))))});
  }
  return out;
}

TEST(ProduceOutcomeTest, RetryGetsTheOriginalOffsetsFromTheTableAndFromApply) {
  LogStateMachine sm;
  uint64_t index = 10;
  const auto req = Request(7, 0, 3);
  EXPECT_FALSE(AnswerFromTable(req, sm).has_value());  // new: must be proposed
  ProduceOutcome first = OutcomeOf(KeyOf(req), ApplyRequest(sm, req, &index), sm.limits());
  ASSERT_TRUE(first.status.ok());
  EXPECT_THAT(first.offsets, ElementsAre(11u, 12u, 13u));

  std::optional<ProduceOutcome> from_table = AnswerFromTable(req, sm);
  ASSERT_TRUE(from_table.has_value());
  EXPECT_TRUE(from_table->status.ok());
  EXPECT_THAT(from_table->offsets, ElementsAre(11u, 12u, 13u));
  // The same retry proposed anyway (a race) gets the same answer at apply.
  ProduceOutcome applied = OutcomeOf(KeyOf(req), ApplyRequest(sm, req, &index), sm.limits());
  ASSERT_TRUE(applied.status.ok());
  EXPECT_EQ(applied.offsets, from_table->offsets);
  EXPECT_THAT(sm.SkippedIn(0, 100), ElementsAre(14u, 15u, 16u));

  // Overlapping: two old records and one new.
  const auto overlap = Request(7, 1, 3);
  EXPECT_FALSE(AnswerFromTable(overlap, sm).has_value());
  ProduceOutcome o = OutcomeOf(KeyOf(overlap), ApplyRequest(sm, overlap, &index), sm.limits());
  ASSERT_TRUE(o.status.ok());
  EXPECT_THAT(o.offsets, ElementsAre(12u, 13u, 19u));
}

TEST(ProduceOutcomeTest, GapsAndUnknownProducersAreRefusedNamingTheExpectedSequence) {
  LogStateMachine sm;
  uint64_t index = 0;
  ASSERT_TRUE(OutcomeOf(KeyOf(Request(7, 0, 2)), ApplyRequest(sm, Request(7, 0, 2), &index), sm.limits()).status.ok());
  const auto gap = Request(7, 5, 2);
  EXPECT_FALSE(AnswerFromTable(gap, sm).has_value());  // decided at apply (pipelined requests may fill it)
  ProduceOutcome o = OutcomeOf(KeyOf(gap), ApplyRequest(sm, gap, &index), sm.limits());
  EXPECT_EQ(o.status.code(), common::Code::kFailedPrecondition);
  EXPECT_THAT(o.status.message(), HasSubstr("expects sequence 2"));
  EXPECT_EQ(o.expected_sequence, 2u);

  const auto unknown = Request(8, 4, 1);
  o = OutcomeOf(KeyOf(unknown), ApplyRequest(sm, unknown, &index), sm.limits());
  EXPECT_EQ(o.status.code(), common::Code::kFailedPrecondition);
  EXPECT_THAT(o.status.message(), HasSubstr("producer 8 is unknown"));
  EXPECT_EQ(o.expected_sequence, 0u);
  EXPECT_THAT(sm.SkippedIn(0, 100), ElementsAre(3u, 4u, 5u));
}

TEST(ProduceOutcomeTest, ARetryBeyondTheWindowIsAlreadyExists) {
  LogStateMachine sm(ProducerTableLimits{.max_runs = 1, .max_producers = 10});
  uint64_t index = 0;
  const auto a = Request(7, 0, 2), b = Request(7, 2, 1);
  ASSERT_TRUE(OutcomeOf(KeyOf(a), ApplyRequest(sm, a, &index), sm.limits()).status.ok());
  index += 5;  // others' entries: b starts a run of its own
  ASSERT_TRUE(OutcomeOf(KeyOf(b), ApplyRequest(sm, b, &index), sm.limits()).status.ok());
  std::optional<ProduceOutcome> t = AnswerFromTable(a, sm);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->status.code(), common::Code::kAlreadyExists);
  EXPECT_THAT(t->status.message(), HasSubstr("no longer remembered"));
  ProduceOutcome o = OutcomeOf(KeyOf(a), ApplyRequest(sm, a, &index), sm.limits());
  EXPECT_EQ(o.status.code(), common::Code::kAlreadyExists);
}

}  // namespace
}  // namespace logservice
