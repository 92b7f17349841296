// Conf changes (thesis §4): the encoding, and the rules that take one
// configuration to the next — simple changes, joint consensus, auto and
// explicit leave, learners. Catalogue 45, 46.

#include "raft/core/conf_change.h"

#include <gtest/gtest.h>

namespace raft {
namespace {

TrackerConfig Cfg(std::set<NodeId> voters, std::set<NodeId> learners = {}) {
  TrackerConfig c;
  c.voters.incoming = MajorityConfig(std::move(voters));
  c.learners = std::move(learners);
  return c;
}

ConfChange One(ConfChangeType t, NodeId n) { return ConfChange{.changes = {{t, n}}}; }

// Thesis §4: a conf-change entry decodes to what was proposed (every node
// must apply the same change).
TEST(RaftConfChangeTest, EncodingRoundTrips) {
  ConfChange cc{.transition = ConfChangeTransition::kJointExplicit,
                .changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kRemove, 1}},
                .context = "addr"};
  auto got = DecodeConfChange(EncodeConfChange(cc));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, cc);
  EXPECT_TRUE(DecodeConfChange(EncodeConfChange(ConfChange{}))->IsLeaveJoint());
}

// Thesis §4: a damaged conf-change entry is data loss, never a guessed change.
TEST(RaftConfChangeTest, DecodeRefusesDamagedEntries) {
  std::string ok = EncodeConfChange(One(ConfChangeType::kAddVoter, 4));
  for (size_t n = 0; n < ok.size(); ++n) {
    EXPECT_EQ(DecodeConfChange(ok.substr(0, n)).error().code(), common::Code::kDataLoss) << n;
  }
  std::string bad = ok;
  bad[0] = 9;  // version
  EXPECT_FALSE(DecodeConfChange(bad).has_value());
  bad = ok;
  bad[6] = 7;  // change type
  EXPECT_FALSE(DecodeConfChange(bad).has_value());
}

// Catalogue 46: one voter added or removed is applied directly.
TEST(RaftConfChangeTest, SimpleChangeAppliesDirectly) {
  auto c = ApplyConfChangeToConfig(Cfg({1, 2, 3}), One(ConfChangeType::kAddVoter, 4));
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->joint());
  EXPECT_EQ(c->voters.incoming.ids(), (std::set<NodeId>{1, 2, 3, 4}));
  c = ApplyConfChangeToConfig(Cfg({1, 2, 3}), One(ConfChangeType::kRemove, 3));
  EXPECT_EQ(c->voters.incoming.ids(), (std::set<NodeId>{1, 2}));
}

// Catalogue 45 (etcd confchange_v2_add_double_auto): several changes enter a
// joint configuration that is left automatically; the leave restores a
// simple one.
TEST(RaftConfChangeTest, SeveralChangesEnterJointAndLeaveAutomatically) {
  ConfChange cc{.changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kAddVoter, 5}}};
  auto c = ApplyConfChangeToConfig(Cfg({1, 2, 3}), cc);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->joint());
  EXPECT_TRUE(c->auto_leave);
  EXPECT_EQ(c->voters.outgoing.ids(), (std::set<NodeId>{1, 2, 3}));
  EXPECT_EQ(c->voters.incoming.ids(), (std::set<NodeId>{1, 2, 3, 4, 5}));
  auto left = ApplyConfChangeToConfig(*c, ConfChange{});
  ASSERT_TRUE(left.has_value());
  EXPECT_FALSE(left->joint());
  EXPECT_FALSE(left->auto_leave);
  EXPECT_EQ(left->voters.incoming.ids(), (std::set<NodeId>{1, 2, 3, 4, 5}));
}

// Catalogue 45: an explicit transition is joint even for one change and
// does not leave by itself.
TEST(RaftConfChangeTest, ExplicitTransitionIsJointWithoutAutoLeave) {
  ConfChange cc{.transition = ConfChangeTransition::kJointExplicit, .changes = {{ConfChangeType::kAddVoter, 4}}};
  auto c = ApplyConfChangeToConfig(Cfg({1, 2, 3}), cc);
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->joint());
  EXPECT_FALSE(c->auto_leave);
}

// Catalogue 45: one joint change at a time; leave only when joint.
TEST(RaftConfChangeTest, JointChangesDoNotNest) {
  auto joint = ApplyConfChangeToConfig(
      Cfg({1, 2, 3}), ConfChange{.changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kRemove, 1}}});
  ASSERT_TRUE(joint.has_value());
  EXPECT_EQ(ApplyConfChangeToConfig(*joint, One(ConfChangeType::kAddVoter, 5)).error().code(),
            common::Code::kFailedPrecondition);
  EXPECT_EQ(ApplyConfChangeToConfig(Cfg({1, 2, 3}), ConfChange{}).error().code(),
            common::Code::kFailedPrecondition);
}

// Catalogue 44, 45; thesis §4.1: changes that would leave no voter, name
// node 0, or list a node twice are refused.
TEST(RaftConfChangeTest, InvalidChangesAreRefused) {
  EXPECT_FALSE(ApplyConfChangeToConfig(Cfg({1}), One(ConfChangeType::kRemove, 1)).has_value());
  EXPECT_FALSE(ApplyConfChangeToConfig(Cfg({1, 2}), One(ConfChangeType::kAddVoter, kNoNode)).has_value());
  ConfChange twice{.changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kRemove, 4}}};
  EXPECT_FALSE(ApplyConfChangeToConfig(Cfg({1, 2, 3}), twice).has_value());
}

// Catalogue 45 (etcd confchange idempotency): applying a change that is
// already in effect leaves the configuration as it is.
TEST(RaftConfChangeTest, ReapplyingAChangeIsIdempotent) {
  TrackerConfig base = Cfg({1, 2, 3}, {4});
  EXPECT_EQ(*ApplyConfChangeToConfig(base, One(ConfChangeType::kAddVoter, 2)), base);
  EXPECT_EQ(*ApplyConfChangeToConfig(base, One(ConfChangeType::kAddLearner, 4)), base);
  EXPECT_EQ(*ApplyConfChangeToConfig(base, One(ConfChangeType::kRemove, 9)), base);
}

// Catalogue 46 (etcd simple_promote_demote.txt): promoting a learner and
// demoting a voter move it between the sets.
TEST(RaftConfChangeTest, PromoteAndDemoteMoveBetweenVotersAndLearners) {
  auto promoted = ApplyConfChangeToConfig(Cfg({1, 2, 3}, {4}), One(ConfChangeType::kAddVoter, 4));
  EXPECT_EQ(promoted->voters.incoming.ids(), (std::set<NodeId>{1, 2, 3, 4}));
  EXPECT_TRUE(promoted->learners.empty());
  auto demoted = ApplyConfChangeToConfig(Cfg({1, 2, 3}), One(ConfChangeType::kAddLearner, 3));
  EXPECT_EQ(demoted->voters.incoming.ids(), (std::set<NodeId>{1, 2}));
  EXPECT_EQ(demoted->learners, (std::set<NodeId>{3}));
}

// Catalogue 45, 48: a voter demoted in a joint change stays an outgoing
// voter, and becomes a learner only when the joint configuration is left.
TEST(RaftConfChangeTest, DemotedOutgoingVoterBecomesALearnerOnLeave) {
  ConfChange cc{.changes = {{ConfChangeType::kAddLearner, 3}, {ConfChangeType::kAddVoter, 4}}};
  auto joint = ApplyConfChangeToConfig(Cfg({1, 2, 3}), cc);
  ASSERT_TRUE(joint.has_value());
  EXPECT_TRUE(joint->voters.outgoing.contains(3));
  EXPECT_EQ(joint->learners_next, (std::set<NodeId>{3}));
  EXPECT_TRUE(joint->learners.empty());
  auto left = ApplyConfChangeToConfig(*joint, ConfChange{});
  EXPECT_EQ(left->learners, (std::set<NodeId>{3}));
  EXPECT_EQ(left->voters.incoming.ids(), (std::set<NodeId>{1, 2, 4}));
}

}  // namespace
}  // namespace raft
