// One simulated hour of mixed directory and proxy load from 20 concurrent
// callers on one Podio identity, against the simulator in this process
// sharing a virtual clock with the rate budget: Podio's limits are never
// exceeded and no call ever gets a 420 (the simulator's request log proves
// it), while the budget is spent nearly to the limit.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/rate_budget.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/testing/fake_clock.h"
#include "tools/testing/fixed_token.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

namespace unified {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::FixedToken;

TEST(BudgetHourTest, TwentyCallersForAnHourNeverTripPodiosLimit) {
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = 300;
  sim_options.data.orgs = 1;
  sim_options.data.spaces_per_org = 1;
  sim_options.admin_api = true;
  auto sim = podio_sim::Simulator::Start(sim_options);
  ASSERT_TRUE(sim.ok()) << sim.status();
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, (*sim)->base_url());
  ASSERT_TRUE(token.ok()) << token.status();
  FixedToken tokens(*token);

  FakeClock clock((*sim)->clock().Now());
  RateBudgetOptions budget_options;  // Podio's 1,000 and 250 per hour.
  budget_options.poll = absl::Minutes(1);
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(budget_options);
  RateBudget budget(ledger.get(), &clock, budget_options);
  podio::PodioClientOptions client_options;
  client_options.api_base = (*sim)->base_url();
  podio::PodioClient client(http.get(), &clock, client_options);
  std::unique_ptr<DirectoryConnector> connector =
      podio::NewPodioConnector(&client);

  const absl::Time start = clock.Now();
  const absl::Time end = start + absl::Hours(1);
  constexpr int kCallers = 20;
  std::atomic<int> alive{kCallers};
  std::atomic<int> ok{0}, budget_refusals{0}, other_errors{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      std::mt19937 rng(c);
      for (int n = 0; clock.Now() < end; ++n) {
        CallContext ctx;
        ctx.deadline = clock.Now() + absl::Minutes(10);
        ctx.tokens = &tokens;
        ctx.budget = &budget;
        ctx.budget_key = "podio:user:demo/demo-client";
        absl::Status status;
        switch ((c + n) % 4) {
          case 0: {  // A directory listing (bulk).
            ctx.priority = Priority::kBulk;
            PageRequest page;
            page.limit = 100;
            status = connector->ListUsers(ctx, UserFilter(), page).status();
            break;
          }
          case 1:  // A directory read.
            status = connector->ListOrganizations(ctx, PageRequest()).status();
            break;
          case 2: {  // A proxy call.
            HttpRequest request;
            request.url = "/user/status";
            absl::StatusOr<HttpResponse> r = client.Send(ctx, request, true);
            status = r.ok() && r->status != 200
                         ? absl::InternalError(absl::StrCat(r->status))
                         : r.status();
            break;
          }
          default: {  // A proxy call of a "rate limited" operation.
            HttpRequest request;
            request.url = "/contact/?limit=5";
            absl::StatusOr<HttpResponse> r = client.Send(ctx, request, true);
            status = r.ok() && r->status != 200
                         ? absl::InternalError(absl::StrCat(r->status))
                         : r.status();
          }
        }
        if (status.ok()) {
          ++ok;
        } else if (GetErrorInfo(status).has_value() &&
                   (GetErrorInfo(status)->reason() == "RATE_BUDGET_EXHAUSTED" ||
                    GetErrorInfo(status)->reason() == "DEADLINE_EXCEEDED")) {
          // No slot within the call's deadline: the budget said no.
          ++budget_refusals;
        } else {
          ++other_errors;
          ADD_FAILURE() << status;
        }
        // Think for 1 to 20 virtual seconds.
        clock.SleepUntil(clock.Now() + absl::Seconds(1 + rng() % 20), nullptr);
      }
      --alive;
    });
  }
  // The driver: whenever every live caller sleeps, move both clocks to the
  // earliest wake-up.
  while (alive.load() > 0) {
    clock.AwaitSleepersOr([&] { return alive.load(); });
    if (alive.load() == 0) break;
    const absl::Time wake = clock.EarliestWake();
    if (wake == absl::InfiniteFuture()) continue;
    const absl::Duration step = wake - clock.Now();
    if (step > absl::ZeroDuration()) {
      (*sim)->clock().Advance(step);
      clock.Advance(step);
    }
  }
  for (std::thread& t : callers) t.join();

  // The simulator's log: every API call, its status, in one hour.
  HttpRequest log;
  log.url = (*sim)->base_url() + "/_sim/requests?since=0";
  absl::StatusOr<HttpResponse> answer = http->Send(log);
  ASSERT_TRUE(answer.ok());
  rapidjson::Document doc;
  doc.Parse(answer->body.c_str());
  ASSERT_TRUE(doc.IsObject());
  // Every call counts against the general limit; contact listings also
  // against the "rate limited" one.
  int all = 0, restricted = 0, rate_limited = 0;
  std::vector<int64_t> times[2];  // Simulated seconds: all, rate limited.
  for (const auto& r : doc["requests"].GetArray()) {
    const std::string path = r["path"].GetString();
    if (absl::StartsWith(path, "/oauth/")) continue;
    if (r["status"].GetInt() == 420) ++rate_limited;
    const int64_t at = r["sim_unix"].GetInt64();
    times[0].push_back(at);
    if (path == "/contact/") times[1].push_back(at);
    if (at >= absl::ToUnixSeconds(end)) continue;  // Inside the hour only.
    ++all;
    if (path == "/contact/") ++restricted;
  }
  EXPECT_EQ(rate_limited, 0);
  EXPECT_LE(all, 1000);
  EXPECT_LE(restricted, 250);
  // Nor in any hour-long window of the run (sliding).
  for (int c = 0; c < 2; ++c) {
    size_t most = 0;
    for (size_t i = 0, j = 0; i < times[c].size(); ++i) {
      while (j < times[c].size() && times[c][j] < times[c][i] + 3600) ++j;
      most = std::max(most, j - i);
    }
    EXPECT_LE(most, c == 0 ? 1000u : 250u);
  }
  // The budget was the bottleneck and was spent nearly whole.
  EXPECT_GE(all, 950);
  EXPECT_GE(restricted, 200);
  EXPECT_GT(budget_refusals.load(), 0);
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_GE(clock.Now(), end);
  // Kept-alive connections: never more than one per concurrent caller.
  EXPECT_GT(client.requests_sent(), 1000);
  EXPECT_LE(client.connections_opened(), kCallers);
  std::printf(
      "one simulated hour: %d calls sent (%d rate-limited), %d ok, %d refused "
      "by the budget, %d 420s\n",
      all, restricted, ok.load(), budget_refusals.load(), rate_limited);
}

}  // namespace
}  // namespace unified
