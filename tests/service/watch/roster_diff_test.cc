// The roster diff on its own: rows to write and events to log for one
// complete read of a workspace's members, with no store involved.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/watch/watch_store.h"

namespace unified::watch {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

ObservedMember M(const std::string& id, const std::string& role,
                 const std::string& name = "", const std::string& email = "") {
  return ObservedMember{id, role, name.empty() ? "User " + id : name,
                        email.empty() ? id + "@x.example" : email};
}

std::map<std::string, ObservedMember> ById(std::vector<ObservedMember> list) {
  std::map<std::string, ObservedMember> out;
  for (ObservedMember& m : list) out[m.user_id] = m;
  return out;
}

std::vector<std::string> Ids(const std::vector<ObservedMember>& list) {
  std::vector<std::string> out;
  for (const ObservedMember& m : list) out.push_back(m.user_id);
  return out;
}

// "TYPE user role<-previous" for each event.
std::vector<std::string> Described(const std::vector<StoredEvent>& events) {
  std::vector<std::string> out;
  for (const StoredEvent& e : events) {
    std::string s = std::to_string(static_cast<int>(e.type)) + " " + e.user_id;
    if (!e.role_id.empty() || !e.previous_role_id.empty()) {
      s += " " + e.role_id + "<-" + e.previous_role_id;
    }
    if (e.workspace_id.empty()) s += " (no workspace)";
    out.push_back(s);
  }
  return out;
}

TEST(RosterDiffTest, ABaselineStoresEverythingAndLogsNothing) {
  auto [diff, events] = DiffRoster(
      "ws", "Sales", {}, {}, {M("2", "admin"), M("1", "light")}, true, {});
  EXPECT_THAT(Ids(diff.new_users), ElementsAre("1", "2"));
  EXPECT_THAT(Ids(diff.joined), ElementsAre("1", "2"));
  EXPECT_THAT(diff.left, IsEmpty());
  EXPECT_THAT(events, IsEmpty());
}

TEST(RosterDiffTest, JoinsRoleChangesAndLeavesAreLoggedInIdOrder) {
  const auto stored =
      ById({M("1", "light"), M("2", "regular"), M("3", "admin")});
  const auto known = ById({M("1", ""), M("2", ""), M("4", "")});
  auto [diff, events] = DiffRoster(
      "ws", "Sales", stored, known,
      {M("4", "light"), M("2", "admin"), M("1", "light")}, false, {});
  EXPECT_THAT(diff.new_users, IsEmpty());  // 4 is known from elsewhere.
  EXPECT_THAT(Ids(diff.joined), ElementsAre("4"));
  EXPECT_THAT(Ids(diff.role_changed), ElementsAre("2"));
  EXPECT_THAT(diff.left, ElementsAre("3"));
  EXPECT_THAT(Described(events),
              ElementsAre("3 2 admin<-regular", "1 4 light<-", "2 3 <-admin"));
  EXPECT_EQ(events[0].workspace_id, "ws");
  EXPECT_EQ(events[0].workspace_name, "Sales");
}

TEST(RosterDiffTest, ARenameIsOneWorkspacelessUpdateOfAKnownUser) {
  const auto stored = ById({M("1", "light"), M("2", "light")});
  const auto known = ById({M("1", ""), M("2", ""), M("3", "")});
  auto [diff, events] =
      DiffRoster("ws", "Sales", stored, known,
                 {M("1", "light", "New Name"), M("2", "light"),
                  M("3", "light", "Renamed Newcomer")},
                 false, {});
  EXPECT_THAT(Ids(diff.renamed_users), ElementsAre("1", "3"));
  // Each known user's rename is USER_UPDATED, even for one joining this
  // workspace in the same read: watchers of the user's other workspaces
  // see no MEMBER_ADDED here.
  EXPECT_THAT(
      Described(events),
      ElementsAre("4 1 (no workspace)", "4 3 (no workspace)", "1 3 light<-"));
  EXPECT_EQ(events[0].user_name, "New Name");
  EXPECT_EQ(events[1].user_name, "Renamed Newcomer");
  EXPECT_EQ(events[2].user_name, "Renamed Newcomer");
}

TEST(RosterDiffTest, UsersAHookNamedComeFirstInDeliveryOrder) {
  auto [diff, events] = DiffRoster(
      "ws", "Sales", {}, {},
      {M("1", "light"), M("2", "light"), M("3", "light")}, false, {"3", "1"});
  EXPECT_THAT(Described(events),
              ElementsAre("1 3 light<-", "1 1 light<-", "1 2 light<-"));
}

TEST(RosterDiffTest, ARepeatedMemberCountsOnceWithItsLastRole) {
  auto [diff, events] =
      DiffRoster("ws", "Sales", ById({M("1", "light")}), ById({M("1", "")}),
                 {M("1", "regular"), M("1", "admin")}, false, {});
  EXPECT_THAT(Ids(diff.role_changed), ElementsAre("1"));
  EXPECT_EQ(diff.role_changed[0].role_id, "admin");
  EXPECT_THAT(Described(events), ElementsAre("3 1 admin<-light"));
}

}  // namespace
}  // namespace unified::watch
