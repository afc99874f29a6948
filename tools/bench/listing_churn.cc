// What listings under change cost (docs/benchmarks.md, "Listings under
// change"): each provider kind's organization and workspace member
// listings, through List pages and through the stream, walked once with
// nothing changing and once while another administrator adds 20 members and
// removes 20 (tools/conformance/churn.h), side by side in one run. It
// reports the upstream calls of each and the difference, the calls spent on
// repair, and checks that the listing under change was whole (nobody
// present throughout missed, nobody twice, no stranger): a figure from a
// wrong listing is not reported.
//
//   bazel run -c opt //tools/bench:listing_churn -- --members=5000
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/rate_budget.h"
#include "tools/conformance/churn.h"
#include "tools/conformance/targets.h"
#include "tools/testing/fake_clock.h"
#include "tools/bench/report.h"

ABSL_FLAG(int, members, 5000,
          "Members of the listed organization (SCIMMY, which rebuilds every "
          "resource on each request, gets a fifth).");
ABSL_FLAG(bool, scimmy, true, "Include SCIMMY (needs node and tools/setup).");

namespace unified::conformance {
namespace {

using Starter = absl::StatusOr<std::unique_ptr<Target>> (*)(const Harness&);

int Run(Starter start, int members) {
  // Backoffs and waits pass at once, on a clock that jumps.
  testing::FakeClock fake;
  testing::JumpingClock clock(&fake);
  RateBudgetOptions budget_options{100000000, 100000000};
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(budget_options);
  RateBudget budget(ledger.get(), &clock, budget_options);
  absl::StatusOr<std::unique_ptr<Target>> target =
      start(Harness{&clock, &budget, members});
  if (!target.ok()) {
    std::fprintf(stderr, "target: %s\n", target.status().ToString().c_str());
    return 1;
  }
  const ChurnScope scopes = LargestScopes(**target);
  int failures = 0;
  for (const bool workspace : {false, true}) {
    ChurnScope scope = scopes;
    if (!workspace) scope.workspace.clear();
    for (const bool paged : {true, false}) {
      const ChurnWalk calm = WalkMembers(**target, scope, paged, false);
      const ChurnWalk walk = WalkMembers(**target, scope, paged, true);
      const bool whole = calm.status.ok() && walk.status.ok() &&
                         walk.missing == 0 && walk.repeated == 0 &&
                         walk.strangers == 0;
      if (!whole) {
        ++failures;
        std::printf(
            "%-18s %-12s %-6s NOT WHOLE: %s / %s, missing %d, "
            "twice %d, strangers %d\n",
            (*target)->name().c_str(), workspace ? "workspace" : "organization",
            paged ? "List" : "stream", calm.status.ToString().c_str(),
            walk.status.ToString().c_str(), walk.missing, walk.repeated,
            walk.strangers);
        continue;
      }
      std::printf(
          "%-18s %-12s %-6s %6zu members %4lld calls unchanged "
          "%4lld under change %4lld repair (x%.2f)\n",
          (*target)->name().c_str(), workspace ? "workspace" : "organization",
          paged ? "List" : "stream", walk.before.size(),
          static_cast<long long>(calm.calls),
          static_cast<long long>(walk.calls),
          static_cast<long long>(walk.calls - calm.calls),
          static_cast<double>(walk.calls) /
              static_cast<double>(std::max<int64_t>(1, calm.calls)));
      bench::Report(bench::Versus(
          absl::StrCat("churn: ", (*target)->name(), ", ",
                       workspace ? "workspace" : "organization", ", ",
                       paged ? "List" : "stream", ", calls under change"),
          static_cast<double>(walk.calls), "calls",
          static_cast<double>(calm.calls), "the same listing unchanged"));
    }
  }
  return failures;
}

}  // namespace
}  // namespace unified::conformance

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace unified::conformance;  // NOLINT
  const int members = absl::GetFlag(FLAGS_members);
  std::printf(
      "listings of about %d members; %d changes each (20 added, 20 "
      "removed)\n",
      members, kChurnChanges);
  int failures = Run(&StartPodioSimWithoutCounts, members);
  failures += Run(&StartScimSim, members);
  if (absl::GetFlag(FLAGS_scimmy)) {
    failures += Run(&StartScimmy, std::max(1000, members / 5));
  }
  return failures == 0 ? 0 : 1;
}
