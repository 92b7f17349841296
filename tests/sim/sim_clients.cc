// The simulated clients: each runs one operation at a time (put, get,
// compare-and-set, delete on a few keys), sends it to the node it believes
// leads (or any), retries elsewhere on a rejection, and gives up after a
// timeout with the outcome unknown. Their history feeds the
// linearizability check.

#include "sim/simulator.h"

namespace sim {
namespace {

constexpr int64_t kClientTimeoutNs = 1'500'000'000;
constexpr int kMaxAttempts = 20;

}  // namespace

void Simulator::StartClients() {
  for (int i = 0; i < opt_.clients; ++i) {
    Client c;
    c.id = static_cast<uint64_t>(i + 1);
    clients_.push_back(c);
    Schedule(now_ + rng_.Range(1, 50) * 1'000'000, ClientNext{c.id});
  }
}

void Simulator::OnClientNext(uint64_t client) {
  Client& c = clients_.at(client - 1);
  if (c.busy || !faults_on_) return;  // clients stop when faults stop; the end-of-run probe takes over
  c.busy = true;
  ++c.seq;
  c.attempts = 0;
  c.call_ns = now_;
  std::string key = "k" + std::to_string(rng_.Below(static_cast<uint64_t>(opt_.keys)));
  std::string value = "c" + std::to_string(c.id) + "." + std::to_string(c.seq);
  ClientRequest req;
  req.client = c.id;
  req.seq = c.seq;
  switch (rng_.Below(8)) {
    case 0: case 1: case 2: req.input = lincheck::KvPut(key, value); break;
    case 3: case 4: case 5:
      req.input = lincheck::KvGet(key);
      req.read_index = rng_.Chance(knobs_.read_index_share);
      break;
    case 6: {
      // Compare against a value some client wrote recently, or absent.
      std::optional<std::string> expected;
      if (!history_.empty() && rng_.Chance(0.8)) {
        const auto& h = history_[rng_.Below(history_.size())];
        if (h.input.op == lincheck::KvOp::kPut) expected = h.input.value;
      }
      req.input = lincheck::KvCas(key, expected, value);
      break;
    }
    default: req.input = lincheck::KvDelete(key); break;
  }
  c.req = req;
  Schedule(now_ + kClientTimeoutNs, ClientTimeout{c.id, c.seq});
  SendRequest(c.id);
}

void Simulator::SendRequest(uint64_t client) {
  Client& c = clients_.at(client - 1);
  ++c.attempts;
  raft::NodeId target = leader_hint_ != raft::kNoNode && rng_.Chance(0.7) ? leader_hint_ : rng_.Pick(ids_);
  if (c.req.read_index && rng_.Chance(0.5)) target = rng_.Pick(ids_);  // followers serve ReadIndex too
  c.target = target;
  Schedule(now_ + NetDelay(), RequestArrive{target, c.req});
}

void Simulator::OnReply(const ClientReply& r) {
  if (r.client == kProbeClient) {
    if (!r.rejected) probe_acked_ = r.seq;
    return;
  }
  Client& c = clients_.at(r.client - 1);
  if (!c.busy || r.seq != c.seq) return;  // an answer after the client gave up
  if (r.rejected) {
    leader_hint_ = CurrentLeader();  // what a client learns from a "not leader" hint
    if (c.attempts < kMaxAttempts) {
      SendRequest(c.id);
      return;
    }
    // Every attempt was rejected: nothing took effect, record nothing.
    c.busy = false;
    Schedule(now_ + rng_.Range(1, 20) * 1'000'000, ClientNext{c.id});
    return;
  }
  leader_hint_ = c.target;
  history_.push_back(lincheck::KvOperation{static_cast<int64_t>(c.id), c.call_ns, now_, c.req.input, r.output, false});
  Trace("client " + std::to_string(c.id) + " " + lincheck::KvModel().DescribeOp(c.req.input, r.output));
  if (c.req.input.op != lincheck::KvOp::kGet) acked_writes_.insert({c.id, c.seq});
  ++result_.ops_ok;
  c.busy = false;
  Schedule(now_ + rng_.Range(0, 20) * 1'000'000, ClientNext{c.id});
}

void Simulator::OnClientTimeout(uint64_t client, uint64_t seq) {
  Client& c = clients_.at(client - 1);
  if (!c.busy || c.seq != seq) return;
  // The outcome is unknown. A get has no effect either way: leave it out.
  if (c.req.input.op != lincheck::KvOp::kGet) {
    history_.push_back(lincheck::KvOperation{static_cast<int64_t>(c.id), c.call_ns, now_, c.req.input, {}, true});
  }
  Trace("client " + std::to_string(c.id) + " timeout seq " + std::to_string(seq));
  ++result_.ops_unknown;
  c.busy = false;
  Schedule(now_ + rng_.Range(0, 20) * 1'000'000, ClientNext{c.id});
}

}  // namespace sim
