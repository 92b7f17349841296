#include "security/acl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "replog/v1/cluster.pb.h"
#include "replog/v1/kv.pb.h"
#include "replog/v1/log.pb.h"
#include "replog/v1/peer.pb.h"
#include "security/authorizer.h"

namespace security {
namespace {

using ::testing::HasSubstr;

TEST(GlobMatchTest, StarMatchesAnyRunAndOtherCharactersThemselves) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("log:*", "log:produce"));
  EXPECT_FALSE(GlobMatch("log:*", "kv:read"));
  EXPECT_TRUE(GlobMatch("*:read", "kv:read"));
  EXPECT_TRUE(GlobMatch("app-*-eu", "app-orders-eu"));
  EXPECT_FALSE(GlobMatch("app-*-eu", "app-orders-us"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(GlobMatch("alice", "alice2"));
  EXPECT_FALSE(GlobMatch("alice", "alic"));
  EXPECT_TRUE(GlobMatch("**", "x"));
}

constexpr char kPolicy[] = R"(
members = ["node-*"]

[[allow]]
principals = ["admin"]
actions = ["*"]

[[allow]]
principals = ["app-*", "alice"]
actions = ["log:*", "kv:read"]
)";

TEST(AclPolicyTest, GrantsWhatARuleAllowsAndNothingElse) {
  auto p = AclPolicy::Parse(kPolicy, "policy.toml");
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  EXPECT_TRUE(p->Allows("admin", kClusterAdmin));
  EXPECT_TRUE(p->Allows("alice", kLogProduce));
  EXPECT_TRUE(p->Allows("app-orders", kLogConsume));
  EXPECT_TRUE(p->Allows("app-orders", kKvRead));
  EXPECT_FALSE(p->Allows("app-orders", kKvWrite));
  EXPECT_FALSE(p->Allows("bob", kLogConsume));
  EXPECT_TRUE(p->IsMember("node-1"));
  EXPECT_FALSE(p->IsMember("member-1"));  // the policy's own member patterns replace the default
  EXPECT_FALSE(p->IsMember("admin"));
}

TEST(AclPolicyTest, MembersDefaultToMemberStar) {
  auto p = AclPolicy::Parse("", "empty.toml");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->IsMember("member-3"));
  EXPECT_FALSE(p->Allows("anyone", kLogConsume));
}

TEST(AclPolicyTest, MistakesAreErrorsNamingTheFileAndLine) {
  auto typo = AclPolicy::Parse("[[allow]]\nprincipals = [\"a\"]\nactions = [\"log:prodcue\"]\n", "p.toml");
  ASSERT_FALSE(typo.has_value());
  EXPECT_THAT(typo.error().message(), HasSubstr("p.toml:1"));
  EXPECT_THAT(typo.error().message(), HasSubstr("'log:prodcue' matches none"));

  auto unknown = AclPolicy::Parse("memebers = [\"x\"]\n", "p.toml");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_THAT(unknown.error().message(), HasSubstr("unknown key 'memebers'"));

  auto no_actions = AclPolicy::Parse("[[allow]]\nprincipals = [\"a\"]\n", "p.toml");
  ASSERT_FALSE(no_actions.has_value());
  EXPECT_THAT(no_actions.error().message(), HasSubstr("needs principals and actions"));

  auto not_strings = AclPolicy::Parse("[[allow]]\nprincipals = [1]\nactions = [\"*\"]\n", "p.toml");
  ASSERT_FALSE(not_strings.has_value());
  EXPECT_THAT(not_strings.error().message(), HasSubstr("principals"));

  auto syntax = AclPolicy::Parse("[[allow]\n", "p.toml");
  ASSERT_FALSE(syntax.has_value());
  EXPECT_EQ(syntax.error().code(), common::Code::kInvalidArgument);

  auto member_action = AclPolicy::Parse("[[allow]]\nprincipals = [\"a\"]\nactions = [\"cluster:member\"]\n", "p");
  ASSERT_FALSE(member_action.has_value()) << "members' own action is never granted by a rule";
}

TEST(AclPolicyTest, LoadOfAMissingFileIsNotFound) {
  auto p = AclPolicy::Load("/nonexistent/policy.toml");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), common::Code::kNotFound);
  EXPECT_THAT(p.error().message(), HasSubstr("/nonexistent/policy.toml"));
}

TEST(AuthorizeTest, ClientsGetWhatThePolicyGrantsNamingPrincipalAndAction) {
  auto p = AclPolicy::Parse(kPolicy, "policy.toml");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(Authorize(*p, "alice", "/replog.v1.Log/Produce").ok());
  EXPECT_TRUE(Authorize(*p, "alice", "/replog.v1.Log/ConsumeStream").ok());
  EXPECT_TRUE(Authorize(*p, "alice", "/replog.v1.Log/GetServers").ok());
  EXPECT_TRUE(Authorize(*p, "alice", "/replog.v1.KV/Get").ok());
  grpc::Status put = Authorize(*p, "alice", "/replog.v1.KV/Put");
  EXPECT_EQ(put.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(put.error_message(), "principal \"alice\" may not kv:write (/replog.v1.KV/Put)");
  grpc::Status servers = Authorize(*p, "bob", "/replog.v1.Log/GetServers");
  EXPECT_EQ(servers.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(Authorize(*p, "admin", "/replog.v1.Cluster/TransferLeadership").ok());
  EXPECT_TRUE(Authorize(*p, "admin", "/replog.v1.Cluster/AddMember").ok());
}

TEST(AuthorizeTest, PeersAreMembersAllowedOnlyWhatMembersDo) {
  auto p = AclPolicy::Parse(kPolicy, "policy.toml");
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(Authorize(*p, "node-2", "/replog.v1.Peer/Stream").ok());
  EXPECT_TRUE(Authorize(*p, "node-2", "/replog.v1.Peer/SendSnapshot").ok());
  EXPECT_TRUE(Authorize(*p, "node-2", "/replog.v1.Cluster/AddMember").ok());  // joining
  EXPECT_TRUE(Authorize(*p, "node-2", "/replog.v1.KV/RemoveMember").ok());    // joining
  EXPECT_TRUE(Authorize(*p, "node-2", "/replog.v1.Cluster/NotifyRemoved").ok());
  grpc::Status produce = Authorize(*p, "node-2", "/replog.v1.Log/Produce");
  EXPECT_EQ(produce.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(produce.error_message(), HasSubstr("is a cluster member"));
  // Even "*" does not let a client act as a peer.
  grpc::Status peer = Authorize(*p, "admin", "/replog.v1.Peer/Stream");
  EXPECT_EQ(peer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(peer.error_message(), HasSubstr("is not a cluster member"));
}

TEST(AuthorizeTest, UnknownMethodsAndNamelessCertificatesAreDenied) {
  auto p = AclPolicy::Parse(kPolicy, "policy.toml");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(Authorize(*p, "admin", "/grpc.health.v1.Health/Check").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Authorize(*p, "", "/replog.v1.Log/Consume").error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST(MethodActionsTest, EveryMethodOfEveryServiceIsInTheTable) {
  // A method added to a .proto without an entry would be denied to all.
  const google::protobuf::FileDescriptor* files[] = {
      replog::v1::ProduceRequest::descriptor()->file(), replog::v1::PutRequest::descriptor()->file(),
      replog::v1::AddMemberRequest::descriptor()->file(), replog::v1::PeerBatch::descriptor()->file()};
  int methods = 0;
  for (const google::protobuf::FileDescriptor* f : files) {
    for (int s = 0; s < f->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = f->service(s);
      for (int m = 0; m < service->method_count(); ++m, ++methods) {
        const std::string path = "/" + service->full_name() + "/" + service->method(m)->name();
        EXPECT_FALSE(MethodActions(path).empty()) << path;
      }
    }
  }
  EXPECT_EQ(methods, 21);
}

}  // namespace
}  // namespace security
