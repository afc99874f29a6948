// The watch engine against the simulator with injected clocks: one
// simulated hour of reconciliation polls due every minute never spends more
// than the poll's share of the account's rate limit, still finds a change
// made mid-hour, and its events match the simulator's roster; a tenant
// watched as a whole has its accounts watched, and one sequence.
#include "service/watch/watch_engine.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/accounts/credential_store.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

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
  absl::StatusOr<ResolvedAccount> resolved =
      accounts_->Resolve("default", "acct");
  ASSERT_THAT(resolved, IsOk());
  CallContext ctx;
  ctx.deadline = clock_->Now() + absl::Minutes(5);
  ctx.budget = budget_.get();
  ctx.budget_key = resolved->budget_key;
  ctx.tokens = resolved->tokens.get();
  ASSERT_THAT(engine->EnsureWatching(a, *resolved, ctx), IsOk());
  absl::StatusOr<Snapshot> baseline = store_->ReadSnapshot(a);
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
      store_->ReadEvents(a, 0, 10);
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
  absl::StatusOr<ResolvedAccount> resolved =
      accounts_->Resolve("default", "acct");
  ASSERT_THAT(resolved, IsOk());
  CallContext ctx;
  ctx.deadline = clock_->Now() + absl::Minutes(5);
  ctx.budget = budget_.get();
  ctx.budget_key = resolved->budget_key;
  ctx.tokens = resolved->tokens.get();
  ASSERT_THAT(engine->EnsureWatching(a, *resolved, ctx), IsOk());
  absl::StatusOr<Snapshot> baseline = store_->ReadSnapshot(a);
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
      store_->ReadEvents(a, 0, 100);
  ASSERT_THAT(events, IsOk());
  EXPECT_TRUE(events->empty());
  sim_->SetUnreadableUser(0);
  for (int minute = 4; minute <= 6; ++minute) {
    clock_->Advance(absl::Minutes(1));
    sim_->clock().Advance(absl::Minutes(1));
    engine->RunOnce();
  }
  events = store_->ReadEvents(a, 0, 100);
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
  ASSERT_THAT(store_->WatchedOf("default"), IsOkAndHolds(::testing::IsEmpty()));
  // A tenant-wide subscription that watches new accounts: the next pass
  // takes both accounts' baselines.
  int woken = 0;
  const int64_t id = engine->Subscribe(
      {"default", ""}, [&woken] { ++woken; }, /*watch_new_accounts=*/true);
  engine->RunOnce();
  auto watched = store_->WatchedOf("default");
  ASSERT_THAT(watched, IsOk());
  ASSERT_EQ(watched->size(), 2u);
  EXPECT_EQ((*watched)[0].account_id, "acct");
  EXPECT_EQ((*watched)[1].account_id, "second");
  EXPECT_EQ(woken, 0);  // Baselines are not events.
  // A change: both accounts' polls log it, and the tenant's subscriber is
  // woken for events of either.
  absl::StatusOr<Snapshot> baseline = store_->ReadSnapshot({"default", "acct"});
  ASSERT_THAT(baseline, IsOk());
  const std::string ws = baseline->workspaces[0].id;
  std::string member;
  for (const auto& [w, m] : baseline->members) {
    if (w == ws && m.role_id != "workspace.admin") member = m.user_id;
  }
  ASSERT_FALSE(member.empty());
  HttpRequest remove;
  remove.method = "DELETE";
  remove.url =
      absl::StrCat(sim_->base_url(), "/space/", ws, "/member/", member);
  remove.headers = {{"Authorization", "OAuth2 " + token_}};
  auto r = http_->Send(remove);
  ASSERT_TRUE(r.ok() && r->status / 100 == 2) << r.status();
  clock_->Advance(absl::Minutes(2));
  sim_->clock().Advance(absl::Minutes(2));
  engine->RunOnce();
  EXPECT_GE(woken, 1);
  auto events = store_->ReadTenantEvents("default", {}, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].tseq, 1);
  EXPECT_EQ((*events)[1].tseq, 2);
  EXPECT_NE((*events)[0].account_id, (*events)[1].account_id);
  EXPECT_EQ((*events)[0].user_id, member);
  engine->Unsubscribe(id);
}

}  // namespace
}  // namespace unified::watch
