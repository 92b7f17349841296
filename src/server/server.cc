#include "server/server.h"

#include <chrono>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "kv/kv_service.h"
#include "kv/kv_snapshots.h"
#include "kv/kv_state_machine.h"
#include "logservice/log_service.h"
#include "logservice/log_state_machine.h"
#include "logservice/retention.h"
#include "metrics/grpc_metrics.h"
#include "metrics/registry.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "rpc/limits.h"
#include "server/leader_handover.h"
#include "transport/grpc_transport.h"
#include "cluster/cluster_service.h"
#include "server/join.h"
#include "server/kv_membership.h"
#include "server/members_file.h"
#include "server/observability.h"
#include "security/acl.h"
#include "security/authorizer.h"
#include "security/member_tls.h"

namespace server {

using common::Result;
using common::Status;

namespace {

constexpr transport::GroupId kLogGroup = 1;
constexpr transport::GroupId kKvGroup = 2;
// How long a joining member asks before it gives up (and exits non-zero).
constexpr int64_t kJoinTimeoutMs = 60'000;

std::string FormatMembersList(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& a : addresses) out += (out.empty() ? "" : ",") + a;
  return out;
}
// How long the gRPC server's shutdown waits for calls and connections to end.
constexpr std::chrono::milliseconds kDrainDeadline{250};

raft::NodeOptions NodeOptionsOf(const ServerConfig& c, transport::GroupId group) {
  raft::NodeOptions o;
  o.group = group;
  o.raft.id = c.id;
  o.raft.election_tick = c.election_ticks;
  o.raft.heartbeat_tick = c.heartbeat_ticks;
  o.raft.check_quorum = true;
  o.raft.pre_vote = true;
  o.raft.disable_proposal_forwarding = true;
  o.raft.seed = c.id * 0x9e3779b97f4a7c15ULL ^ static_cast<uint64_t>(common::RealClock().NowNanos());
  o.tick_ns = int64_t{c.tick_ms} * 1'000'000;
  o.peers = c.initial_members;
  if (!c.advertise_address.empty()) o.peers[c.id] = c.advertise_address;
  return o;
}

// What opening a group's storage found and repaired, at info: the storage
// recovery of an operator's interest (a torn tail cut off, a snapshot
// install completed).
void LogStorageOpened(const raft::DurableStorage& storage, std::string_view group, const std::string& dir) {
  const storage::Stats st = storage.log().stats();
  const raft::DurableOpenStats& o = storage.open_stats();
  auto initial = storage.GetInitialState();
  const common::log::Context ctx{.group = group, .term = initial.has_value() ? initial->hard_state.term : 0};
  common::log::Info(ctx, "storage {}: {} segments, {}, commit {}", dir, st.segments,
                    st.last_index < st.first_index
                        ? std::string("no entries")
                        : "entries " + std::to_string(st.first_index) + ".." + std::to_string(st.last_index),
                    initial.has_value() ? initial->hard_state.commit : 0);
  if (st.torn_bytes_dropped > 0 || o.completed_snapshot_install || o.snapshot_temps_removed > 0 ||
      o.old_snapshots_removed > 0) {
    common::log::Info(ctx,
                      "storage {} recovered: torn tail of {} bytes ({} records of an unfinished write) cut off; "
                      "{} snapshot temp files and {} old snapshots removed; {}",
                      dir, st.torn_bytes_dropped, st.torn_records_dropped, o.snapshot_temps_removed,
                      o.old_snapshots_removed,
                      o.completed_snapshot_install ? "an interrupted snapshot install completed" : "no install pending");
  }
}

bool IsFresh(const raft::DurableStorage& storage) {
  return !storage.snapshot_meta().has_value() && storage.LastIndex() == 0;
}

}  // namespace

// Declared in the order they are built; destroyed in reverse (the gRPC
// server before the services it calls).
struct Server::Parts {
  ServerConfig config;
  common::RealClock clock;
  metrics::Registry metrics;  // before every part that updates it
  std::unique_ptr<common::Fs> fs;
  // TLS and access control; null when off.
  std::unique_ptr<security::MemberTls> tls;
  std::shared_ptr<security::Authorizer> authorizer;
  std::unique_ptr<raft::DurableStorage> storage;
  std::unique_ptr<transport::GrpcTransport> transport;
  logservice::LogStateMachine state_machine;
  std::unique_ptr<logservice::Retention> retention;  // before the node: its apply thread calls it
  std::unique_ptr<raft::Node> node;
  std::unique_ptr<logservice::LogService> log_service;
  // The key-value store: the second Raft group, under <data_dir>/kv.
  std::unique_ptr<raft::DurableStorage> kv_storage;
  kv::KvStateMachine kv_state_machine;
  std::unique_ptr<raft::Node> kv_node;
  std::unique_ptr<kv::KvSnapshots> kv_snapshots;
  std::unique_ptr<KvMembership> kv_membership;
  std::unique_ptr<kv::KvService> kv_service;
  std::unique_ptr<cluster::ClusterService> cluster_service;  // after kv_node: it asks it before promoting
  std::unique_ptr<metrics::GrpcMetrics> grpc_metrics;  // outlives the gRPC server
  std::unique_ptr<Observability> observability;        // after the nodes: stopped and destroyed before them
  std::unique_ptr<grpc::Server> grpc_server;
  std::string bound_address;
};

// The access policy at `path`, if it counts `principal` (this member's own
// certificate) as a member: otherwise its peers would refuse this member.
static Result<security::AclPolicy> LoadPolicyFor(const std::string& path, const std::string& principal) {
  ASSIGN_OR_RETURN(security::AclPolicy policy, security::AclPolicy::Load(path));
  if (!policy.IsMember(principal)) {
    return common::InvalidArgumentError("this member's certificate names \"" + principal +
                                        "\", which the access policy " + path +
                                        " does not count as a member: its peers would refuse it");
  }
  return policy;
}

// TLS (certificates checked, active copies under <data_dir>/tls) and the
// access policy, when configured.
Status Server::StartSecurity() {
  Parts& p = *parts_;
  const ServerConfig& c = p.config;
  if (!c.tls.enabled()) return Status::Ok();
  ASSIGN_OR_RETURN(p.tls, security::MemberTls::Create(c.tls, c.data_dir + "/tls"));
  if (c.acl_policy_file.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(security::AclPolicy policy, LoadPolicyFor(c.acl_policy_file, p.tls->principal()));
  p.authorizer = std::make_shared<security::Authorizer>(std::move(policy));
  return Status::Ok();
}

// Bootstraps a fresh data directory (from initial_members, or by joining a
// running cluster), and completes the peers' addresses from the members
// file of a member that joined.
//
// The KV group is bootstrapped only with a new cluster, at index 1 (raft::
// DurableStorage::BootstrapAt): a member that joins, or whose KV directory
// is new beside an existing log, starts its KV group empty and is added to
// it by the KV leader (server/kv_membership.h), which sends it a snapshot.
static Status PrepareMembership(ServerConfig& config, common::Fs& fs, raft::DurableStorage& storage,
                                raft::DurableStorage& kv_storage,
                                const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  const bool fresh = IsFresh(storage);
  if (fresh && !config.join.empty()) {
    spdlog::info("joining the cluster through {} as member {} at {}", FormatMembersList(config.join), config.id,
                 config.advertise_address);
    ASSIGN_OR_RETURN(JoinAnswer joined, JoinCluster(config.join, config.id, config.advertise_address,
                                                    config.join_replace, kJoinTimeoutMs, credentials));
    // Before this member's KV group starts (empty): the KV group must not
    // count it as the voter an earlier member under its id was. Until the
    // storage is bootstrapped below, a failed start joins again.
    ASSIGN_OR_RETURN(bool was_kv_member, LeaveKvGroup(config.join, config.id, kJoinTimeoutMs, credentials));
    if (was_kv_member) spdlog::info("removed an earlier member {}'s entry from the KV group", config.id);
    RETURN_IF_ERROR(WriteMembersFile(fs, config.data_dir, joined.members));
    RETURN_IF_ERROR(storage.Bootstrap(joined.base));
    spdlog::info("joined as a learner through leader {}; members {}; promoted to voter once caught up",
                 joined.leader, FormatMembers(joined.members));
  } else if (fresh) {
    raft::ConfState initial;
    for (const auto& [id, addr] : config.initial_members) initial.voters.push_back(id);
    if (IsFresh(kv_storage)) {
      RETURN_IF_ERROR(kv_storage.BootstrapAt(1, 1, initial, kv::KvStateMachine::InitialSnapshot()));
    }
    RETURN_IF_ERROR(storage.Bootstrap(initial));
    spdlog::info("bootstrapped a new cluster: members {}", FormatMembers(config.initial_members));
  } else if (!config.join.empty()) {
    spdlog::info("the data directory holds state: --join ignored");
  }
  Result<std::map<uint64_t, std::string>> file = ReadMembersFile(fs, config.data_dir);
  if (file.has_value()) {
    for (const auto& [id, addr] : *file) config.initial_members.emplace(id, addr);  // flags win
  } else if (file.error().code() != common::Code::kNotFound) {
    return file.error();
  }
  return Status::Ok();
}

Result<std::unique_ptr<Server>> Server::Start(const ServerConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Server> server(new Server());
  server->parts_ = std::make_unique<Parts>();
  Parts* p = server->parts_.get();
  p->config = config;
  if (p->config.advertise_address.empty()) {
    p->config.advertise_address =
        config.initial_members.contains(config.id) ? config.initial_members.at(config.id) : config.listen_address;
  }
  p->fs = std::make_unique<common::PosixFs>();
  RETURN_IF_ERROR(p->fs->CreateDir(config.data_dir).WithContext("data directory " + config.data_dir));
  storage::Options log_options;
  log_options.segment_bytes = config.segment_bytes;
  log_options.metrics = &p->metrics;
  log_options.metrics_clock = &p->clock;
  log_options.metrics_group = "log";
  storage::Options kv_storage_options = log_options;
  kv_storage_options.metrics_group = "kv";
  ASSIGN_OR_RETURN(p->storage, raft::DurableStorage::Open(*p->fs, config.data_dir + "/log", log_options));
  ASSIGN_OR_RETURN(p->kv_storage, raft::DurableStorage::Open(*p->fs, config.data_dir + "/kv", kv_storage_options));
  LogStorageOpened(*p->storage, "log", config.data_dir + "/log");
  LogStorageOpened(*p->kv_storage, "kv", config.data_dir + "/kv");
  RETURN_IF_ERROR(server->StartSecurity());
  std::shared_ptr<grpc::ChannelCredentials> peer_credentials = p->tls ? p->tls->ChannelCredentials() : nullptr;
  RETURN_IF_ERROR(PrepareMembership(p->config, *p->fs, *p->storage, *p->kv_storage, peer_credentials));
  transport::GrpcTransportOptions topts;
  topts.self = config.id;
  topts.max_message_bytes = rpc::kMaxMessageBytes;
  topts.credentials = peer_credentials;
  p->transport = std::make_unique<transport::GrpcTransport>(topts);

  logservice::RetentionPolicy retention{.max_bytes = config.retention_bytes,
                                        .max_age_ms = config.retention_ms,
                                        .check_interval_ms = config.retention_check_ms};
  p->retention = std::make_unique<logservice::Retention>(*p->storage, p->state_machine, retention, p->clock);
  p->state_machine.SetRetainHandler(
      [r = p->retention.get()](uint64_t purge_to, uint64_t) { r->OnRetain(purge_to); });
  raft::NodeOptions node_options = NodeOptionsOf(p->config, kLogGroup);
  node_options.on_fatal = [s = server.get()](const Status& err) { s->OnFatal(err); };
  node_options.metrics = &p->metrics;
  node_options.group_name = "log";
  ASSIGN_OR_RETURN(p->node, raft::Node::Start(node_options, *p->storage, *p->transport, p->state_machine, p->clock));
  p->retention->Start(*p->node);
  p->log_service = std::make_unique<logservice::LogService>(*p->node, *p->storage, p->state_machine, p->clock,
                                                            logservice::LogServiceOptions{.metrics = &p->metrics});

  raft::NodeOptions kv_options = NodeOptionsOf(p->config, kKvGroup);
  kv_options.on_fatal = node_options.on_fatal;
  kv_options.metrics = &p->metrics;
  kv_options.group_name = "kv";
  ASSIGN_OR_RETURN(p->kv_node,
                   raft::Node::Start(kv_options, *p->kv_storage, *p->transport, p->kv_state_machine, p->clock));
  p->kv_snapshots = std::make_unique<kv::KvSnapshots>(
      *p->kv_node, *p->kv_storage, p->kv_state_machine,
      kv::KvSnapshotPolicy{.entries = config.kv_snapshot_entries,
                           .bytes = config.kv_snapshot_bytes,
                           .trailing_entries = config.kv_trailing_entries});
  p->kv_snapshots->Start();
  p->kv_membership = std::make_unique<KvMembership>(*p->node, *p->kv_node);
  p->kv_membership->Start();
  p->kv_service = std::make_unique<kv::KvService>(*p->kv_node, *p->kv_storage, p->kv_state_machine);
  cluster::ClusterServiceOptions cluster_options;
  cluster_options.credentials = peer_credentials;
  cluster_options.may_promote = [kv_node = p->kv_node.get()](raft::NodeId id) {
    return ReadyForLogPromotion(*kv_node, id);
  };
  p->cluster_service = std::make_unique<cluster::ClusterService>(*p->node, *p->storage, p->config.advertise_address,
                                                                 p->clock, [s = server.get()] { s->OnRemoved(); },
                                                                 cluster_options);

  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (p->tls) {
    credentials = p->tls->ServerCredentials();
    if (p->authorizer) credentials->SetAuthMetadataProcessor(p->authorizer);
  }
  builder.AddListeningPort(config.listen_address, credentials, &port);
  // gRPC sets SO_REUSEPORT by default: a second member started on a port in
  // use would then listen beside the first and take some of its calls.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  transport::GrpcTransport::ConfigureServerBuilder(topts, &builder);
  p->grpc_metrics = std::make_unique<metrics::GrpcMetrics>(p->metrics, p->clock);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(p->grpc_metrics->NewInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(p->log_service.get());
  builder.RegisterService(p->cluster_service.get());
  builder.RegisterService(p->kv_service.get());
  builder.RegisterService(p->transport->service());
  p->grpc_server = builder.BuildAndStart();
  if (!p->grpc_server || port == 0) {
    return common::UnavailableError("cannot listen on " + config.listen_address +
                                    " (in use, or not an address of this machine)");
  }
  p->observability = std::make_unique<Observability>(
      p->metrics, *p->node, "log", *p->kv_node, "kv", ObservabilityOptions{.listen_address = config.metrics_listen});
  RETURN_IF_ERROR(p->observability->Start());
  if (p->observability->port() != 0) spdlog::info("metrics on port {}", p->observability->port());
  const size_t colon = config.listen_address.rfind(':');
  p->bound_address = config.listen_address.substr(0, colon + 1) + std::to_string(port);
  spdlog::info("serving on {} (advertised as {}), data in {}; {}", p->bound_address,
               p->config.advertise_address, config.data_dir,
               !p->tls ? "plaintext (no TLS)"
                       : "mutual TLS as " + p->tls->principal() +
                             (p->authorizer ? ", access policy " + config.acl_policy_file : ", no access policy"));
  return server;
}

Status Server::Reload() {
  Parts& p = *parts_;
  if (!p.tls) return common::FailedPreconditionError("TLS is off: nothing to reload");
  Result<security::CertificateInfo> cert = p.tls->Reload();
  if (!cert.has_value()) return cert.error().WithContext("reload: certificates kept");
  spdlog::info("reload: certificate of {} (valid until {}) in use for new connections within {} s",
               cert->common_name, cert->not_after_unix, security::MemberTls::kRefreshSeconds);
  if (!p.authorizer) return Status::Ok();
  Result<security::AclPolicy> policy = LoadPolicyFor(p.config.acl_policy_file, cert->common_name);
  if (!policy.has_value()) return policy.error().WithContext("reload: access policy kept");
  p.authorizer->SetPolicy(std::move(*policy));
  spdlog::info("reload: access policy {} in use", p.config.acl_policy_file);
  return Status::Ok();
}

// `group` is "" for the log group (whose lines tests and scripts read) and
// "kv group: " for the KV group.
void Server::HandOver(Parts& p, raft::Node& node, const char* group) {
  const int64_t timeout_ms = p.config.HandoverTimeoutMs();
  HandoverResult r = HandOverLeadership(node, timeout_ms * 1'000'000, p.clock);
  switch (r.outcome) {
    case HandoverOutcome::kNotLeader:
      spdlog::debug("shutdown: {}not the leader, no hand-over", group);
      break;
    case HandoverOutcome::kHandedOver:
      spdlog::info("shutdown: {}handed leadership to {} in {:.1f} ms ({})", group, r.successor, r.elapsed_ns / 1e6,
                   r.detail);
      break;
    case HandoverOutcome::kUnsettled:
      spdlog::warn("shutdown: {}handed leadership to {} in {:.1f} ms, but {}", group, r.successor,
                   r.elapsed_ns / 1e6, r.detail);
      break;
    case HandoverOutcome::kNoSuccessor:
      if (node.GetStatus().conf_state.voters.size() <= 1) {  // a one-member cluster: nobody to hand to
        spdlog::info("shutdown: {}the only voter; no hand-over", group);
        break;
      }
      [[fallthrough]];
    default:
      spdlog::warn("shutdown: {}leadership not handed over ({}: {}) after {:.1f} ms; stopping anyway", group,
                   HandoverOutcomeName(r.outcome), r.detail, r.elapsed_ns / 1e6);
  }
}

void Server::OnFatal(const Status& s) {
  {
    std::lock_guard lock(mu_);
    if (fatal_.ok()) fatal_ = s;
  }
  cv_.notify_all();
}

void Server::OnRemoved() {
  {
    std::lock_guard lock(mu_);
    removed_ = true;
  }
  cv_.notify_all();
}

bool Server::removed() const {
  std::lock_guard lock(mu_);
  return removed_;
}

Server::~Server() { Shutdown(); }

const std::string& Server::bound_address() const { return parts_->bound_address; }

Status Server::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_ || removed_ || !fatal_.ok(); });
  return stopped_ || removed_ ? Status::Ok() : fatal_;
}

void Server::Shutdown() {
  {
    std::unique_lock lock(mu_);
    if (shutting_down_) {  // another thread runs it: wait for it to finish
      cv_.wait(lock, [&] { return stopped_; });
      return;
    }
    shutting_down_ = true;
  }
  // Start may have failed half way: only the parts built are stopped.
  Parts& p = *parts_;
  spdlog::info("shutting down");
  if (p.observability) p.observability->Stop();  // no scrape waits on nodes that stop
  bool fatal = false;
  {
    std::lock_guard lock(mu_);
    fatal = !fatal_.ok();
  }
  if (p.node && !fatal) HandOver(p, *p.node, "");
  if (p.kv_node && !fatal) HandOver(p, *p.kv_node, "kv group: ");
  if (p.log_service) p.log_service->BeginShutdown();
  if (p.kv_service) p.kv_service->BeginShutdown();
  if (p.kv_membership) p.kv_membership->Stop();
  if (p.kv_snapshots) p.kv_snapshots->Stop();
  if (p.cluster_service) p.cluster_service->Stop();
  if (p.retention) p.retention->Stop();
  if (p.kv_node) p.kv_node->Shutdown();
  if (p.node) p.node->Shutdown();
  spdlog::debug("shutdown: raft node stopped");
  if (p.transport) p.transport->Shutdown();
  spdlog::debug("shutdown: transport stopped");
  if (p.grpc_server) {
    // Every handler has been told to end by now (the services refuse calls,
    // the node completed pending produces and woke waiting streams), so
    // calls end within milliseconds. What the server would wait for past
    // that is idle client connections: its shutdown sends a GOAWAY and waits
    // for the client to acknowledge it, which a synchronous client with no
    // call in flight does only when its channel is next polled (gRPC's
    // backup poller: every 5 s). A long-lived idle replog::Client held every
    // SIGTERM for the whole drain deadline (2 s, as it was). At the deadline
    // gRPC closes the remaining connections and cancels any call left.
    p.grpc_server->Shutdown(std::chrono::system_clock::now() + kDrainDeadline);
    p.grpc_server->Wait();
    spdlog::debug("shutdown: gRPC server drained");
  }
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
  spdlog::info("stopped");
}

}  // namespace server
