// The provider targets of the connector conformance suite
// (conformance_test.cc): each serves a directory over loopback, knows that
// directory's truth from its own data (never from a connector), and can fail
// a chosen request on demand.
//
//   podio_sim   our Podio simulator (tools/podio_sim), in process, with
//               member counts and without (the recorded real shape);
//   scim_sim    our SCIM simulator (tools/scim_sim), in process;
//   scimmy      SCIMMY and its Express routers (third-party npm packages)
//               in a Node process, seeded by tools/conformance/scimmy.
#ifndef TESTS_CONFORMANCE_TARGETS_H_
#define TESTS_CONFORMANCE_TARGETS_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "connectors/common/call_context.h"
#include "connectors/common/clock.h"
#include "connectors/connector.h"

namespace unified::conformance {

// The directory as the target holds it, in unified ids.
struct Truth {
  std::string me;
  std::set<std::string> organizations;
  // Every user a listing without filters returns, with their display name
  // and e-mails (lowercase).
  std::map<std::string, std::string> names;
  std::map<std::string, std::vector<std::string>> emails;
  // Each workspace's members.
  std::map<std::string, std::set<std::string>> workspace_members;
  // Each organization's members (invitations included).
  std::map<std::string, std::set<std::string>> organization_members;
};

// Faults a target can put on one request of its API.
enum class Fault {
  kServerError,
  kReset,
  kRateLimit,
  kUnauthorized,
  kTruncated
};
const char* FaultName(Fault fault);

// What a connector may be unable to meet on a target; the suite then checks
// that it fails as declared, so a fix shows as a declaration to remove.
enum class Case { kWorkspaceMembers };

class Target {
 public:
  virtual ~Target() = default;
  virtual absl::Status Start() = 0;
  virtual std::string name() const = 0;
  virtual DirectoryConnector& connector() = 0;
  // A call's context: the target's credentials, the given budget.
  virtual CallContext Context() = 0;
  virtual Truth truth() = 0;
  // API requests the target has served so far.
  virtual int64_t Requests() = 0;
  virtual bool CanInject(Fault fault) const = 0;
  // The (skip + 1)-th API request from now fails with `fault`, once.
  virtual absl::Status Inject(Fault fault, int64_t skip) = 0;
  virtual void ClearFaults() = 0;
  // Why the connector cannot meet `c` on this target; "" when it can.
  virtual std::string Shortfall(Case c) const { return ""; }
  // Token refreshes asked so far.
  virtual int refreshes() const = 0;

  // What another administrator does while a listing runs (churn_test.cc),
  // through the provider's own means: a member added to the organization
  // `org` (`workspace_id` "") or to a workspace, at a place in the listing's
  // order that moves from call to call, returning the member's id; and a
  // member removed.
  virtual absl::StatusOr<std::string> AddMember(
      const std::string& org, const std::string& workspace_id) = 0;
  virtual absl::Status RemoveMember(const std::string& org,
                                    const std::string& workspace_id,
                                    const std::string& user_id) = 0;
};

// Shared by every target: the clock the pipelines back off on (jumping
// the fake clock instead of sleeping) and the budget's.
struct Harness {
  Clock* clock = nullptr;        // Pipelines' (jumps).
  RateBudget* budget = nullptr;  // Calls' budget.
  // Users in the directory (about that many per Podio organization); 0:
  // the target's own small default.
  int users = 0;
};

// The users of `filter` page after page from `start`: through the paged
// List call (`paged`) or the connector's stream. `c`, `ctx` and `filter`
// outlive the iterator.
std::unique_ptr<PageIterator<v1::User>> UserPages(DirectoryConnector& c,
                                                  CallContext& ctx,
                                                  const UserFilter& filter,
                                                  const PageRequest& start,
                                                  bool paged);

absl::StatusOr<std::unique_ptr<Target>> StartPodioSim(const Harness& harness);
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimWithoutCounts(
    const Harness& harness);
// Without counts, and its pages silently capped at 100 rows (what several
// sources give as Podio's largest limit).
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimCapped(
    const Harness& harness);
// Space member rows with the account under `user` and the profile under
// `profile`.
absl::StatusOr<std::unique_ptr<Target>> StartPodioSimProfiles(
    const Harness& harness);
absl::StatusOr<std::unique_ptr<Target>> StartScimSim(const Harness& harness);
absl::StatusOr<std::unique_ptr<Target>> StartScimmy(const Harness& harness);

}  // namespace unified::conformance

#endif  // TESTS_CONFORMANCE_TARGETS_H_
