// Listings while another administrator changes the directory under them
// (churn_test.cc checks them; tools/bench/listing_churn.cc reports their
// cost): a walk of an organization's or a workspace's members, page after
// page, with a change after each of the first pages, and what it got right.
#ifndef TESTS_CONFORMANCE_CHURN_H_
#define TESTS_CONFORMANCE_CHURN_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/conformance/targets.h"

namespace unified::conformance {

// Changes a churned walk makes: alternately a removal and an addition.
inline constexpr int kChurnChanges = 40;

// Where a walk lists: an organization's members (`workspace` "") or a
// workspace's, as `me` (never removed).
struct ChurnScope {
  std::string me;
  std::string org;
  std::string workspace;
};

// The organization the target's account sees first, and its largest
// workspace.
ChurnScope LargestScopes(Target& target);

// The scope's members now, by the target's truth.
std::set<std::string> MembersOf(Target& target, const ChurnScope& scope);

struct ChurnWalk {
  std::vector<std::string> ids;  // As listed, in order.
  absl::Status status;
  int64_t calls = 0;  // Upstream requests the walk made.
  // The members before the walk and after it.
  std::set<std::string> before, after;
  // Of the members present throughout, those not listed; listed ids that
  // were never members; ids listed more than once.
  int missing = 0, strangers = 0, repeated = 0;
  // Members that left and joined meanwhile.
  int left = 0, joined = 0;
};

// Lists the scope's members through List pages (`paged`) or the stream, in
// pages of up to 100 (at least 50 of them); with `churn`, one change after
// each of the first kChurnChanges pages. Counts what it got right.
ChurnWalk WalkMembers(Target& target, const ChurnScope& scope, bool paged,
                      bool churn);

}  // namespace unified::conformance

#endif  // TESTS_CONFORMANCE_CHURN_H_
