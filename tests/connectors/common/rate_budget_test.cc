#include "connectors/common/rate_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/fake_clock.h"

namespace unified {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

constexpr char kKey[] = "podio:user:1/client";

class RateBudgetTest : public ::testing::Test {
 protected:
  RateBudgetTest() {
    options_.limit = 5;
    options_.restricted_limit = 2;
    ledger_ = NewMemoryRateLedger(options_);
    budget_ = std::make_unique<RateBudget>(ledger_.get(), &clock_, options_);
  }

  absl::Status Take(RateClass cls = RateClass::kNormal,
                    absl::Duration within = absl::Minutes(1),
                    Priority priority = Priority::kInteractive) {
    return budget_->Acquire(kKey, cls, priority, clock_.Now() + within,
                            nullptr);
  }

  RateBudgetOptions options_;
  FakeClock clock_;
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
};

TEST(RateBudgetMarginTest, ACallCountsForTheWindowAndItsMargin) {
  RateBudgetOptions options;
  options.limit = 1;
  options.window_margin = 0.02;
  FakeClock clock;
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(options);
  RateBudget budget(ledger.get(), &clock, options);
  auto take = [&] {
    return budget.Acquire(kKey, RateClass::kNormal, Priority::kInteractive,
                          clock.Now() + absl::Minutes(1), nullptr);
  };
  ASSERT_THAT(take(), IsOk());
  // An hour later the call still counts, for 72 s more: the provider's
  // window may have started after ours.
  clock.Advance(absl::Hours(1));
  absl::Status spent = take();
  EXPECT_THAT(spent, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetRetryDelay(spent), absl::Seconds(72));
  clock.Advance(absl::Seconds(72));
  EXPECT_THAT(take(), IsOk());
}

TEST_F(RateBudgetTest, NeverMoreThanTheLimitInAnyWindow) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(Take(), IsOk());
    clock_.Advance(absl::Minutes(10));
  }
  // Spent: the next slot frees when the first call leaves the window, 10
  // minutes from now; a 1-minute deadline fails at once with that delay.
  absl::Status spent = Take();
  EXPECT_THAT(spent, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetErrorInfo(spent)->reason(), "RATE_BUDGET_EXHAUSTED");
  EXPECT_EQ(GetRetryDelay(spent), absl::Minutes(10));
  EXPECT_EQ(budget_->State(kKey)->remaining, 0);
  // A "rate limited" call needs room in both classes.
  EXPECT_THAT(Take(RateClass::kRestricted),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // A caller whose deadline allows it waits for the slot.
  std::thread waiter(
      [&] { EXPECT_THAT(Take(RateClass::kNormal, absl::Hours(1)), IsOk()); });
  clock_.AwaitSleepers(1);
  clock_.Advance(absl::Minutes(10));
  waiter.join();
  EXPECT_EQ(budget_->State(kKey)->remaining, 0);
}

TEST_F(RateBudgetTest, NoWaitEndsTooCloseToTheDeadlineForTheCall) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Take(), IsOk());
  // The next slot frees in an hour. A caller whose deadline is 0.5 s past
  // that is refused at once: the call would have no time left to run.
  absl::Status tight =
      Take(RateClass::kNormal, absl::Hours(1) + options_.call_room / 2);
  EXPECT_THAT(tight, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetErrorInfo(tight)->reason(), "RATE_BUDGET_EXHAUSTED");
  EXPECT_EQ(GetRetryDelay(tight), absl::Hours(1));
  // With room for the call, it waits for the slot.
  std::thread waiter([&] {
    EXPECT_THAT(
        Take(RateClass::kNormal, absl::Hours(1) + 2 * options_.call_room),
        IsOk());
  });
  clock_.AwaitSleepers(1);
  clock_.Advance(absl::Hours(1));
  waiter.join();
}

TEST_F(RateBudgetTest, RateLimitedCallsCountInBothClasses) {
  EXPECT_THAT(Take(RateClass::kRestricted), IsOk());
  EXPECT_THAT(Take(RateClass::kRestricted), IsOk());
  EXPECT_THAT(Take(RateClass::kRestricted),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(budget_->State(kKey)->remaining, 3);
  EXPECT_EQ(budget_->State(kKey)->restricted_remaining, 0);
  for (int i = 0; i < 3; ++i) EXPECT_THAT(Take(), IsOk());
  EXPECT_THAT(Take(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(RateBudgetLimitsTest, EachProviderHasItsOwnLimits) {
  RateBudgetOptions options;
  options.limit = 3;
  options.restricted_limit = 1;
  options.providers["podio"] = {5, 2};
  FakeClock clock;
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(options);
  auto limits = [&](const std::string& key) {
    absl::StatusOr<BudgetState> s = ledger->State(key, clock.Now());
    return s.ok() ? std::make_pair(s->limit, s->restricted_limit)
                  : std::make_pair(int64_t{-1}, int64_t{-1});
  };
  // The provider is the key's first segment: a longer name that starts the
  // same is another provider.
  EXPECT_EQ(limits("podio:user:1/c"), std::make_pair(int64_t{5}, int64_t{2}));
  EXPECT_EQ(limits("podio2:user:1/c"), std::make_pair(int64_t{3}, int64_t{1}));
  EXPECT_EQ(limits("scim:token:1/c"), std::make_pair(int64_t{3}, int64_t{1}));
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(
        *ledger->TryTake("podio:user:1/c", RateClass::kNormal, clock.Now()),
        std::nullopt);
  }
  EXPECT_NE(*ledger->TryTake("podio:user:1/c", RateClass::kNormal, clock.Now()),
            std::nullopt);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        *ledger->TryTake("scim:token:1/c", RateClass::kNormal, clock.Now()),
        std::nullopt);
  }
  EXPECT_NE(*ledger->TryTake("scim:token:1/c", RateClass::kNormal, clock.Now()),
            std::nullopt);
}

TEST_F(RateBudgetTest, TheProvidersHeadersWin) {
  // A raised limit.
  ASSERT_THAT(budget_->Observe(kKey, RateClass::kNormal, 8, 7), IsOk());
  EXPECT_EQ(budget_->State(kKey)->limit, 8);
  EXPECT_EQ(budget_->State(kKey)->remaining, 7);
  // The provider counted calls we did not see: we count them too.
  ASSERT_THAT(budget_->Observe(kKey, RateClass::kNormal, 8, 1), IsOk());
  EXPECT_EQ(budget_->State(kKey)->remaining, 1);
  EXPECT_THAT(Take(), IsOk());
  EXPECT_THAT(Take(), StatusIs(absl::StatusCode::kResourceExhausted));
  // Headers never make us forget our own calls.
  ASSERT_THAT(budget_->Observe(kKey, RateClass::kNormal, 8, 8), IsOk());
  EXPECT_EQ(budget_->State(kKey)->remaining, 0);
}

TEST_F(RateBudgetTest, A420StopsTheIdentityForTheNamedWaitOrABackoff) {
  ASSERT_THAT(budget_->Block(kKey, absl::Seconds(300)), IsOk());
  absl::Status blocked = Take(RateClass::kRestricted);
  EXPECT_THAT(blocked, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetRetryDelay(blocked), absl::Seconds(300));
  EXPECT_THAT(Take(), StatusIs(absl::StatusCode::kResourceExhausted));
  // A caller who can wait gets the call right after the stop ends.
  std::thread waiter(
      [&] { EXPECT_THAT(Take(RateClass::kNormal, absl::Hours(1)), IsOk()); });
  clock_.AwaitSleepers(1);
  clock_.Advance(absl::Seconds(300));
  waiter.join();
  // No named wait: 1 minute, then 2, doubling.
  ASSERT_THAT(budget_->Block(kKey, std::nullopt), IsOk());
  EXPECT_EQ(GetRetryDelay(Take(RateClass::kNormal, absl::Seconds(1))),
            absl::Minutes(1));
  clock_.Advance(absl::Minutes(1));
  ASSERT_THAT(budget_->Block(kKey, std::nullopt), IsOk());
  EXPECT_EQ(GetRetryDelay(Take(RateClass::kNormal, absl::Seconds(1))),
            absl::Minutes(2));
}

TEST_F(RateBudgetTest, InteractiveCallsOvertakeBulkOnes) {
  // One call now, four 10 minutes later: one slot frees at a time.
  ASSERT_THAT(Take(), IsOk());
  clock_.Advance(absl::Minutes(10));
  for (int i = 0; i < 4; ++i) ASSERT_THAT(Take(), IsOk());
  clock_.Advance(absl::Minutes(1));
  std::vector<std::string> order;
  absl::Mutex mu;
  auto call = [&](Priority priority, const char* name) {
    EXPECT_THAT(Take(RateClass::kNormal, absl::Hours(3), priority), IsOk());
    absl::MutexLock lock(&mu);
    order.push_back(name);
  };
  // The bulk caller waits first, the interactive one arrives later.
  std::thread bulk(call, Priority::kBulk, "bulk");
  clock_.AwaitSleepers(1);
  std::thread interactive(call, Priority::kInteractive, "interactive");
  clock_.AwaitSleepers(2);
  clock_.Advance(absl::Minutes(49));  // The first slot frees.
  interactive.join();
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(order, std::vector<std::string>{"interactive"});
  }
  clock_.AwaitSleepers(1);  // Bulk is back to waiting for the next slot.
  clock_.Advance(absl::Minutes(10));
  bulk.join();
  EXPECT_EQ(order, (std::vector<std::string>{"interactive", "bulk"}));
}

TEST_F(RateBudgetTest, AWaitingCallerCanCancel) {
  for (int i = 0; i < 5; ++i) ASSERT_THAT(Take(), IsOk());
  std::atomic<bool> cancel{false};
  std::thread waiter([&] {
    EXPECT_THAT(
        budget_->Acquire(kKey, RateClass::kNormal, Priority::kInteractive,
                         clock_.Now() + absl::Hours(2),
                         [&] { return cancel.load(); }),
        StatusIs(absl::StatusCode::kCancelled));
  });
  clock_.AwaitSleepers(1);
  cancel = true;
  waiter.join();
  EXPECT_EQ(budget_->waiting(Priority::kInteractive), 0);
}

TEST(RateClassifierTest, MatchesMethodAndPathSegments) {
  const RateClassifier podio(
      {"GET /contact/", "GET /contact/org/*", "GET /contact/space/*/"});
  EXPECT_EQ(podio.Classify("GET", "/contact/"), RateClass::kRestricted);
  EXPECT_EQ(podio.Classify("GET", "/contact/org/1000"), RateClass::kRestricted);
  EXPECT_EQ(podio.Classify("GET", "/contact/space/22/"),
            RateClass::kRestricted);
  EXPECT_EQ(podio.Classify("POST", "/contact/"), RateClass::kNormal);
  EXPECT_EQ(podio.Classify("GET", "/contact/org/"), RateClass::kNormal);
  EXPECT_EQ(podio.Classify("GET", "/org/1000/member/"), RateClass::kNormal);
  const RateClassifier rest({"GET /item/**"});
  EXPECT_EQ(rest.Classify("GET", "/item/1/value/2"), RateClass::kRestricted);
  EXPECT_EQ(rest.Classify("GET", "/items/1"), RateClass::kNormal);
}

}  // namespace
}  // namespace unified
