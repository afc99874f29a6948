// The watch engine against the simulator with injected clocks: one
// simulated hour of reconciliation polls due every minute never spends more
// than the poll's share of the account's rate limit, still finds a change
// made mid-hour, and its events match the simulator's roster.
#include "service/watch/watch_engine.h"

#include <set>

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

TEST(WatchEngineTest, AnHourOfPollsStaysWithinItsShareAndFindsChanges) {
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = 200;
  sim_options.data.orgs = 1;
  sim_options.data.spaces_per_org = 4;
  auto sim = podio_sim::Simulator::Start(sim_options);
  ASSERT_TRUE(sim.ok()) << sim.status();
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, (*sim)->base_url());
  ASSERT_TRUE(token.ok()) << token.status();

  FakeClock clock((*sim)->clock().Now());
  RateBudgetOptions budget_options;  // Podio's 1,000 per hour.
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(budget_options);
  RateBudget budget(ledger.get(), &clock, budget_options);
  podio::PodioClientOptions client_options;
  client_options.api_base = (*sim)->base_url();
  podio::PodioClient client(http.get(), &clock, client_options);
  ConnectorRegistry connectors;
  ASSERT_THAT(connectors.Register(podio::NewPodioConnector(&client)), IsOk());
  std::unique_ptr<AccountResolver> accounts =
      NewStaticAccountResolver({{"acct", {"podio", *token}}});

  auto credentials =
      accounts::CredentialStore::OpenUrl(accounts::FreshStoreUrl("sqlite"));
  ASSERT_THAT(credentials, IsOk());
  WatchStore store((*credentials)->database());
  WatchOptions options;
  options.poll_interval = absl::Minutes(1);
  options.poll_share = 0.2;
  WatchEngine engine(&store, accounts.get(), &connectors, &budget, &clock,
                     options);

  const AccountRef a{"default", "acct"};
  absl::StatusOr<ResolvedAccount> resolved =
      accounts->Resolve("default", "acct");
  ASSERT_THAT(resolved, IsOk());
  CallContext ctx;
  ctx.deadline = clock.Now() + absl::Minutes(5);
  ctx.budget = &budget;
  ctx.budget_key = resolved->budget_key;
  ctx.tokens = resolved->tokens.get();
  ASSERT_THAT(engine.EnsureWatching(a, *resolved, ctx), IsOk());
  absl::StatusOr<Snapshot> baseline = store.ReadSnapshot(a);
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

  const int64_t first_request = (*sim)->request_log().next_seq();
  const absl::Time start = clock.Now();
  int polls_with_calls = 0;
  int last_poll_minute = 0;
  for (int minute = 1; minute <= 60; ++minute) {
    clock.Advance(absl::Minutes(1));
    (*sim)->clock().Advance(absl::Minutes(1));
    if (minute == 30) {
      HttpRequest add;
      add.method = "POST";
      add.url = absl::StrCat((*sim)->base_url(), "/space/", ws, "/member/");
      add.headers = {{"Authorization", "OAuth2 " + *token},
                     {"Content-Type", "application/json"}};
      add.body = absl::StrCat(R"({"users":[)", newcomer, "]}");
      auto r = http->Send(add);
      ASSERT_TRUE(r.ok() && r->status == 200) << r.status();
    }
    const int64_t before = (*sim)->request_log().next_seq();
    engine.RunOnce();
    if ((*sim)->request_log().next_seq() > before) {
      ++polls_with_calls;
      last_poll_minute = minute;
    }
  }
  // Every request of the hour was the poll's (and the write above).
  int poll_calls = 0;
  for (const auto& r : (*sim)->request_log().Since(first_request)) {
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
  absl::StatusOr<std::vector<StoredEvent>> events = store.ReadEvents(a, 0, 10);
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, EventType::kMemberAdded);
  EXPECT_EQ((*events)[0].user_id, newcomer);
  EXPECT_EQ((*events)[0].workspace_id, ws);
  EXPECT_EQ((*events)[0].source, Source::kPoll);
  EXPECT_EQ((*events)[0].role_id, "workspace.regular");
}

}  // namespace
}  // namespace unified::watch
