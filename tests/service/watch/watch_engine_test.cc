// The watch engine against the simulator with injected clocks: one
// simulated hour of reconciliation polls due every minute never spends more
// than the poll's share of the account's rate limit, still finds a change
// made mid-hour, and its events match the simulator's roster; a tenant
// watched as a whole has its accounts watched, and one sequence.
#include "service/watch/watch_engine.h"

#include <atomic>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/podio/podio_hooks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/accounts/credential_store.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/wait_until.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/fake_clock.h"

namespace unified::watch {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::IsOkAndHolds;

class WatchEngineTest : public ::testing::Test {
 protected:
  // Two accounts of tenant "default" (the same simulator user).
  void SetUp() override {
    podio_sim::SimulatorOptions sim_options;
    sim_options.data.users = 200;
    sim_options.data.orgs = 1;
    sim_options.data.spaces_per_org = 4;
    auto sim = podio_sim::Simulator::Start(sim_options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    http_ = NewCurlHttpClient({});
    absl::StatusOr<std::string> token =
        podio_sim::PasswordGrantToken(*http_, sim_->base_url());
    ASSERT_TRUE(token.ok()) << token.status();
    token_ = *token;
    clock_ = std::make_unique<FakeClock>(sim_->clock().Now());
    ledger_ = NewMemoryRateLedger(budget_options_);
    budget_ = std::make_unique<RateBudget>(ledger_.get(), clock_.get(),
                                           budget_options_);
    podio::PodioClientOptions client_options;
    client_options.api_base = sim_->base_url();
    client_ = std::make_unique<podio::PodioClient>(http_.get(), clock_.get(),
                                                   client_options);
    ASSERT_THAT(connectors_.Register(podio::NewPodioConnector(client_.get())),
                IsOk());
    accounts_ = NewStaticAccountResolver(
        {{"acct", {"podio", token_}}, {"second", {"podio", token_}}});
    auto credentials =
        accounts::CredentialStore::OpenUrl(accounts::FreshStoreUrl("sqlite"));
    ASSERT_THAT(credentials, IsOk());
    credentials_ = std::move(*credentials);
    store_ = std::make_unique<WatchStore>(credentials_->database());
  }

  // The context a caller's call on `account` has.
  CallContext ContextFor(const ResolvedAccount& account) {
    CallContext ctx;
    ctx.deadline = clock_->Now() + absl::Minutes(5);
    ctx.budget = budget_.get();
    ctx.budget_key = account.budget_key;
    ctx.tokens = account.tokens.get();
    return ctx;
  }

  // Two accounts: "admin" (the organization's admin) and "reg" (a regular
  // member, no organization admin).
  void AdminAndRegular() {
    absl::StatusOr<std::string> regular = podio_sim::PasswordGrantToken(
        *http_, sim_->base_url(), "regular@example.com", "regular-password");
    ASSERT_THAT(regular, IsOk());
    accounts_ = NewStaticAccountResolver(
        {{"admin", {"podio", token_}}, {"reg", {"podio", *regular}}});
  }

  // Holds the next answer of an organization's member listing 8 s.
  void HoldOrgMembers() {
    podio_sim::FaultRule slow;
    slow.method = "GET";
    slow.path = "/org/*/member/";
    slow.kind = podio_sim::FaultKind::kLatency;
    slow.latency = absl::Seconds(8);
    slow.times = 1;
    sim_->faults().Add(slow);
  }

  // Starts watching `a` (its baseline), as WatchDirectory does.
  void Watch(WatchEngine& engine, const AccountRef& a) {
    absl::StatusOr<ResolvedAccount> resolved =
        accounts_->Resolve(a.tenant, a.account_id);
    ASSERT_THAT(resolved, IsOk());
    CallContext ctx = ContextFor(*resolved);
    ASSERT_THAT(engine.EnsureWatching(a, *resolved, ctx), IsOk());
  }

  // Removes a regular member of workspace `ws` (by default the first) of
  // `a`'s stored roster at the simulator; sets `*member` to the user
  // removed.
  void RemoveRegularMember(const AccountRef& a, std::string* member,
                           std::string ws = "") {
    absl::StatusOr<Snapshot> stored = store_->roster().ReadSnapshot(a);
    ASSERT_THAT(stored, IsOk());
    ASSERT_FALSE(stored->workspaces.empty());
    if (ws.empty()) ws = stored->workspaces[0].id;
    member->clear();
    for (const auto& [w, m] : stored->members) {
      if (w == ws && m.role_id != "workspace.admin") *member = m.user_id;
    }
    ASSERT_FALSE(member->empty());
    HttpRequest remove;
    remove.method = "DELETE";
    remove.url =
        absl::StrCat(sim_->base_url(), "/space/", ws, "/member/", *member);
    remove.headers = {{"Authorization", "OAuth2 " + token_}};
    auto r = http_->Send(remove);
    ASSERT_TRUE(r.ok() && r->status / 100 == 2) << r.status();
  }

  std::unique_ptr<WatchEngine> NewEngine(WatchOptions options) {
    return std::make_unique<WatchEngine>(store_.get(), accounts_.get(),
                                         &connectors_, budget_.get(),
                                         clock_.get(), options);
  }

  std::unique_ptr<podio_sim::Simulator> sim_;
  std::unique_ptr<HttpClient> http_;
  std::string token_;
  std::unique_ptr<FakeClock> clock_;
  RateBudgetOptions budget_options_;  // Podio's 1,000 per hour.
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
  std::unique_ptr<podio::PodioClient> client_;
  ConnectorRegistry connectors_;
  std::unique_ptr<AccountResolver> accounts_;
  std::unique_ptr<accounts::CredentialStore> credentials_;
  std::unique_ptr<WatchStore> store_;
};

TEST_F(WatchEngineTest, AnHourOfPollsStaysWithinItsShareAndFindsChanges) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.poll_share = 0.2;
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef a{"default", "acct"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<Snapshot> baseline = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(baseline, IsOk());
  ASSERT_EQ(baseline->workspaces.size(), 4u);
  EXPECT_EQ(baseline->seq, 0);

  // A user outside the first workspace joins it half an hour in.
  const std::string ws = baseline->workspaces[0].id;
  std::set<std::string> members;
  for (const auto& [w, m] : baseline->members) {
    if (w == ws) members.insert(m.user_id);
  }
  std::string newcomer;
  for (int64_t id = podio_sim::kFirstUserId;; ++id) {
    if (!members.count(absl::StrCat(id))) {
      newcomer = absl::StrCat(id);
      break;
    }
  }

  const int64_t first_request = sim_->request_log().next_seq();
  const absl::Time start = clock_->Now();
  int polls_with_calls = 0;
  int last_poll_minute = 0;
  for (int minute = 1; minute <= 60; ++minute) {
    clock_->Advance(absl::Minutes(1));
    sim_->clock().Advance(absl::Minutes(1));
    if (minute == 30) {
      HttpRequest add;
      add.method = "POST";
      add.url = absl::StrCat(sim_->base_url(), "/space/", ws, "/member/");
      add.headers = {{"Authorization", "OAuth2 " + token_},
                     {"Content-Type", "application/json"}};
      add.body = absl::StrCat(R"({"users":[)", newcomer, "]}");
      auto r = http_->Send(add);
      ASSERT_TRUE(r.ok() && r->status == 200) << r.status();
    }
    const int64_t before = sim_->request_log().next_seq();
    engine->RunOnce();
    if (sim_->request_log().next_seq() > before) {
      ++polls_with_calls;
      last_poll_minute = minute;
    }
  }
  // Every request of the hour was the poll's (and the write above).
  int poll_calls = 0;
  for (const auto& r : sim_->request_log().Since(first_request)) {
    if (r.method == "POST") continue;  // The test's own write.
    EXPECT_NE(r.status, 420);
    EXPECT_GE(r.sim_time, start);
    ++poll_calls;
  }
  // 20% of 1,000: the share, used (a full poll every minute would cost more
  // than the share allows) and never passed; the polls are spread over the
  // hour rather than crowded at its start. A poll here costs about 13
  // calls (the workspaces, their rosters, the organization's members).
  EXPECT_LE(poll_calls, 200);
  EXPECT_GE(poll_calls, 120);
  EXPECT_LT(polls_with_calls, 60);
  EXPECT_GE(polls_with_calls, 12);
  EXPECT_GE(last_poll_minute, 55);

  // The change was found by a poll, once.
  absl::StatusOr<std::vector<StoredEvent>> events =
      store_->events().ReadEvents(a, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, EventType::kMemberAdded);
  EXPECT_EQ((*events)[0].user_id, newcomer);
  EXPECT_EQ((*events)[0].workspace_id, ws);
  EXPECT_EQ((*events)[0].source, Source::kPoll);
  EXPECT_EQ((*events)[0].role_id, "workspace.regular");
}

// A member whose rows the provider sends unreadable is not a member who
// left: the snapshots holding such rows are not applied, so no removal is
// logged for anyone; once the rows read again, nothing changed.
TEST_F(WatchEngineTest, UnreadableRowsNeverMakeADeparture) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef a{"default", "acct"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<Snapshot> baseline = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(baseline, IsOk());
  ASSERT_FALSE(baseline->members.empty());
  // Someone in a workspace (so in the organization too).
  int64_t member = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(baseline->members.begin()->second.user_id, &member));
  sim_->SetUnreadableUser(member);
  for (int minute = 1; minute <= 3; ++minute) {
    clock_->Advance(absl::Minutes(1));
    sim_->clock().Advance(absl::Minutes(1));
    engine->RunOnce();
  }
  absl::StatusOr<std::vector<StoredEvent>> events =
      store_->events().ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty());
  sim_->SetUnreadableUser(0);
  for (int minute = 4; minute <= 6; ++minute) {
    clock_->Advance(absl::Minutes(1));
    sim_->clock().Advance(absl::Minutes(1));
    engine->RunOnce();
  }
  events = store_->events().ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty());
}

TEST_F(WatchEngineTest, ATenantWatchedAsAWholeGetsItsAccountsWatched) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.account_scan = absl::Seconds(10);
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  // Nobody asks: nothing is watched.
  engine->RunOnce();
  ASSERT_THAT(store_->roster().WatchedOf("default"),
              IsOkAndHolds(::testing::IsEmpty()));
  // A tenant-wide subscription that watches new accounts: the next pass
  // takes both accounts' baselines.
  int woken = 0;
  const int64_t id = engine->Subscribe(
      {"default", ""}, [&woken] { ++woken; }, /*watch_new_accounts=*/true);
  engine->RunOnce();
  auto watched = store_->roster().WatchedOf("default");
  ASSERT_THAT(watched, IsOk());
  ASSERT_EQ(watched->size(), 2u);
  EXPECT_EQ((*watched)[0].account_id, "acct");
  EXPECT_EQ((*watched)[1].account_id, "second");
  EXPECT_EQ(woken, 0);  // Baselines are not events.
  // A change: both accounts' polls log it, and the tenant's subscriber is
  // woken for events of either.
  std::string member;
  ASSERT_NO_FATAL_FAILURE(RemoveRegularMember({"default", "acct"}, &member));
  clock_->Advance(absl::Minutes(2));
  sim_->clock().Advance(absl::Minutes(2));
  engine->RunOnce();
  EXPECT_GE(woken, 1);
  auto events = store_->events().ReadTenantEvents("default", {}, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].tseq, 1);
  EXPECT_EQ((*events)[1].tseq, 2);
  EXPECT_NE((*events)[0].account_id, (*events)[1].account_id);
  EXPECT_EQ((*events)[0].user_id, member);
  engine->Unsubscribe(id);
}

// A member missing from one read who never left (a provider answering
// from a lagging replica): the roster is read again before any departure
// is logged, and the second read finds them, so nothing is logged at all.
// Only a member that both reads miss has left.
TEST_F(WatchEngineTest, AMemberMissingFromOneReadHasNotLeft) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  int64_t rereads = 0;
  options.on_rereads = [&rereads](int64_t n) { rereads += n; };
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef a{"default", "acct"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<Snapshot> baseline = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(baseline, IsOk());
  int64_t member = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(baseline->members.back().second.user_id, &member));
  // Left out of the first listing that holds them: a workspace's.
  sim_->HideFromNextListings(member, 1);
  clock_->Advance(absl::Minutes(2));
  sim_->clock().Advance(absl::Minutes(2));
  engine->RunOnce();
  sim_->HideFromNextListings(member, 0);
  absl::StatusOr<std::vector<StoredEvent>> events =
      store_->events().ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty()) << (*events)[0].user_id;
  EXPECT_EQ(rereads, 1);
  // Missing from two reads in a row is gone: it is logged (the next poll,
  // when due: polls are paced to their share of the budget).
  sim_->HideFromNextListings(member, 2);
  clock_->Advance(absl::Minutes(15));
  sim_->clock().Advance(absl::Minutes(15));
  engine->RunOnce();
  events = store_->events().ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ((*events)[0].type, EventType::kMemberRemoved);
  EXPECT_EQ((*events)[0].user_id, absl::StrCat(member));
}

// Members added and removed while a poll reads the rosters (a change after
// each member page the simulator answers: 20 additions, 20 removals, from
// workspaces and from the organization) are each logged once, by that poll
// or the next, and no event says something that did not happen: offset
// paging shifts rows under the listings, and no shifted row may read as a
// departure.
TEST_F(WatchEngineTest, ChangesDuringAPollAreLoggedOnceAndNeverFalsely) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.poll_share = 1;
  options.page_limit = 10;  // Many pages: the changes land between them.
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef a{"default", "acct"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<Snapshot> before = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(before, IsOk());

  // The plan: alternately a removal (from a workspace, or from the
  // organization) and an addition to a workspace.
  struct Change {
    std::string method, path, body;
  };
  std::vector<Change> plan;
  const std::string org = absl::StrCat(podio_sim::kFirstOrgId);
  std::string me;
  std::map<std::string, std::set<std::string>> in_space;
  std::vector<std::string> all;
  sim_->ReadDirectory([&](const podio_sim::Directory& d) {
    me = absl::StrCat(d.users[podio_sim::kAdminUserIndex].user_id);
    for (const auto& [id, space] : d.spaces) {
      for (int64_t u : space.member_order) {
        in_space[absl::StrCat(id)].insert(absl::StrCat(u));
      }
    }
    for (int64_t u : d.users_by_name) all.push_back(absl::StrCat(u));
  });
  std::set<std::string> touched = {me};
  const std::vector<ObservedWorkspace>& spaces = before->workspaces;
  for (int k = 0; k < 20; ++k) {
    const std::string ws = spaces[k % spaces.size()].id;
    for (size_t at = (k * 37) % all.size();; at = (at + 1) % all.size()) {
      const std::string& u = all[at];
      if (!in_space[ws].count(u) || touched.count(u)) continue;
      touched.insert(u);
      plan.push_back({"DELETE",
                      k % 4 == 0 ? absl::StrCat("/org/", org, "/member/", u)
                                 : absl::StrCat("/space/", ws, "/member/", u),
                      ""});
      break;
    }
    for (size_t at = (k * 53 + 11) % all.size();; at = (at + 1) % all.size()) {
      const std::string& u = all[at];
      if (in_space[ws].count(u) || touched.count(u)) continue;
      touched.insert(u);
      plan.push_back({"POST", absl::StrCat("/space/", ws, "/member/"),
                      absl::StrCat(R"({"role":"regular","users":[)", u, "]}")});
      break;
    }
  }
  ASSERT_EQ(plan.size(), 40u);
  std::atomic<size_t> next{0};
  std::unique_ptr<HttpClient> other = NewCurlHttpClient({});
  absl::Mutex other_mu;
  sim_->SetAfterRead([&](const std::string& path) {
    if (path.find("/member/") == std::string::npos) return;
    const size_t k = next++;
    if (k >= plan.size()) return;
    HttpRequest change;
    change.method = plan[k].method;
    change.url = sim_->base_url() + plan[k].path;
    change.headers = {{"Authorization", "OAuth2 " + token_},
                      {"Content-Type", "application/json"}};
    change.body = plan[k].body;
    absl::MutexLock lock(&other_mu);
    absl::StatusOr<HttpResponse> r = other->Send(change);
    EXPECT_TRUE(r.ok() && r->status / 100 == 2) << plan[k].path;
  });
  // Polls during the changes; once they are all made, a quiet one. (Far
  // enough apart that each is due: a poll of many small pages is paced.)
  const absl::Duration apart = absl::Minutes(15);
  while (next.load() < plan.size()) {
    clock_->Advance(apart);
    sim_->clock().Advance(apart);
    engine->RunOnce();
  }
  sim_->SetAfterRead(nullptr);
  clock_->Advance(apart);
  sim_->clock().Advance(apart);
  engine->RunOnce();

  // The truth now.
  std::map<std::string, std::set<std::string>> spaces_now;
  std::set<std::string> org_now;
  sim_->ReadDirectory([&](const podio_sim::Directory& d) {
    for (const auto& [id, space] : d.spaces) {
      for (int64_t u : space.member_order) {
        spaces_now[absl::StrCat(id)].insert(absl::StrCat(u));
      }
    }
    for (const auto& [u, m] : d.orgs.begin()->second.members) {
      org_now.insert(absl::StrCat(u));
    }
  });
  std::map<std::string, std::set<std::string>> spaces_before;
  for (const auto& [ws, m] : before->members) {
    spaces_before[ws].insert(m.user_id);
  }
  std::set<std::string> org_before;
  for (const auto& [key, m] : before->org_members)
    org_before.insert(key.second);
  // The store holds the truth...
  absl::StatusOr<Snapshot> after = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(after, IsOk());
  std::map<std::string, std::set<std::string>> stored;
  for (const auto& [ws, m] : after->members) stored[ws].insert(m.user_id);
  for (const ObservedWorkspace& ws : spaces) {
    EXPECT_EQ(stored[ws.id], spaces_now[ws.id]) << ws.id;
  }
  std::set<std::string> stored_org;
  for (const auto& [key, m] : after->org_members) stored_org.insert(key.second);
  EXPECT_EQ(stored_org, org_now);
  // ... and every event logged is true, and said once.
  absl::StatusOr<std::vector<StoredEvent>> events =
      store_->events().ReadEvents(a, 0, 10000);
  ASSERT_THAT(events, IsOk());
  std::set<std::string> said;
  int membership_events = 0;
  for (const StoredEvent& e : *events) {
    const std::string key =
        absl::StrCat(static_cast<int>(e.type), " ", e.workspace_id, e.org_id,
                     " ", e.user_id);
    EXPECT_TRUE(said.insert(key).second) << "twice: " << key;
    const std::set<std::string>& was = spaces_before[e.workspace_id];
    const std::set<std::string>& is = spaces_now[e.workspace_id];
    switch (e.type) {
      case EventType::kMemberAdded:
        EXPECT_TRUE(!was.count(e.user_id) && is.count(e.user_id)) << key;
        ++membership_events;
        break;
      case EventType::kMemberRemoved:
        EXPECT_TRUE(was.count(e.user_id) && !is.count(e.user_id)) << key;
        ++membership_events;
        break;
      case EventType::kOrgMemberAdded:
        EXPECT_TRUE(!org_before.count(e.user_id) && org_now.count(e.user_id))
            << key;
        break;
      case EventType::kOrgMemberRemoved:
        EXPECT_TRUE(org_before.count(e.user_id) && !org_now.count(e.user_id))
            << key;
        break;
      default:
        ADD_FAILURE() << "unexpected event " << key;
    }
  }
  // Each membership changed, once.
  int changed = 0;
  for (const ObservedWorkspace& ws : spaces) {
    for (const std::string& u : spaces_before[ws.id]) {
      changed += spaces_now[ws.id].count(u) ? 0 : 1;
    }
    for (const std::string& u : spaces_now[ws.id]) {
      changed += spaces_before[ws.id].count(u) ? 0 : 1;
    }
  }
  EXPECT_GE(changed, 40);
  EXPECT_EQ(membership_events, changed);
}

// Podio gives hooks to space admins only, and its organization member
// listing to organization admins. An account that is neither is refused
// once (per workspace, per organization), not again on every poll, and
// asked again once the refusal's recheck time has passed. Meanwhile the
// organization's contacts are read at once.
TEST_F(WatchEngineTest, RefusalsAreNotAskedForAgainUntilTheirRecheck) {
  absl::StatusOr<std::string> regular = podio_sim::PasswordGrantToken(
      *http_, sim_->base_url(), "regular@example.com", "regular-password");
  ASSERT_THAT(regular, IsOk());
  accounts_ = NewStaticAccountResolver({{"reg", {"podio", *regular}}});
  // Podio with its hooks, as the plug-in provides it.
  class WithHooks final : public Provider {
   public:
    explicit WithHooks(podio::PodioClient* client)
        : directory_(podio::NewPodioConnector(client)),
          hooks_(podio::NewPodioWebhooks(directory_.get())) {}
    std::string name() const override { return "podio"; }
    DirectoryConnector& directory() override { return *directory_; }
    ProviderAuth* auth() override { return nullptr; }
    WebhookSupport* webhooks() override { return hooks_.get(); }

   private:
    std::unique_ptr<DirectoryConnector> directory_;
    std::unique_ptr<WebhookSupport> hooks_;
  };
  ConnectorRegistry connectors;
  ASSERT_THAT(connectors.Register(std::make_unique<WithHooks>(client_.get())),
              IsOk());
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.hook_base_url = "http://127.0.0.1:9/unreached";
  options.refusal_recheck = absl::Hours(6);
  auto engine =
      std::make_unique<WatchEngine>(store_.get(), accounts_.get(), &connectors,
                                    budget_.get(), clock_.get(), options);
  const AccountRef a{"default", "reg"};
  auto hook_posts = [&](int64_t since) {
    int n = 0;
    for (const auto& r : sim_->request_log().Since(since)) {
      n += r.method == "POST" && absl::StartsWith(r.path, "/hook/");
    }
    return n;
  };
  auto member_asks = [&](int64_t since) {
    int refused = 0, contacts = 0;
    for (const auto& r : sim_->request_log().Since(since)) {
      refused += absl::StrContains(r.path, "/member/") &&
                 absl::StartsWith(r.path, "/org/") && r.status == 403;
      contacts += absl::StartsWith(r.path, "/contact/org/");
    }
    return std::make_pair(refused, contacts);
  };
  int64_t start = sim_->request_log().next_seq();
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  const int first = hook_posts(start);
  ASSERT_GT(first, 0);  // Asked once, and refused (403).
  EXPECT_EQ(member_asks(start).first, 1);
  EXPECT_GT(member_asks(start).second, 0);
  const int64_t polls = sim_->request_log().next_seq();
  for (int poll = 0; poll < 3; ++poll) {
    start = sim_->request_log().next_seq();
    clock_->Advance(absl::Minutes(2));
    ASSERT_THAT(engine->PollIfDue(a), IsOk());
    EXPECT_EQ(hook_posts(start), 0) << "poll " << poll;
    EXPECT_EQ(member_asks(start).first, 0) << "poll " << poll;
  }
  // The polls read the organization from its contacts, straight away.
  EXPECT_GT(member_asks(polls).second, 0);
  // Past the recheck: asked again (and refused again, once).
  start = sim_->request_log().next_seq();
  clock_->Advance(absl::Hours(6));
  ASSERT_THAT(engine->PollIfDue(a), IsOk());
  EXPECT_EQ(hook_posts(start), first);
  EXPECT_EQ(member_asks(start).first, 1);
  start = sim_->request_log().next_seq();
  clock_->Advance(absl::Minutes(2));
  ASSERT_THAT(engine->PollIfDue(a), IsOk());
  EXPECT_EQ(hook_posts(start), 0);
  EXPECT_EQ(member_asks(start).first, 0);
  // The roster read from the contacts is the same as when asked.
  absl::StatusOr<Snapshot> roster = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(roster, IsOk());
  EXPECT_FALSE(roster->org_members.empty());
  absl::StatusOr<std::vector<StoredEvent>> events =
      store_->events().ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty());  // Nothing changed: no event, no removal.
}

// Polls run at once: an account whose poll waits on a slow provider answer
// (its organization member listing held for seconds) does not hold up
// another's. Run one after another, the slow one, due first, would end
// first.
TEST_F(WatchEngineTest, ASlowPollDoesNotHoldUpAnother) {
  ASSERT_NO_FATAL_FAILURE(AdminAndRegular());
  absl::Mutex mu;
  std::vector<std::string> done;
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.poll_concurrency = 4;
  options.on_poll_done = [&](const AccountRef& a) {
    absl::MutexLock lock(&mu);
    done.push_back(a.account_id);
  };
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef admin{"default", "admin"};
  const AccountRef reg{"default", "reg"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, admin));
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, reg));
  // Only the admin reads the organization's members: hold that answer.
  HoldOrgMembers();
  // Both due, the admin first.
  clock_->Advance(absl::Minutes(2));
  ASSERT_THAT(
      store_->polls().FinishPoll(admin, clock_->Now() - absl::Seconds(2)),
      IsOk());
  ASSERT_THAT(store_->polls().FinishPoll(reg, clock_->Now() - absl::Seconds(1)),
              IsOk());
  engine->Start();
  const auto one = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return done.size() >= 1;
  };
  const auto two = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return done.size() >= 2;
  };
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&one), absl::Seconds(30)));
    EXPECT_EQ(done[0], "reg");  // While the admin's answer is held.
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&two), absl::Seconds(30)));
    EXPECT_EQ(done[1], "admin");
  }
  engine->Stop();
}

// Baselines are taken at once, on the pollers: one account whose provider
// answers slowly holds up no other, whether the API runs them
// (RunBaselines, a WatchDirectory stream over several accounts) or the
// engine's scan of a tenant watched as a whole.
TEST_F(WatchEngineTest, BaselinesRunAtOnce) {
  ASSERT_NO_FATAL_FAILURE(AdminAndRegular());
  WatchOptions options;
  options.poll_concurrency = 4;
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  engine->Start();

  // RunBaselines: the first waits for the second to start.
  absl::Notification second_started;
  std::vector<std::function<absl::Status()>> baselines;
  baselines.push_back([&]() -> absl::Status {
    if (!second_started.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      return absl::DeadlineExceededError("the second never started");
    }
    return absl::OkStatus();
  });
  baselines.push_back([&]() -> absl::Status {
    second_started.Notify();
    return absl::OkStatus();
  });
  std::vector<absl::Status> statuses =
      engine->RunBaselines("default", std::move(baselines));
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_THAT(statuses[0], IsOk());
  EXPECT_THAT(statuses[1], IsOk());

  // The scan of a tenant watched as a whole. The regular account is no
  // organization admin: watched once, it remembers the refusal of the
  // organization's members (the admin alone reads them). Forget both
  // watches, keep that refusal, hold the admin's read, and subscribe: the
  // regular account is watched while the admin's baseline waits.
  const AccountRef reg{"default", "reg"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, {"default", "admin"}));
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, reg));
  std::vector<std::string> refused;
  {
    absl::StatusOr<SqlDatabase::Lease> c = credentials_->database()->Acquire();
    ASSERT_THAT(c, IsOk());
    absl::StatusOr<std::vector<SqlRow>> rows = (*c)->Query(
        "SELECT what FROM watch_refusals WHERE account_id = $1", {"reg"});
    ASSERT_THAT(rows, IsOk());
    for (const SqlRow& r : *rows) refused.push_back(store::SqlText(r[0]));
  }
  ASSERT_FALSE(refused.empty());
  ASSERT_THAT(engine->Unwatch({"default", "admin"}), IsOk());
  ASSERT_THAT(engine->Unwatch(reg), IsOk());
  for (const std::string& what : refused) {
    ASSERT_THAT(
        store_->hooks().Refuse(reg, what, clock_->Now() + absl::Hours(1)),
        IsOk());
  }
  HoldOrgMembers();
  const int64_t id = engine->Subscribe(
      {"default", ""}, [] {}, /*watch_new_accounts=*/true);
  absl::StatusOr<std::vector<AccountRef>> watched;
  ::unified::testing::WaitUntil([&] {  // The loop's next turn.
    watched = store_->roster().WatchedOf("default");
    return !watched.ok() || !watched->empty();
  });
  ASSERT_THAT(watched, IsOk());
  EXPECT_THAT(*watched, ::testing::ElementsAre(reg));
  engine->Unsubscribe(id);
  engine->Stop();
}

// Workspaces hooks marked are read at once: a provider slow to answer for
// one holds up no other, though the slow one was marked first.
TEST_F(WatchEngineTest, AHookedReadDoesNotWaitForAnother) {
  WatchOptions options;
  options.poll_interval = absl::Hours(1);  // No poll: hooks alone.
  options.poll_concurrency = 2;
  // One tenant runs at most three quarters of the threads at once
  // (service/core/worker_pool.h): 3 here.
  options.hook_concurrency = 4;
  absl::Mutex mu;
  std::vector<std::string> logged;  // Workspaces, as their events came.
  const AccountRef a{"default", "acct"};
  options.on_events = [&](int64_t) {
    absl::StatusOr<std::vector<StoredEvent>> events =
        store_->events().ReadEvents(a, 0, 100);
    absl::MutexLock lock(&mu);
    logged.clear();
    if (!events.ok()) return;
    for (const StoredEvent& e : *events) logged.push_back(e.workspace_id);
  };
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<Snapshot> stored = store_->roster().ReadSnapshot(a);
  ASSERT_THAT(stored, IsOk());
  ASSERT_GE(stored->workspaces.size(), 2u);
  const std::string slow = stored->workspaces[0].id;
  const std::string fast = stored->workspaces[1].id;
  // One member leaves each (Podio's hooks would name them); the slow
  // workspace's listing is held 8 s, once.
  for (const std::string& ws : {slow, fast}) {
    std::string member;
    ASSERT_NO_FATAL_FAILURE(RemoveRegularMember(a, &member, ws));
  }
  podio_sim::FaultRule held;
  held.method = "GET";
  held.path = absl::StrCat("/space/", slow, "/member/*");
  held.kind = podio_sim::FaultKind::kLatency;
  held.latency = absl::Seconds(8);
  held.times = 1;
  sim_->faults().Add(held);
  ASSERT_THAT(store_->hooks().MarkDirty(a, slow, clock_->Now()), IsOk());
  clock_->Advance(absl::Seconds(1));
  ASSERT_THAT(store_->hooks().MarkDirty(a, fast, clock_->Now()), IsOk());
  engine->Start();
  const auto both = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return logged.size() >= 2;
  };
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&both), absl::Seconds(60)))
        << ::testing::PrintToString(logged);
    // The fast workspace's departure was logged first, while the slow
    // one's answer was held.
    EXPECT_THAT(logged, ::testing::ElementsAre(fast, slow));
  }
  engine->Stop();
}

// Pausing stops the account's polls and logs WATCH_PAUSED; a change made
// meanwhile is found by the poll that resuming makes due at once.
TEST_F(WatchEngineTest, APausedAccountIsNotPolledAndResumingFindsTheChange) {
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  std::unique_ptr<WatchEngine> engine = NewEngine(options);
  const AccountRef a{"default", "acct"};
  ASSERT_NO_FATAL_FAILURE(Watch(*engine, a));
  absl::StatusOr<ResolvedAccount> resolved =
      accounts_->Resolve(a.tenant, a.account_id);
  ASSERT_THAT(resolved, IsOk());
  CallContext ctx = ContextFor(*resolved);
  ASSERT_THAT(engine->SetWatching(a, false, *resolved, ctx), IsOk());
  std::string member;
  ASSERT_NO_FATAL_FAILURE(RemoveRegularMember(a, &member));
  // Paused: polls due long ago do not run.
  const int64_t before = sim_->request_log().next_seq();
  clock_->Advance(absl::Minutes(10));
  sim_->clock().Advance(absl::Minutes(10));
  engine->RunOnce();
  EXPECT_EQ(sim_->request_log().next_seq(), before);
  EXPECT_THAT(
      engine->EnsureWatching(a, *resolved, ctx),
      ::unified::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
  // Resumed: the next pass polls and logs the departure.
  ASSERT_THAT(engine->SetWatching(a, true, *resolved, ctx), IsOk());
  engine->RunOnce();
  auto events = store_->events().ReadEvents(a, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, EventType::kWatchPaused);
  EXPECT_EQ((*events)[0].source, Source::kApi);
  EXPECT_EQ((*events)[1].type, EventType::kWatchResumed);
  EXPECT_EQ((*events)[2].type, EventType::kMemberRemoved);
  EXPECT_EQ((*events)[2].source, Source::kPoll);
  EXPECT_EQ((*events)[2].user_id, member);
}

}  // namespace
}  // namespace unified::watch
