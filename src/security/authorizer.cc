#include "security/authorizer.h"

#include <map>

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

namespace security {
namespace {

using Actions = std::vector<std::string_view>;

// Every method of replog's services (proto/replog/v1/) and who may call it.
// GetServers only tells the members' addresses, which any client needs to
// find the leader: every grantable action allows it.
const std::map<std::string_view, Actions, std::less<>>& Table() {
  static const auto* table = new std::map<std::string_view, Actions, std::less<>>{
      {"/replog.v1.Log/Produce", {kLogProduce}},
      {"/replog.v1.Log/ProduceStream", {kLogProduce}},
      {"/replog.v1.Log/Consume", {kLogConsume}},
      {"/replog.v1.Log/ConsumeStream", {kLogConsume}},
      {"/replog.v1.Log/GetServers", {kLogProduce, kLogConsume, kKvRead, kKvWrite, kClusterAdmin}},
      {"/replog.v1.KV/Put", {kKvWrite}},
      {"/replog.v1.KV/Delete", {kKvWrite}},
      {"/replog.v1.KV/CompareAndSet", {kKvWrite}},
      {"/replog.v1.KV/WriteStream", {kKvWrite}},
      {"/replog.v1.KV/Get", {kKvRead}},
      {"/replog.v1.KV/Scan", {kKvRead}},
      {"/replog.v1.KV/ReadStream", {kKvRead}},
      {"/replog.v1.KV/Status", {kKvRead}},
      // A joining member leaves the KV group before it starts (server/join.h).
      {"/replog.v1.KV/RemoveMember", {kClusterAdmin, kMemberAction}},
      // A member that lost its leader asks the others whether it was removed.
      {"/replog.v1.Cluster/MemberStatus", {kClusterAdmin, kMemberAction}},
      {"/replog.v1.Cluster/TransferLeadership", {kClusterAdmin}},
      {"/replog.v1.Cluster/RemoveMember", {kClusterAdmin}},
      // A joining member asks to be added.
      {"/replog.v1.Cluster/AddMember", {kClusterAdmin, kMemberAction}},
      // The leader tells a member it removed.
      {"/replog.v1.Cluster/NotifyRemoved", {kMemberAction}},
      {"/replog.v1.Peer/Stream", {kMemberAction}},
      {"/replog.v1.Peer/SendSnapshot", {kMemberAction}},
  };
  return *table;
}

std::string Principal(const grpc::AuthContext& context) {
  for (const grpc::string_ref& cn : context.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME)) {
    return std::string(cn.data(), cn.size());
  }
  return "";
}

grpc::Status Denied(std::string message) { return {grpc::StatusCode::PERMISSION_DENIED, std::move(message)}; }

}  // namespace

const std::vector<std::string_view>& MethodActions(std::string_view method) {
  static const Actions none;
  auto it = Table().find(method);
  return it == Table().end() ? none : it->second;
}

grpc::Status Authorize(const AclPolicy& policy, std::string_view principal, std::string_view method) {
  // Every call comes here: the allowed path builds no string.
  const Actions& actions = MethodActions(method);
  const bool member = !principal.empty() && policy.IsMember(principal);
  if (!principal.empty()) {
    for (std::string_view a : actions) {
      if (a == kMemberAction ? member : !member && policy.Allows(principal, a)) return grpc::Status::OK;
    }
  }
  const std::string who = "principal \"" + std::string(principal) + "\"";
  if (actions.empty()) return Denied(who + " may not call " + std::string(method) + ": not a replog method");
  if (principal.empty()) return Denied("a client certificate without a subject CN may not call anything");
  std::string wanted;
  for (std::string_view a : actions) {
    if (a == kMemberAction) continue;
    wanted += (wanted.empty() ? "" : " or ") + std::string(a);
  }
  if (member) {
    return Denied(who + " is a cluster member, allowed only what members do among themselves, not " +
                  (wanted.empty() ? std::string(method) : wanted) + " (" + std::string(method) + ")");
  }
  if (wanted.empty()) return Denied(who + " is not a cluster member: it may not call " + std::string(method));
  return Denied(who + " may not " + wanted + " (" + std::string(method) + ")");
}

Authorizer::Authorizer(AclPolicy policy) : policy_(std::make_shared<const AclPolicy>(std::move(policy))) {}

void Authorizer::SetPolicy(AclPolicy policy) {
  auto next = std::make_shared<const AclPolicy>(std::move(policy));
  std::lock_guard lock(mu_);
  policy_ = std::move(next);
}

std::shared_ptr<const AclPolicy> Authorizer::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

grpc::Status Authorizer::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                 OutputMetadata* /*consumed_auth_metadata*/, OutputMetadata* /*response_metadata*/) {
  auto path = auth_metadata.find(":path");
  if (path == auth_metadata.end()) return Denied("the call names no method");
  const std::string_view method(path->second.data(), path->second.size());
  return Authorize(*policy(), Principal(*context), method);
}

}  // namespace security
