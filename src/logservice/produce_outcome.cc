#include "logservice/produce_outcome.h"

#include <string>

namespace logservice {

using common::Result;

namespace {

std::string Producer(uint64_t producer) { return "producer " + std::to_string(producer); }

ProduceOutcome Rejected(const ProduceKey& req, const SeqCheck& c, const ProducerTableLimits& limits) {
  ProduceOutcome out;
  out.expected_sequence = c.expected;
  if (c.verdict == SeqVerdict::kUnknownProducer) {
    out.status = common::FailedPreconditionError(
        Producer(req.producer) + " is unknown: never seen, or forgotten (the " +
        std::to_string(limits.max_producers) +
        " most recently active producers are remembered); a producer's first request starts at sequence 0, "
        "this one starts at " +
        std::to_string(req.sequence) + "; nothing was stored");
  } else {
    out.status = common::FailedPreconditionError(
        "out of order: " + Producer(req.producer) + " expects sequence " + std::to_string(c.expected) +
        " next, the request starts at " + std::to_string(req.sequence) +
        "; nothing was stored (resend from sequence " + std::to_string(c.expected) + ")");
  }
  return out;
}

ProduceOutcome AllStoredOffsetsForgotten(const ProduceKey& req, uint64_t first_forgotten,
                                         const ProducerTableLimits& limits) {
  ProduceOutcome out;
  out.status = common::AlreadyExistsError(
      Producer(req.producer) + ": the records of sequences " + std::to_string(req.sequence) + " to " +
      std::to_string(req.sequence + req.records - 1) +
      " are each in the log once, but the offset of sequence " + std::to_string(first_forgotten) +
      " is no longer remembered (the last " + std::to_string(limits.max_runs) +
      " runs of a producer's offsets are)");
  return out;
}

}  // namespace

ProduceKey KeyOf(const replog::v1::ProduceRequest& req) {
  return ProduceKey{req.producer_id(), req.sequence(), static_cast<uint64_t>(req.records_size())};
}

std::optional<ProducerStamp> StampOf(const replog::v1::ProduceRequest& req, int i) {
  if (req.producer_id() == 0) return std::nullopt;
  return ProducerStamp{req.producer_id(), req.sequence() + static_cast<uint64_t>(i)};
}

std::optional<ProduceOutcome> AnswerFromTable(const replog::v1::ProduceRequest& req, const LogStateMachine& sm) {
  if (req.producer_id() == 0 || req.records_size() == 0) return std::nullopt;
  // The usual request is new: one look at its last record tells.
  const SeqCheck last = sm.Check(*StampOf(req, req.records_size() - 1));
  if (last.verdict != SeqVerdict::kDuplicate && last.verdict != SeqVerdict::kForgotten) return std::nullopt;
  const std::vector<SeqCheck> checks = sm.Check(*StampOf(req, 0), static_cast<uint64_t>(req.records_size()));
  ProduceOutcome out;
  std::optional<uint64_t> forgotten;
  for (size_t i = 0; i < checks.size(); ++i) {
    if (checks[i].verdict == SeqVerdict::kDuplicate) {
      out.offsets.push_back(checks[i].offset);
    } else if (checks[i].verdict == SeqVerdict::kForgotten) {
      if (!forgotten.has_value()) forgotten = req.sequence() + i;
    } else {
      return std::nullopt;  // the table moved on between the two looks: let the apply decide
    }
  }
  if (forgotten.has_value()) return AllStoredOffsetsForgotten(KeyOf(req), *forgotten, sm.limits());
  return out;
}

ProduceOutcome OutcomeOf(const ProduceKey& req, const std::vector<raft::ApplyResult>& applied,
                         const ProducerTableLimits& limits) {
  ProduceOutcome out;
  out.offsets.reserve(applied.size());
  std::optional<uint64_t> forgotten;
  for (size_t i = 0; i < applied.size(); ++i) {
    const raft::ApplyResult& a = applied[i];
    if (a.result.empty()) {  // stored here (or a record without a producer id)
      out.offsets.push_back(a.index);
      continue;
    }
    Result<SeqCheck> c = DecodeApplyResult(a.result);
    if (!c.has_value()) return ProduceOutcome{.status = c.error()};
    switch (c->verdict) {
      case SeqVerdict::kNew:
        out.offsets.push_back(a.index);
        break;
      case SeqVerdict::kDuplicate:
        out.offsets.push_back(c->offset);
        break;
      case SeqVerdict::kForgotten:
        if (!forgotten.has_value()) forgotten = req.sequence + i;
        break;
      case SeqVerdict::kOutOfOrder:
      case SeqVerdict::kUnknownProducer:
        // Only a request's first record can be out of order (the rest follow
        // it), so nothing of the request was stored.
        return Rejected(req, *c, limits);
    }
  }
  if (forgotten.has_value()) return AllStoredOffsetsForgotten(req, *forgotten, limits);
  return out;
}

}  // namespace logservice
