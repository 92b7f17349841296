#include "client/cluster_format.h"

#include <gtest/gtest.h>

namespace replog::cli {
namespace {

ClusterStatus ThreeMembers() {
  ClusterStatus st;
  st.leader_id = 1;
  MemberStatus leader{.id = 1, .address = "h:1", .role = "leader", .term = 2, .leader_id = 1, .commit_index = 120,
                      .applied_index = 120, .first_index = 1, .last_index = 121, .members = {}, .error = {}};
  leader.members = {{.id = 1, .address = "h:1", .voter = true, .has_match = true, .match_index = 121, .lag = 0},
                    {.id = 2, .address = "h:2", .voter = true, .has_match = true, .match_index = 118, .lag = 3},
                    {.id = 3, .address = "h:3", .voter = true, .has_match = true, .match_index = 0, .lag = 121}};
  MemberStatus follower = leader;
  follower.id = 2;
  follower.address = "h:2";
  follower.role = "follower";
  follower.applied_index = 117;
  follower.members.clear();
  st.rows = {{.id = 1, .address = "h:1", .status = leader, .unreachable = {}},
             {.id = 2, .address = "h:2", .status = follower, .unreachable = {}},
             {.id = 3, .address = "h:3", .status = std::nullopt, .unreachable = "connection refused"}};
  st.leader = leader;
  return st;
}

TEST(ClusterFormatTest, TableShowsTheLeadersViewAndUnreachableMembers) {
  EXPECT_EQ(FormatClusterStatusTable(ThreeMembers()),
            "ID  ADDRESS  ROLE      TERM  COMMIT  APPLIED  MATCH  LAG  LEADER\n"
            "1   h:1      leader    2     120     120      121    0    *\n"
            "2   h:2      follower  2     120     117      118    3\n"
            "3   h:3      -         unreachable: connection refused\n");
}

TEST(ClusterFormatTest, TableWithoutALeaderShowsNoMatch) {
  ClusterStatus st = ThreeMembers();
  st.leader.reset();
  st.leader_id = 0;
  const std::string table = FormatClusterStatusTable(st);
  EXPECT_NE(table.find("2   h:2      follower  2     120     117      -      -\n"), std::string::npos) << table;
}

TEST(ClusterFormatTest, Json) {
  EXPECT_EQ(FormatClusterStatusJson(ThreeMembers()),
            "{\"leader_id\":1,\"members\":["
            "{\"id\":1,\"address\":\"h:1\",\"reachable\":true,\"role\":\"leader\",\"term\":2,\"commit_index\":120,"
            "\"applied_index\":120,\"first_index\":1,\"last_index\":121,\"match_index\":121,\"lag\":0},"
            "{\"id\":2,\"address\":\"h:2\",\"reachable\":true,\"role\":\"follower\",\"term\":2,\"commit_index\":120,"
            "\"applied_index\":117,\"first_index\":1,\"last_index\":121,\"match_index\":118,\"lag\":3},"
            "{\"id\":3,\"address\":\"h:3\",\"reachable\":false,\"error\":\"connection refused\"}]}");
}

}  // namespace
}  // namespace replog::cli
