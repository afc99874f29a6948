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
#include "tests/conformance/targets.h"
#include "tests/testing/fake_clock.h"
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

constexpr int kChanges = 40;  // Alternately a removal and an addition.


struct Walk {
  std::vector<std::string> ids;
  absl::Status status;
  int64_t calls = 0;
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
    const Truth truth = target_->truth();
    ASSERT_FALSE(truth.organizations.empty());
    me_ = truth.me;
    org_ = *truth.organizations.begin();
    // The largest workspace of that organization's.
    for (const auto& [id, members] : truth.workspace_members) {
      if (!truth.organization_members.at(org_).count(*members.begin())) {
        continue;
      }
      if (workspace_.empty() ||
          members.size() > truth.workspace_members.at(workspace_).size()) {
        workspace_ = id;
      }
    }
  }

  std::set<std::string> Members(const std::string& workspace) {
    const Truth truth = target_->truth();
    return workspace.empty() ? truth.organization_members.at(org_)
                             : truth.workspace_members.at(workspace);
  }

  // The users of the organization (`workspace` "") or a workspace, a page
  // at a time; with `churn`, one change after each of the first kChanges
  // pages.
  Walk List(const std::string& workspace, bool paged, bool churn) {
    // Pages of up to 100, at least 50 of them: every change lands between
    // two.
    const int page_size = std::clamp(
        static_cast<int>(Members(workspace).size()) / 50, 10, 100);
    UserFilter filter;
    filter.organization_id = org_;
    filter.workspace_id = workspace;
    PageRequest start;
    start.limit = page_size;
    CallContext ctx = target_->Context();
    DirectoryConnector& c = target_->connector();
    std::unique_ptr<PageIterator<v1::User>> it =
        paged ? std::make_unique<PagedIterator<v1::User>>(
                    [&](const PageRequest& p) {
                      return c.ListUsers(ctx, filter, p);
                    },
                    start)
              : c.IterateUsers(ctx, filter, start);
    std::vector<std::string> victims;
    if (churn) {
      for (const std::string& id : Members(workspace)) {
        if (id != me_) victims.push_back(id);
      }
    }
    Walk out;
    const int64_t before = target_->Requests();
    Page<v1::User> page;
    for (int n = 0; it->Next(&page); ++n) {
      for (const v1::User& u : page.items) out.ids.push_back(u.id());
      if (churn && n < kChanges) Change(workspace, n, victims);
      if (page.next_page_token.empty()) break;
    }
    out.status = it->status();
    out.calls = target_->Requests() - before;
    return out;
  }

  // Change `n`: a removal of a member spread over the listing's order
  // (most of them before the listing's position by the end), or an
  // addition.
  void Change(const std::string& workspace, int n,
              std::vector<std::string>& victims) {
    if (n % 2 == 0) {
      const size_t at = (static_cast<size_t>(n) * 7919) % victims.size();
      const std::string victim = victims[at];
      victims.erase(victims.begin() + static_cast<long>(at));
      EXPECT_THAT(target_->RemoveMember(org_, workspace, victim), IsOk());
    } else {
      EXPECT_THAT(target_->AddMember(org_, workspace).status(), IsOk());
    }
  }

  void ExpectWholeUnderChange(const std::string& workspace, bool paged) {
    const std::string what = absl::StrCat(
        target_->name(), workspace.empty() ? " organization" : " workspace",
        paged ? " (List)" : " (stream)");
    const Walk calm = List(workspace, paged, false);
    ASSERT_THAT(calm.status, IsOk()) << what;
    const std::set<std::string> before = Members(workspace);
    ASSERT_GT(before.size(), static_cast<size_t>(kChanges) * 10) << what;
    const Walk walk = List(workspace, paged, true);
    const std::set<std::string> after = Members(workspace);
    ASSERT_THAT(walk.status, IsOk()) << what;
    // The changes happened (a member removed may be added back).
    int left = 0, joined = 0;
    for (const std::string& id : before) left += after.count(id) ? 0 : 1;
    for (const std::string& id : after) joined += before.count(id) ? 0 : 1;
    EXPECT_GE(left, kChanges / 2 - 2) << what;
    EXPECT_GE(joined, kChanges / 2 - 2) << what;
    const std::set<std::string> listed(walk.ids.begin(), walk.ids.end());
    EXPECT_EQ(listed.size(), walk.ids.size()) << what << ": a member twice";
    int missing = 0, strangers = 0;
    for (const std::string& id : before) {
      if (after.count(id) && !listed.count(id)) ++missing;
    }
    for (const std::string& id : listed) {
      if (!before.count(id) && !after.count(id)) ++strangers;
    }
    EXPECT_EQ(missing, 0) << what << ": members present throughout missed";
    EXPECT_EQ(strangers, 0) << what << ": never members, yet listed";
    std::printf(
        "%s: %zu members, %lld calls unchanged, %lld under change "
        "(%lld for the repair)\n",
        what.c_str(), before.size(), static_cast<long long>(calm.calls),
        static_cast<long long>(walk.calls),
        static_cast<long long>(walk.calls - calm.calls));
  }

  FakeClock clock_;
  JumpingClock jumping_{&clock_};
  RateBudgetOptions budget_options_{100000000, 100000000};
  std::unique_ptr<RateLedger> ledger_;
  std::unique_ptr<RateBudget> budget_;
  std::unique_ptr<Target> target_;
  std::string me_, org_, workspace_;
};

TEST_P(ChurnTest, AnOrganizationsMembersListedWhileTheyChange) {
  ExpectWholeUnderChange("", /*paged=*/true);
  ExpectWholeUnderChange("", /*paged=*/false);
}

TEST_P(ChurnTest, AWorkspacesMembersListedWhileTheyChange) {
  if (const std::string why = target_->Shortfall(Case::kWorkspaceMembers);
      !why.empty()) {
    // Declared: the listing fails (cleanly) rather than list anyone.
    Walk walk = List(workspace_, true, false);
    EXPECT_FALSE(walk.status.ok()) << why;
    return;
  }
  ExpectWholeUnderChange(workspace_, /*paged=*/true);
  ExpectWholeUnderChange(workspace_, /*paged=*/false);
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
