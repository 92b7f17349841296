#include "kv/kv_sessions.h"

#include "common/coding.h"

namespace kv {

using common::Status;

namespace {

constexpr uint32_t kMaxResponseBytes = 64 << 20;

}  // namespace

KvSessions::KvSessions(SessionLimits limits) : limits_(limits) {}

SessionCheck KvSessions::Check(uint64_t client, uint64_t sequence) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (sequence == 0) return SessionCheck{};
    return SessionCheck{.verdict = SessionVerdict::kUnknownClient, .expected = 0};
  }
  const Session& s = it->second;
  if (sequence == s.next) return SessionCheck{};
  if (sequence > s.next) return SessionCheck{.verdict = SessionVerdict::kOutOfOrder, .expected = s.next};
  for (const auto& [seq, response] : s.kept) {
    if (seq == sequence) return SessionCheck{.verdict = SessionVerdict::kDuplicate, .response = response};
  }
  return SessionCheck{.verdict = SessionVerdict::kForgotten};
}

bool KvSessions::Record(uint64_t client, uint64_t sequence, uint64_t revision, std::string response) {
  if (Check(client, sequence).verdict != SessionVerdict::kNew) return false;
  if (!by_activity_.empty() && revision <= by_activity_.rbegin()->first) return false;
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (clients_.size() >= limits_.max_clients && !by_activity_.empty()) {
      clients_.erase(by_activity_.begin()->second);
      by_activity_.erase(by_activity_.begin());
    }
    it = clients_.emplace(client, Session{}).first;
  } else {
    by_activity_.erase(it->second.last_revision);
  }
  Session& s = it->second;
  s.next = sequence + 1;
  s.last_revision = revision;
  s.kept.emplace_back(sequence, std::move(response));
  while (s.kept.size() > limits_.max_responses) s.kept.pop_front();
  by_activity_[revision] = client;
  return true;
}

void KvSessions::EncodeTo(std::string* out) const {
  common::PutFixed32(out, limits_.max_clients);
  common::PutFixed32(out, limits_.max_responses);
  common::PutFixed64(out, by_activity_.size());
  for (const auto& [revision, client] : by_activity_) {
    const Session& s = clients_.at(client);
    common::PutFixed64(out, client);
    common::PutFixed64(out, s.next);
    common::PutFixed64(out, s.last_revision);
    common::PutFixed32(out, static_cast<uint32_t>(s.kept.size()));
    for (const auto& [seq, response] : s.kept) {
      common::PutFixed64(out, seq);
      common::PutFixed32(out, static_cast<uint32_t>(response.size()));
      out->append(response);
    }
  }
}

Status KvSessions::DecodeFrom(std::string_view* in) {
  std::string_view rest = *in;
  SessionLimits limits;
  uint64_t count = 0;
  if (!common::GetFixed32(&rest, &limits.max_clients) || !common::GetFixed32(&rest, &limits.max_responses) ||
      !common::GetFixed64(&rest, &count)) {
    return common::DataLossError("kv sessions: the header is cut short");
  }
  if (limits.max_clients != limits_.max_clients || limits.max_responses != limits_.max_responses) {
    return common::FailedPreconditionError(
        "kv sessions: written with limits of " + std::to_string(limits.max_clients) + " clients and " +
        std::to_string(limits.max_responses) + " responses, this member has " + std::to_string(limits_.max_clients) +
        " and " + std::to_string(limits_.max_responses));
  }
  if (count > limits.max_clients) {
    return common::DataLossError("kv sessions: " + std::to_string(count) + " clients, more than the limit");
  }
  std::unordered_map<uint64_t, Session> clients;
  std::map<uint64_t, uint64_t> by_activity;
  for (uint64_t i = 0; i < count; ++i) {
    const std::string where = "kv sessions: client #" + std::to_string(i) + " of " + std::to_string(count);
    uint64_t client = 0;
    Session s;
    uint32_t kept = 0;
    if (!common::GetFixed64(&rest, &client) || !common::GetFixed64(&rest, &s.next) ||
        !common::GetFixed64(&rest, &s.last_revision) ||
        !common::GetFixed32(&rest, &kept)) {
      return common::DataLossError(where + ": cut short");
    }
    if (kept > limits.max_responses || kept > s.next) return common::DataLossError(where + ": too many responses");
    if (!by_activity.empty() && s.last_revision <= by_activity.rbegin()->first) {
      return common::DataLossError(where + ": not in order of activity");
    }
    for (uint32_t k = 0; k < kept; ++k) {
      uint64_t seq = 0;
      uint32_t n = 0;
      if (!common::GetFixed64(&rest, &seq) || !common::GetFixed32(&rest, &n) || n > kMaxResponseBytes ||
          rest.size() < n) {
        return common::DataLossError(where + ": response " + std::to_string(k) + " cut short");
      }
      if (seq >= s.next || (!s.kept.empty() && seq <= s.kept.back().first)) {
        return common::DataLossError(where + ": response sequences out of order");
      }
      s.kept.emplace_back(seq, std::string(rest.substr(0, n)));
      rest.remove_prefix(n);
    }
    if (!clients.emplace(client, std::move(s)).second) return common::DataLossError(where + ": listed twice");
    by_activity.emplace(clients.at(client).last_revision, client);
  }
  clients_ = std::move(clients);
  by_activity_ = std::move(by_activity);
  *in = rest;
  return Status::Ok();
}

}  // namespace kv
