// Listings while the directory changes under them, on every provider kind:
// our Podio simulator in the recorded real shape (no member counts), our
// SCIM simulator, and SCIMMY (a SCIM server nobody on the project wrote).
// Another administrator adds 20 members and removes 20, one change after
// each of the first 40 pages of a listing of about 5,000 (an organization's
// members; 1,000 on SCIMMY, which rebuilds every resource on each request)
// or of a workspace's members, through List pages and through the stream.
// Offset paging shifts rows under such a listing; the connectors must repair it
// (docs/podio.md and docs/scim.md, "Rows that move"):
//   - every member present from the first page to the last comes, once;
//   - nobody comes twice, and nobody comes who was never a member.
// Each case prints the upstream calls of the listing beside those of the
// same listing with nothing changing: the difference is what the repair
// cost.
#include "tools/conformance/churn.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/rate_budget.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/conformance/targets.h"
#include "tools/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace unified::conformance {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::JumpingClock;

using Starter = absl::StatusOr<std::unique_ptr<Target>> (*)(const Harness&);

struct Provider {
  const char* name;
  Starter start;
  int members;
};

class ChurnTest : public ::testing::TestWithParam<Provider> {
 protected:
  void SetUp() override {
    ledger_ = NewMemoryRateLedger(budget_options_);
    budget_ =
        std::make_unique<RateBudget>(ledger_.get(), &jumping_, budget_options_);
    absl::StatusOr<std::unique_ptr<Target>> target =
        GetParam().start(Harness{&jumping_, budget_.get(), GetParam().members});
    ASSERT_THAT(target.status(), IsOk());
    target_ = std::move(*target);
    scopes_ = LargestScopes(*target_);
    ASSERT_FALSE(scopes_.org.empty());
  }

  void ExpectWholeUnderChange(bool workspace, bool paged) {
    ChurnScope scope = scopes_;
    if (!workspace) scope.workspace.clear();
    const std::string what = absl::StrCat(
        target_->name(), workspace ? " workspace" : " organization",
        paged ? " (List)" : " (stream)");
    const ChurnWalk calm = WalkMembers(*target_, scope, paged, false);
    ASSERT_THAT(calm.status, IsOk()) << what;
    ASSERT_GT(calm.before.size(), static_cast<size_t>(kChurnChanges) * 10)
        << what;
    const ChurnWalk walk = WalkMembers(*target_, scope, paged, true);
    ASSERT_THAT(walk.status, IsOk()) << what;
    // The changes happened (a member removed may be added back).
    EXPECT_GE(walk.left, kChurnChanges / 2 - 2) << what;
    EXPECT_GE(walk.joined, kChurnChanges / 2 - 2) << what;
    EXPECT_EQ(walk.repeated, 0) << what << ": a member twice";
    EXPECT_EQ(walk.missing, 0) << what << ": members present throughout missed";
    EXPECT_EQ(walk.strangers, 0) << what << ": never members, yet listed";
    std::printf(
        "%s: %zu members, %lld calls unchanged, %lld under change "
        "(%lld for the repair)\n",
        what.c_str(), walk.before.size(), static_cast<long long>(calm.calls),
        static_cast<long long>(walk.calls),
        static_cast<long long>(walk.calls - calm.calls));
  }

  FakeClock clock_;
  JumpingClock jumping_{&clock_};
  RateBudgetOptions budget_options_{100000000, 100000000};
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
  std::unique_ptr<Target> target_;
  ChurnScope scopes_;
};

TEST_P(ChurnTest, AnOrganizationsMembersListedWhileTheyChange) {
  ExpectWholeUnderChange(/*workspace=*/false, /*paged=*/true);
  ExpectWholeUnderChange(/*workspace=*/false, /*paged=*/false);
}

TEST_P(ChurnTest, AWorkspacesMembersListedWhileTheyChange) {
  ExpectWholeUnderChange(/*workspace=*/true, /*paged=*/true);
  ExpectWholeUnderChange(/*workspace=*/true, /*paged=*/false);
}

INSTANTIATE_TEST_SUITE_P(
    Targets, ChurnTest,
    ::testing::Values(Provider{"podio_sim_nocounts",
                               &StartPodioSimWithoutCounts, 5000},
                      Provider{"scim_sim", &StartScimSim, 5000},
                      Provider{"scimmy", &StartScimmy, 1000}),
    [](const ::testing::TestParamInfo<Provider>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace unified::conformance
