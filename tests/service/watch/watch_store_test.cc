// The roster diff and event log on both store backends: what each observed
// roster logs, exactly once, in sequence; workspaces added and removed; the
// baseline; retention; dirty marks, poll leases and the poll's calls.
#include "service/watch/watch_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/accounts/credential_store.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"

namespace unified::watch {
namespace {

using ::testing::_;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::Optional;
using ::unified::testing::IsOk;
using ::unified::testing::IsOkAndHolds;

std::string Describe(const StoredEvent& e) {
  return absl::StrCat(static_cast<int>(e.type), " ", e.user_id, "@",
                      e.workspace_id, " ", e.role_id, "<-", e.previous_role_id,
                      e.user_name.empty() ? "" : " " + e.user_name);
}

std::vector<std::string> Describe(const std::vector<StoredEvent>& events) {
  std::vector<std::string> out;
  for (const StoredEvent& e : events) out.push_back(Describe(e));
  return out;
}

class WatchStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string url = accounts::FreshStoreUrl(GetParam());
    ASSERT_FALSE(url.empty());
    auto store = accounts::CredentialStore::OpenUrl(url);
    ASSERT_THAT(store, IsOk());
    credentials_ = std::move(*store);
    store_ = std::make_unique<WatchStore>(credentials_->database());
    ASSERT_THAT(store_->roster().Enable(a_, now_), IsOk());
    // The baseline: two workspaces, logged as nothing.
    ASSERT_THAT(
        store_->roster().ApplyWorkspaces(a_, {{"1", "One"}, {"2", "Two"}},
                                         Source::kPoll, now_, true),
        IsOk());
    ASSERT_THAT(store_->roster().ApplyMembers(
                    a_, "1",
                    {{"10", "workspace.admin", "Ann", "a@x"},
                     {"11", "workspace.regular", "Bo", "b@x"}},
                    Source::kPoll, now_, true),
                IsOk());
    ASSERT_THAT(store_->roster().ApplyMembers(
                    a_, "2", {{"11", "workspace.regular", "Bo", "b@x"}},
                    Source::kPoll, now_, true),
                IsOk());
    ASSERT_THAT(store_->roster().MarkBaselineDone(a_, now_), IsOk());
  }

  std::vector<StoredEvent> Members(const std::string& ws,
                                   std::vector<ObservedMember> members,
                                   Source source = Source::kHook) {
    auto events =
        store_->roster().ApplyMembers(a_, ws, members, source, now_, false);
    EXPECT_THAT(events, IsOk());
    return events.value_or(std::vector<StoredEvent>());
  }

  const AccountRef a_{"tenant", "acct"};
  absl::Time now_ = absl::FromUnixSeconds(1767225600);
  std::unique_ptr<accounts::CredentialStore> credentials_;
  std::unique_ptr<WatchStore> store_;
};

TEST_P(WatchStoreTest, EachChangeIsLoggedOnceInSequence) {
  auto state = store_->roster().State(a_);
  ASSERT_THAT(state, IsOk());
  ASSERT_TRUE(state->has_value());
  EXPECT_TRUE((*state)->baseline_done);
  EXPECT_EQ((*state)->last_seq, 0);  // The baseline logged nothing.

  // Added, promoted, removed; and a rename seen in two workspaces.
  EXPECT_THAT(Describe(Members("1", {{"10", "workspace.admin", "Ann", "a@x"},
                                     {"11", "workspace.admin", "Bo", "b@x"},
                                     {"12", "workspace.light", "Cy", "c@x"}})),
              ElementsAre("3 11@1 workspace.admin<-workspace.regular Bo",
                          "1 12@1 workspace.light<- Cy"));
  // The same roster again (a duplicate hook, a poll): nothing.
  EXPECT_TRUE(Members("1", {{"10", "workspace.admin", "Ann", "a@x"},
                            {"11", "workspace.admin", "Bo", "b@x"},
                            {"12", "workspace.light", "Cy", "c@x"}})
                  .empty());
  EXPECT_THAT(Describe(Members("1", {{"11", "workspace.admin", "Bob", "b@x"},
                                     {"12", "workspace.light", "Cy", "c@x"}})),
              ElementsAre("4 11@ <- Bob", "2 10@1 <-workspace.admin Ann"));
  EXPECT_TRUE(
      Members("2", {{"11", "workspace.regular", "Bob", "b@x"}}).empty());

  auto events = store_->events().ReadEvents(a_, 0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 4u);
  for (size_t i = 0; i < events->size(); ++i) {
    EXPECT_EQ((*events)[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ((*events)[i].source, Source::kHook);
    EXPECT_EQ((*events)[i].workspace_name,
              (*events)[i].type == EventType::kUserUpdated ? "" : "One");
  }
  auto tail = store_->events().ReadEvents(a_, 2, 100);
  ASSERT_THAT(tail, IsOk());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].seq, 3);
}

TEST_P(WatchStoreTest, OrganizationMembersComeAndGoWhateverTheirWorkspaces) {
  constexpr int kActive = 1, kInvited = 3;
  auto orgs = [](std::vector<ObservedOrgMember> members) {
    return std::vector<ObservedOrg>{{"7", "Acme", std::move(members)}};
  };
  const ObservedOrgMember ann{"10", "organization.admin", kActive, "Ann",
                              "a@x"};
  const ObservedOrgMember bo{"11", "organization.regular", kActive, "Bo",
                             "b@x"};
  const ObservedOrgMember cy{"12", "organization.regular", kInvited, "Cy",
                             "c@x"};
  // The baseline logs nothing.
  ASSERT_THAT(store_->roster().ApplyOrgMembers(a_, orgs({ann, bo, cy}),
                                               Source::kPoll, now_, true),
              IsOkAndHolds(::testing::IsEmpty()));
  // The same roster again: nothing.
  ASSERT_THAT(store_->roster().ApplyOrgMembers(a_, orgs({ann, bo, cy}),
                                               Source::kPoll, now_, false),
              IsOkAndHolds(::testing::IsEmpty()));
  // Cy accepts the invitation, Bo is made an admin and Ann leaves the
  // organization (she is in no workspace of it: only this listing shows
  // it); Di joins.
  ObservedOrgMember cy_active = cy;
  cy_active.status = kActive;
  ObservedOrgMember bo_admin = bo;
  bo_admin.role_id = "organization.admin";
  const ObservedOrgMember di{"13", "organization.regular", kActive, "Di",
                             "d@x"};
  auto events = store_->roster().ApplyOrgMembers(
      a_, orgs({bo_admin, cy_active, di}), Source::kPoll, now_, false);
  ASSERT_THAT(events, IsOk());
  std::vector<std::string> seen;
  for (const StoredEvent& e : *events) {
    seen.push_back(absl::StrCat(e.seq, " ", static_cast<int>(e.type), " ",
                                e.user_id, "@", e.org_id, " ", e.org_name, " ",
                                e.role_id, "<-", e.previous_role_id, " ",
                                e.status, "<-", e.previous_status));
  }
  EXPECT_THAT(seen, ElementsAre("1 10 10@7 Acme <-organization.admin 0<-1",
                                "2 12 11@7 Acme organization.admin<-"
                                "organization.regular 1<-0",
                                "3 11 12@7 Acme organization.regular<- 1<-3",
                                "4 9 13@7 Acme organization.regular<- 1<-0"));
  // Stored and read back alike; a second pass logs nothing more.
  ASSERT_THAT(store_->events().ReadEvents(a_, 0, 10),
              IsOkAndHolds(::testing::SizeIs(4)));
  EXPECT_EQ((*store_->events().ReadEvents(a_, 2, 1))[0].org_name, "Acme");
  EXPECT_EQ((*store_->events().ReadEvents(a_, 2, 1))[0].previous_status,
            kInvited);
  ASSERT_THAT(
      store_->roster().ApplyOrgMembers(a_, orgs({bo_admin, cy_active, di}),
                                       Source::kPoll, now_, false),
      IsOkAndHolds(::testing::IsEmpty()));
  // The snapshot holds the roster.
  absl::StatusOr<Snapshot> snap = store_->roster().ReadSnapshot(a_);
  ASSERT_THAT(snap, IsOk());
  EXPECT_EQ(snap->org_members.size(), 3u);
  EXPECT_EQ(snap->org_members.at({"7", "12"}).second.status, kActive);
  // An organization no longer visible: each of its members leaves.
  events = store_->roster().ApplyOrgMembers(a_, {}, Source::kPoll, now_, false);
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 3u);
  for (const StoredEvent& e : *events) {
    EXPECT_EQ(e.type, EventType::kOrgMemberRemoved);
  }
}

TEST_P(WatchStoreTest, MembersAListingLeavesUnmailedCarryTheOrgRostersEmail) {
  // A workspace listing of mini profiles: names, no e-mails. The
  // organization roster has the e-mails.
  constexpr int kActive = 1;
  ASSERT_THAT(store_->roster().ApplyOrgMembers(
                  a_,
                  {{"7",
                    "Acme",
                    {{"11", "organization.regular", kActive, "Bo", "b@x"},
                     {"13", "organization.regular", kActive, "Di", "d@x"},
                     {"14", "organization.regular", kActive, "Ed", ""}}}},
                  Source::kPoll, now_, true),
              IsOk());
  std::vector<StoredEvent> events =
      Members("2", {{"11", "workspace.regular", "Bo", ""},
                    {"13", "workspace.light", "Di", ""},
                    {"14", "workspace.light", "Ed", ""}});
  // Bo's e-mail not revealed is no change; Di joins with hers; Ed has none
  // anywhere.
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].user_id, "13");
  EXPECT_EQ(events[0].email, "d@x");
  EXPECT_EQ(events[0].user_name, "Di");
  EXPECT_EQ(events[1].user_id, "14");
  EXPECT_EQ(events[1].email, "");
  // A departure names the e-mail learned.
  events = Members("2", {{"11", "workspace.regular", "Bo", ""},
                         {"14", "workspace.light", "Ed", ""}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kMemberRemoved);
  EXPECT_EQ(events[0].email, "d@x");
  // An e-mail that does change is still a change.
  events = Members("2", {{"11", "workspace.regular", "Bo", "bo@y"},
                         {"14", "workspace.light", "Ed", ""}});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, EventType::kUserUpdated);
  EXPECT_EQ(events[0].email, "bo@y");
}

TEST_P(WatchStoreTest, UsersNamedByHooksComeInDeliveryOrder) {
  // One read found three changes; hooks named 12, then 10.
  auto events = store_->roster().ApplyMembers(
      a_, "1",
      {{"11", "workspace.admin", "Bo", "b@x"},
       {"12", "workspace.light", "Cy", "c@x"},
       {"13", "workspace.light", "Di", "d@x"}},
      Source::kHook, now_, false, 0, {"12", "10", "12"});
  ASSERT_THAT(events, IsOk());
  EXPECT_THAT(
      Describe(*events),
      ElementsAre("1 12@1 workspace.light<- Cy", "2 10@1 <-workspace.admin Ann",
                  "3 11@1 workspace.admin<-workspace.regular Bo",
                  "1 13@1 workspace.light<- Di"));
  // The dirty mark keeps the users deliveries named, in order.
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "2", now_, "13"), IsOk());
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "2", now_, "11"), IsOk());
  auto claimed = store_->hooks().ClaimDirty(now_, absl::Seconds(30), 10);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_THAT((*claimed)[0].users, ElementsAre("13", "11"));
}

TEST_P(WatchStoreTest, WorkspacesAddedAndRemoved) {
  auto events = store_->roster().ApplyWorkspaces(
      a_, {{"2", "Two"}, {"3", "Three"}}, Source::kPoll, now_, false);
  ASSERT_THAT(events, IsOk());
  // The removed workspace's members go first, then the workspace.
  EXPECT_THAT(Describe(*events),
              ElementsAre("5 @3 <-", "2 10@1 <-workspace.admin Ann",
                          "2 11@1 <-workspace.regular Bo", "6 @1 <-"));
  // A new workspace's members are added by its first roster.
  EXPECT_THAT(Describe(Members("3", {{"11", "workspace.admin", "Bo", "b@x"}},
                               Source::kPoll)),
              ElementsAre("1 11@3 workspace.admin<- Bo"));
  // A roster of a workspace the account no longer sees is ignored.
  EXPECT_TRUE(Members("1", {{"13", "workspace.light", "Di", "d@x"}}).empty());
  auto snap = store_->roster().ReadSnapshot(a_);
  ASSERT_THAT(snap, IsOk());
  EXPECT_EQ(snap->seq, 5);
  ASSERT_EQ(snap->workspaces.size(), 2u);
  EXPECT_EQ(snap->workspaces[0].id, "2");
  ASSERT_EQ(snap->members.size(), 2u);
  EXPECT_EQ(snap->members[0].first, "2");
  EXPECT_EQ(snap->members[1].second.role_id, "workspace.admin");
}

TEST_P(WatchStoreTest, RetentionKeepsTheNewestAndTheLast) {
  for (int i = 0; i < 10; ++i) {
    Members("2", {{"11", i % 2 ? "workspace.regular" : "workspace.admin", "Bo",
                   "b@x"}});
  }
  ASSERT_THAT(store_->events().FirstKeptSeq(a_), IsOkAndHolds(1));
  ASSERT_THAT(store_->events().Prune(a_, 4, now_ - absl::Hours(1)), IsOk());
  EXPECT_THAT(store_->events().FirstKeptSeq(a_), IsOkAndHolds(7));
  // Older than the time bound: all but the newest go.
  ASSERT_THAT(store_->events().Prune(a_, 100, now_ + absl::Hours(1)), IsOk());
  EXPECT_THAT(store_->events().FirstKeptSeq(a_), IsOkAndHolds(10));
  auto events = store_->events().ReadEvents(a_, 9, 10);
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 1u);
}

TEST_P(WatchStoreTest, ATenantsEventsShareOneSequenceInCommitOrder) {
  // Two more accounts: b of the same tenant, c of another.
  const AccountRef b{"tenant", "b"}, c{"other", "c"};
  for (const AccountRef& x : {b, c}) {
    ASSERT_THAT(store_->roster().Enable(x, now_), IsOk());
    ASSERT_THAT(store_->roster().ApplyWorkspaces(x, {{"1", "One"}},
                                                 Source::kPoll, now_, true),
                IsOk());
    ASSERT_THAT(store_->roster().MarkBaselineDone(x, now_), IsOk());
  }
  ASSERT_THAT(store_->events().TenantPosition("tenant"), IsOkAndHolds(0));
  auto join = [&](const AccountRef& x, const std::string& user) {
    auto events = store_->roster().ApplyMembers(
        x, "1", {{user, "workspace.regular", "U", "u@x"}}, Source::kPoll, now_,
        false);
    EXPECT_THAT(events, IsOk());
  };
  // a logs 3 events (Bo's role, Di joins, Ann leaves... by the roster), then
  // b one, c one (its own tenant), a one more.
  join(a_, "13");  // a: 13 joins, 10 leaves, 11's role: 3 events.
  join(b, "20");   // b: 1 event.
  join(c, "30");   // other tenant.
  join(a_, "14");  // a: 14 joins, 13 leaves: 2 events.
  auto all = store_->events().ReadTenantEvents("tenant", {}, 0, 100);
  ASSERT_THAT(all, IsOk());
  std::vector<std::string> order;
  for (const StoredEvent& e : *all) {
    order.push_back(absl::StrCat(e.tseq, " ", e.account_id, "#", e.seq));
  }
  EXPECT_THAT(order, ElementsAre("1 acct#1", "2 acct#2", "3 acct#3", "4 b#1",
                                 "5 acct#4", "6 acct#5"));
  EXPECT_THAT(store_->events().TenantPosition("tenant"), IsOkAndHolds(6));
  EXPECT_THAT(store_->events().TenantPosition("other"), IsOkAndHolds(1));
  // Some accounts, from a position, in pages.
  auto of_b =
      store_->events().ReadTenantEvents("tenant", {"b", "nobody"}, 0, 100);
  ASSERT_THAT(of_b, IsOk());
  ASSERT_EQ(of_b->size(), 1u);
  EXPECT_EQ((*of_b)[0].user_id, "20");
  auto page = store_->events().ReadTenantEvents("tenant", {"acct", "b"}, 3, 2);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].tseq, 4);
  EXPECT_EQ((*page)[1].tseq, 5);
  // One snapshot of every account at one position.
  auto snap = store_->roster().ReadTenantSnapshot("tenant", {});
  ASSERT_THAT(snap, IsOk());
  EXPECT_EQ(snap->tseq, 6);
  ASSERT_EQ(snap->accounts.size(), 2u);
  EXPECT_EQ(snap->accounts[0].first, "acct");
  EXPECT_EQ(snap->accounts[0].second.seq, 5);
  EXPECT_EQ(snap->accounts[1].first, "b");
  EXPECT_EQ(snap->accounts[1].second.members.size(), 1u);
  // Pruning records how far a tenant-wide reader has lost events: only for
  // the accounts pruned.
  EXPECT_THAT(store_->events().PrunedThrough("tenant", {}), IsOkAndHolds(0));
  ASSERT_THAT(store_->events().Prune(a_, 2, now_ - absl::Hours(1)), IsOk());
  EXPECT_THAT(store_->events().PrunedThrough("tenant", {}), IsOkAndHolds(3));
  EXPECT_THAT(store_->events().PrunedThrough("tenant", {"b"}), IsOkAndHolds(0));
}

TEST_P(WatchStoreTest, DirtyMarksAndPollLeases) {
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "1", now_), IsOk());
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "1", now_),
              IsOk());  // Generation 2.
  auto claimed = store_->hooks().ClaimDirty(now_, absl::Seconds(30), 10);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].gen, 2);
  // Leased: nobody else gets it.
  EXPECT_THAT(store_->hooks().ClaimDirty(now_, absl::Seconds(30), 10),
              IsOkAndHolds(::testing::IsEmpty()));
  // A delivery during the read marks it again: clearing generation 2 leaves
  // the new mark.
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "1", now_), IsOk());
  ASSERT_THAT(
      store_->roster().ApplyMembers(a_, "1",
                                    {{"10", "workspace.admin", "Ann", "a@x"},
                                     {"11", "workspace.regular", "Bo", "b@x"}},
                                    Source::kHook, now_, false, 2),
      IsOk());
  claimed = store_->hooks().ClaimDirty(now_, absl::Seconds(30), 10);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_THAT(store_->roster().ApplyMembers(a_, "1", {}, Source::kHook, now_,
                                            true, (*claimed)[0].gen),
              IsOk());
  EXPECT_THAT(store_->hooks().ClaimDirty(now_ + absl::Minutes(1),
                                         absl::Seconds(30), 10),
              IsOkAndHolds(::testing::IsEmpty()));
  // A mark dropped by generation (a workspace gone or forbidden).
  ASSERT_THAT(store_->hooks().MarkDirty(a_, "2", now_), IsOk());
  ASSERT_THAT(store_->hooks().ClearDirty(a_, "2", 7),
              IsOk());  // Not its generation.
  claimed = store_->hooks().ClaimDirty(now_ + absl::Minutes(1),
                                       absl::Seconds(30), 10);
  ASSERT_THAT(claimed, IsOk());
  ASSERT_EQ(claimed->size(), 1u);
  ASSERT_THAT(store_->hooks().ClearDirty(a_, "2", (*claimed)[0].gen), IsOk());
  EXPECT_THAT(store_->hooks().ClaimDirty(now_ + absl::Minutes(5),
                                         absl::Seconds(30), 10),
              IsOkAndHolds(::testing::IsEmpty()));

  EXPECT_THAT(store_->polls().ClaimPoll(a_, now_, absl::Minutes(5)),
              IsOkAndHolds(Optional(_)));
  EXPECT_THAT(store_->polls().ClaimPoll(a_, now_, absl::Minutes(5)),
              IsOkAndHolds(Eq(std::nullopt)));
  ASSERT_THAT(store_->polls().FinishPoll(a_, now_ + absl::Minutes(5)), IsOk());
  EXPECT_THAT(store_->polls().DuePolls(now_ + absl::Minutes(1)),
              IsOkAndHolds(::testing::IsEmpty()));
  EXPECT_THAT(store_->polls().DuePolls(now_ + absl::Minutes(5)),
              IsOkAndHolds(ElementsAre(a_)));
  EXPECT_THAT(
      store_->polls().ClaimPoll(a_, now_ + absl::Minutes(1), absl::Minutes(5)),
      IsOkAndHolds(Eq(std::nullopt)));
  EXPECT_THAT(
      store_->polls().ClaimPoll(a_, now_ + absl::Minutes(5), absl::Minutes(5)),
      IsOkAndHolds(Optional(_)));
  // Unwatching takes the lease only once the poll holding it is done.
  EXPECT_THAT(store_->polls().TakePollLease(a_, now_ + absl::Minutes(6),
                                            absl::Minutes(5)),
              IsOkAndHolds(false));
  ASSERT_THAT(store_->polls().FinishPoll(a_, now_ + absl::Minutes(6)), IsOk());
  EXPECT_THAT(store_->polls().TakePollLease(a_, now_ + absl::Minutes(6),
                                            absl::Minutes(5)),
              IsOkAndHolds(true));
  EXPECT_THAT(
      store_->polls().ClaimPoll(a_, now_ + absl::Minutes(7), absl::Minutes(5)),
      IsOkAndHolds(Eq(std::nullopt)));

  // Forgetting the account removes everything.
  ASSERT_THAT(store_->roster().Disable(a_), IsOk());
  auto gone = store_->roster().State(a_);
  ASSERT_THAT(gone, IsOk());
  EXPECT_FALSE(gone->has_value());
  EXPECT_THAT(store_->events().ReadEvents(a_, 0, 10),
              IsOkAndHolds(::testing::IsEmpty()));
}

TEST_P(WatchStoreTest, ThePollsCallsOfTheLastHourAreKeptWithItsLease) {
  absl::Time t = now_;
  for (int64_t calls : {7, 0, 5}) {
    absl::StatusOr<std::optional<PollLedger>> ledger =
        store_->polls().ClaimPoll(a_, t, absl::Minutes(5));
    ASSERT_THAT(ledger, IsOk());
    ASSERT_TRUE(ledger->has_value());
    (*ledger)->Add(t, calls, t - absl::Hours(1));
    ASSERT_THAT(
        store_->polls().FinishPoll(a_, t + absl::Minutes(30), &**ledger),
        IsOk());
    t += absl::Minutes(30);
  }
  // Polls ended at +0 (7 calls), +30 min (none) and +60 min (5 calls): at
  // +90 min the last hour holds the third only, and the row forgot the
  // first when the third ended.
  absl::StatusOr<std::optional<PollLedger>> ledger =
      store_->polls().ClaimPoll(a_, t, absl::Minutes(5));
  ASSERT_THAT(ledger, IsOk());
  ASSERT_TRUE(ledger->has_value());
  EXPECT_EQ((*ledger)->CallsSince(t - absl::Hours(2)), 5);
  EXPECT_EQ((*ledger)->CallsSince(t - absl::Hours(1)), 5);
  EXPECT_EQ((*ledger)->CallsSince(t), 0);
  // A poll that ends without its ledger leaves the calls as they were.
  ASSERT_THAT(store_->polls().FinishPoll(a_, t), IsOk());
  ledger = store_->polls().ClaimPoll(a_, t, absl::Minutes(5));
  ASSERT_THAT(ledger, IsOk());
  ASSERT_TRUE(ledger->has_value());
  EXPECT_EQ((*ledger)->Encode(),
            absl::StrCat(absl::ToUnixMillis(now_ + absl::Hours(1)), ":5"));
}

TEST(PollLedgerTest, DecodeSkipsWhatItCannotRead) {
  const PollLedger ledger =
      PollLedger::Decode("1000:3,junk,2000:x,:4,3000:-2,4000:6,");
  ASSERT_EQ(ledger.polls.size(), 2u);
  EXPECT_EQ(ledger.CallsSince(absl::UnixEpoch()), 9);
  EXPECT_EQ(ledger.Encode(), "1000:3,4000:6");
  EXPECT_TRUE(PollLedger::Decode("").polls.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, WatchStoreTest,
                         ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace unified::watch
