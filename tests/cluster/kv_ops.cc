#include "kv_ops.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "rpc/leader_hint.h"

namespace cluster_testing {

namespace v1 = ::replog::v1;

std::unique_ptr<v1::KV::Stub> KvStub(Cluster& cluster, uint64_t id) {
  return v1::KV::NewStub(cluster.Channel(cluster.Address(id)));
}

common::Result<v1::KvStatusResponse> KvStatus(Cluster& cluster, uint64_t id, int64_t timeout_ms) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, timeout_ms);
  v1::KvStatusResponse resp;
  grpc::Status s = KvStub(cluster, id)->Status(&ctx, v1::KvStatusRequest(), &resp);
  if (!s.ok()) return common::UnavailableError("kv status of member " + std::to_string(id) + ": " + s.error_message());
  return resp;
}

common::Result<uint64_t> KvPut(Cluster& cluster, const std::string& key, const std::string& value, int64_t timeout_ms,
                               std::string* leader) {
  const int64_t end = cluster.clock().NowNanos() + timeout_ms * 1'000'000;
  const std::vector<uint64_t> ids = cluster.ids();
  v1::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  std::string last = "no attempt";
  std::string target = leader != nullptr && !leader->empty() ? *leader : cluster.Address(ids[0]);
  for (size_t attempt = 0; cluster.clock().NowNanos() < end; ++attempt) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 2'000);
    v1::PutResponse resp;
    grpc::Status s = v1::KV::NewStub(cluster.Channel(target))->Put(&ctx, req, &resp);
    if (s.ok()) {
      if (leader != nullptr) *leader = target;
      return resp.revision();
    }
    last = target + ": " + s.error_message();
    const rpc::LeaderHint hint = rpc::ReadLeaderHint(ctx);
    if (!hint.address.empty() && hint.address != target) {
      target = hint.address;
      continue;
    }
    target = cluster.Address(ids[(attempt + 1) % ids.size()]);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return common::DeadlineExceededError("put " + key + " not acknowledged in " + std::to_string(timeout_ms) +
                                       " ms; last: " + last);
}

common::Result<std::optional<std::string>> KvGetLocal(Cluster& cluster, uint64_t id, const std::string& key) {
  grpc::ClientContext ctx;
  SetDeadline(ctx, 2'000);
  v1::GetRequest req;
  req.set_key(key);
  req.set_consistency(v1::LOCAL);
  v1::GetResponse resp;
  grpc::Status s = KvStub(cluster, id)->Get(&ctx, req, &resp);
  if (!s.ok()) {
    return common::UnavailableError("get " + key + " on member " + std::to_string(id) + ": " + s.error_message());
  }
  if (!resp.found()) return std::optional<std::string>();
  return std::optional<std::string>(resp.kv().value());
}

common::Result<std::map<std::string, std::string>> KvDump(Cluster& cluster, uint64_t id) {
  std::map<std::string, std::string> out;
  std::string from;
  while (true) {
    grpc::ClientContext ctx;
    SetDeadline(ctx, 5'000);
    v1::ScanRequest req;
    req.set_start(from);
    req.set_consistency(v1::LOCAL);
    v1::ScanResponse resp;
    grpc::Status s = KvStub(cluster, id)->Scan(&ctx, req, &resp);
    if (!s.ok()) return common::UnavailableError("scan on member " + std::to_string(id) + ": " + s.error_message());
    for (const v1::KeyValue& kv : resp.kvs()) out[kv.key()] = kv.value();
    if (!resp.more() || resp.kvs().empty()) return out;
    from = resp.kvs(resp.kvs_size() - 1).key() + std::string(1, '\0');
  }
}

common::Result<v1::KvStatusResponse> WaitSameKvState(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                     int64_t timeout_ms) {
  std::string seen;
  std::optional<v1::KvStatusResponse> first;
  const bool same = cluster.WaitUntil(
      [&] {
        seen.clear();
        std::vector<v1::KvStatusResponse> all;
        for (uint64_t id : ids) {
          auto st = KvStatus(cluster, id);
          if (!st.has_value()) {
            seen += st.error().message() + "; ";
            return false;
          }
          seen += "member " + std::to_string(id) + " applied " + std::to_string(st->applied_index()) + " hash " +
                  std::to_string(st->hash()) + " voters " + std::to_string(st->voters_size()) + "; ";
          all.push_back(*st);
        }
        for (const v1::KvStatusResponse& st : all) {
          const bool voter = std::find(st.voters().begin(), st.voters().end(), st.member_id()) != st.voters().end();
          if (!voter || st.applied_index() != all[0].applied_index() || st.hash() != all[0].hash()) return false;
        }
        first = all[0];
        return true;
      },
      timeout_ms, 50);
  if (!same) return common::DeadlineExceededError("the members' KV states did not meet: " + seen);
  return *first;
}

uint64_t KvLeader(Cluster& cluster, const std::vector<uint64_t>& ids, int64_t timeout_ms) {
  const std::vector<uint64_t> asked = ids.empty() ? cluster.ids() : ids;
  uint64_t leader = 0;
  const bool agreed = cluster.WaitUntil(
      [&] {
        leader = 0;
        for (uint64_t id : asked) {
          auto st = KvStatus(cluster, id);
          if (!st.has_value() || st->leader_id() == 0 || (leader != 0 && st->leader_id() != leader)) return false;
          leader = st->leader_id();
        }
        return leader != 0;
      },
      timeout_ms);
  return agreed ? leader : 0;
}

}  // namespace cluster_testing
