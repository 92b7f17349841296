#pragma once

// Authorizer: enforces an AclPolicy on every call to the gRPC server, before
// any service sees it. It runs as the server credentials' auth metadata
// processor, so it needs TLS (the principal is the subject CN of the
// verified client certificate) and it covers every method of every
// service, those added later included: a method missing from MethodActions
// is denied.
//
// A denied call ends with PERMISSION_DENIED: `principal "alice" may not
// log:produce (/replog.v1.Log/Produce)`; its request is never read, so
// nothing of it reaches the log.
//
// Threads: gRPC calls Process on its own threads, inline (IsBlocking is
// false: the check is a few string matches). SetPolicy may be called from
// any thread (SIGHUP); calls already admitted are not re-checked.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/security/auth_metadata_processor.h>

#include "security/acl.h"

namespace security {

// The actions any one of which allows `method` ("/package.Service/Method");
// empty for a method not known to replog. kMemberAction among them means
// members may call it.
const std::vector<std::string_view>& MethodActions(std::string_view method);

// The decision for one call: OK, or PERMISSION_DENIED with the reason.
grpc::Status Authorize(const AclPolicy& policy, std::string_view principal, std::string_view method);

class Authorizer final : public grpc::AuthMetadataProcessor {
 public:
  explicit Authorizer(AclPolicy policy);

  void SetPolicy(AclPolicy policy);

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata, OutputMetadata* response_metadata) override;

 private:
  std::shared_ptr<const AclPolicy> policy() const;

  mutable std::mutex mu_;
  std::shared_ptr<const AclPolicy> policy_;  // guarded by mu_; replaced whole
};

}  // namespace security
