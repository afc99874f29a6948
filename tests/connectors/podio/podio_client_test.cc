// The request pipeline against the simulator: credentials injected as
// "OAuth2 <token>", one refresh and one replay on expired_token (never a
// loop), retries of 5xx inside the deadline, and no retry of other errors.
#include "connectors/podio/podio_client.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/error_details.h"
#include "connectors/common/rate_budget.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

namespace unified::podio {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// Gets tokens by the password grant; Refresh() grants a new one, counting.
class GrantingTokenSource final : public TokenSource {
 public:
  GrantingTokenSource(HttpClient* http, std::string base, std::string first)
      : http_(http), base_(std::move(base)), token_(std::move(first)) {}
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    absl::MutexLock lock(&mu_);
    return token_;
  }
  absl::StatusOr<std::string> Refresh(const std::string& rejected,
                                      absl::Time) override {
    ++refreshes_;
    absl::StatusOr<std::string> fresh =
        podio_sim::PasswordGrantToken(*http_, base_);
    if (!fresh.ok()) return fresh.status();
    absl::MutexLock lock(&mu_);
    if (!broken_) token_ = *fresh;
    return token_;
  }
  void BreakRefresh() {
    absl::MutexLock lock(&mu_);
    broken_ = true;
    token_ = "still-bogus";
  }
  std::atomic<int> refreshes_{0};

 private:
  HttpClient* http_;
  std::string base_;
  absl::Mutex mu_;
  std::string token_;
  bool broken_ = false;
};

class PodioClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    podio_sim::SimulatorOptions options;
    options.admin_api = true;
    options.data.users = 20;
    auto sim = podio_sim::Simulator::Start(options);
    ASSERT_THAT(sim, IsOk());
    sim_ = std::move(*sim);
    http_ = NewCurlHttpClient({});
    auto token = podio_sim::PasswordGrantToken(*http_, sim_->base_url());
    ASSERT_THAT(token, IsOk());
    tokens_ = std::make_unique<GrantingTokenSource>(http_.get(),
                                                    sim_->base_url(), *token);
    PodioClientOptions client_options;
    client_options.api_base = sim_->base_url();
    client_options.initial_backoff = absl::Milliseconds(1);
    client_ = std::make_unique<PodioClient>(http_.get(), RealClock::Get(),
                                            client_options);
    ctx_.tokens = tokens_.get();
    ctx_.deadline = absl::Now() + absl::Seconds(30);
  }

  int64_t Calls(const std::string& path) {
    int64_t n = 0;
    for (const auto& r : sim_->request_log().Since(0)) n += r.path == path;
    return n;
  }

  std::unique_ptr<podio_sim::Simulator> sim_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<GrantingTokenSource> tokens_;
  std::unique_ptr<PodioClient> client_;
  CallContext ctx_;
};

TEST_F(PodioClientTest, SendsOAuth2AndParses) {
  absl::StatusOr<json::Body> orgs = client_->Get(ctx_, "/org/");
  ASSERT_THAT(orgs, IsOk());
  EXPECT_TRUE(orgs->root().IsArray());
  const auto log = sim_->request_log().Since(0);
  EXPECT_EQ(log.back().authorization_scheme, "OAuth2");
}

TEST_F(PodioClientTest, ExpiredTokenIsRefreshedOnceAndReplayed) {
  sim_->clock().Advance(absl::Hours(9));  // The access token expired.
  absl::StatusOr<json::Body> user = client_->Get(ctx_, "/user/");
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(tokens_->refreshes_.load(), 1);
  EXPECT_EQ(Calls("/user/"), 2);  // The 401, then the replay.
}

TEST_F(PodioClientTest, ASecond401IsFinalNotALoop) {
  tokens_->BreakRefresh();
  absl::Status status = client_->Get(ctx_, "/user/").status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(GetErrorInfo(status)->reason(), "UPSTREAM_UNAUTHENTICATED");
  EXPECT_EQ(tokens_->refreshes_.load(), 1);
  EXPECT_EQ(Calls("/user/"), 2);
}

TEST_F(PodioClientTest, RetriesServerErrorsButNotClientErrors) {
  podio_sim::FaultRule flaky;
  flaky.path = "/org/";
  flaky.kind = podio_sim::FaultKind::kStatus;
  flaky.status = 503;
  flaky.times = 2;
  sim_->faults().Add(flaky);
  ASSERT_THAT(client_->Get(ctx_, "/org/"), IsOk());
  EXPECT_EQ(Calls("/org/"), 3);

  EXPECT_THAT(client_->Get(ctx_, "/org/999999").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(Calls("/org/999999"), 1);

  podio_sim::FaultRule down = flaky;
  down.times = -1;
  sim_->faults().Add(down);
  EXPECT_THAT(client_->Get(ctx_, "/org/").status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("503")));
  EXPECT_EQ(Calls("/org/"), 3 + 3);  // max_attempts.
}

TEST_F(PodioClientTest, PassedDeadlineSendsNothing) {
  ctx_.deadline = absl::Now() - absl::Seconds(1);
  const int64_t before = client_->requests_sent();
  EXPECT_THAT(client_->Get(ctx_, "/org/").status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(client_->requests_sent(), before);
}

TEST_F(PodioClientTest, RateHeadersNeverGiveBackCallsTheLedgerCounted) {
  RateBudgetOptions options;  // 1,000 an hour, as the simulator.
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(options);
  RateBudget budget(ledger.get(), RealClock::Get(), options);
  ctx_.budget = &budget;
  ctx_.budget_key = "podio:user:1/demo-client";
  for (int i = 0; i < 3; ++i) ASSERT_THAT(client_->Get(ctx_, "/user/"), IsOk());
  // Podio does not count a call to an unknown route, and its headers say so;
  // the ledger counted it anyway and keeps it counted.
  EXPECT_THAT(client_->Get(ctx_, "/no/such/route").status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(budget.State(ctx_.budget_key)->remaining, 1000 - 4);
  // An unauthenticated answer has no headers to learn from at all.
  tokens_->BreakRefresh();
  (void)client_->Get(ctx_, "/user/");
  EXPECT_EQ(budget.State(ctx_.budget_key)->remaining, 1000 - 6);
}

}  // namespace
}  // namespace unified::podio
