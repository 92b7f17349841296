#pragma once

// Exactly-once produce at the service edge (docs/logservice.md,
// "Exactly-once produce"): the answer a produce request gets, from the state
// machine's apply results or, for a retry whose records are all stored
// already, straight from the applied producer table without proposing.
//
// The two give the same answer for the same request: a record whose
// sequence is below the producer's next is a duplicate in both, and it stays
// one (the table only moves forward); the only difference can be that a
// later apply no longer remembers an offset the earlier check still knew
// (ALREADY_EXISTS instead of the offsets), which says the same thing with
// less detail.
//
// Threads: any; the functions keep no state.

#include <cstdint>
#include <optional>
#include <vector>

#include "common/status.h"
#include "logservice/log_state_machine.h"
#include "logservice/record_codec.h"
#include "raft/node/node.h"
#include "replog/v1/log.pb.h"

namespace logservice {

// Trailing metadata of a FAILED_PRECONDITION for an out-of-order sequence or
// an unknown producer: the sequence the producer must send next (decimal).
inline constexpr char kExpectedSequenceKey[] = "replog-expected-sequence";

struct ProduceOutcome {
  // OK (offsets set); ALREADY_EXISTS (every record of the request is in the
  // log once, some offsets forgotten); FAILED_PRECONDITION (out of order or
  // unknown producer: nothing stored; expected_sequence set); kInternal for
  // a result the state machine cannot have written.
  common::Status status;
  std::vector<uint64_t> offsets;  // one per record when OK
  std::optional<uint64_t> expected_sequence;
};

// What the answer to a request needs of it: producer id (0: none), first
// sequence, number of records.
struct ProduceKey {
  uint64_t producer = 0;
  uint64_t sequence = 0;
  uint64_t records = 0;
};
ProduceKey KeyOf(const replog::v1::ProduceRequest& req);

// The stamp of the request's record `i`; nullopt without a producer id.
std::optional<ProducerStamp> StampOf(const replog::v1::ProduceRequest& req, int i);

// The answer for a request all of whose records are already stored by this
// member's applied state (every sequence below the producer's next): OK
// with the original offsets, or ALREADY_EXISTS when some are forgotten.
// nullopt when the request has no producer id or must be proposed (a new
// record, a gap, an unknown producer: the apply decides). `req` must be
// valid (ValidateProduce).
std::optional<ProduceOutcome> AnswerFromTable(const replog::v1::ProduceRequest& req, const LogStateMachine& sm);

// The answer from the apply results of the request's proposed records (one
// per record, in order). `limits` name what is remembered in messages.
ProduceOutcome OutcomeOf(const ProduceKey& req, const std::vector<raft::ApplyResult>& applied,
                         const ProducerTableLimits& limits);

}  // namespace logservice
