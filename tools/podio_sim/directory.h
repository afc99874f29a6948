// The simulator's directory: organizations, spaces, users and memberships,
// generated deterministically from a seed, then changed by the write routes.
//
// Sizes up to 1,000,000 users are supported: members of each organization and
// space are kept sorted by (name, user_id), so an unfiltered page costs time in
// proportion to the page, not to the data.
#ifndef TOOLS_PODIO_SIM_DIRECTORY_H_
#define TOOLS_PODIO_SIM_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

struct GeneratorOptions {
  uint64_t seed = 1;              // Same seed and sizes: same directory.
  int orgs = 2;                   // Organizations.
  int spaces_per_org = 3;         // Spaces (workspaces) in each organization.
  int users = 50;                 // Users, including the two principals.
  double multi_org_share = 0.1;   // Users who also belong to a second org.
  double invited_share = 0.03;    // Org memberships still pending (invited).
  double ended_share = 0.02;      // Space memberships that have ended.
  int max_spaces_per_member = 3;  // Spaces each org member joins (0..max).
  absl::Time epoch = absl::FromUnixSeconds(1420070400);  // 2015-01-01 UTC.
};

// The two principals every generated directory has:
// - kAdminUserIndex: admin of every organization and every space (the demo
//   user; sees everything);
// - kRegularUserIndex: a regular member of the first organization and its
//   first space only (not an org admin: org member listings answer 403).
inline constexpr int kAdminUserIndex = 0;
inline constexpr int kRegularUserIndex = 1;

struct SimUser {
  int64_t user_id = 0;
  int64_t profile_id = 0;
  std::string name;
  std::string mail;
  std::string status = "active";  // "active" | "inactive" (invited only).
  std::string locale = "en_US";
  std::string timezone = "Europe/Copenhagen";
  std::string title;
  std::string phone;
  int64_t avatar = 0;  // File id; 0 = none.
  absl::Time created_on;
  absl::Time last_seen_on;
};

struct OrgMembership {
  int64_t user_id = 0;
  std::string role = "regular";  // "regular" | "admin".
  bool employee = true;
  bool invited = false;  // Pending invitation: limited user data.
};

struct SimOrg {
  int64_t org_id = 0;
  std::string name;
  std::string url_label;
  std::string type = "premium";  // "free" | "sponsored" | "premium".
  std::string status = "active";
  std::vector<std::string> domains;
  int64_t user_limit = 0;  // 0 = unlimited.
  int64_t logo = 0;
  int64_t created_by = 0;  // user id
  absl::Time created_on;
  std::vector<int64_t> space_ids;
  // Current members (active and invited) by user id, and their ids sorted by
  // (name, user_id).
  absl::flat_hash_map<int64_t, OrgMembership> members;
  std::vector<int64_t> member_order;
};

struct SpaceMembership {
  int64_t user_id = 0;
  std::string role = "regular";  // "light" | "regular" | "admin".
  absl::Time invited_on;
  absl::Time started_on;
  std::optional<absl::Time> ended_on;  // Set once the membership ended.
  int64_t grants = 0;
};

struct SimSpace {
  int64_t space_id = 0;
  int64_t org_id = 0;
  std::string name;
  std::string url_label;
  std::string description;
  std::string privacy = "closed";  // "open" | "closed".
  bool archived = false;
  int64_t created_by = 0;
  absl::Time created_on;
  // Every membership ever (active and ended) by user id; active member ids
  // sorted by (name, user_id).
  absl::flat_hash_map<int64_t, SpaceMembership> members;
  std::vector<int64_t> member_order;
};

// Plain data; the simulator guards it with one reader/writer lock.
struct Directory {
  std::vector<SimUser> users;  // Sorted by user id.
  absl::flat_hash_map<int64_t, size_t> user_index;
  std::vector<int64_t> users_by_name;  // All user ids, by (name, user_id).
  std::map<int64_t, SimOrg> orgs;
  std::map<int64_t, SimSpace> spaces;
  std::map<std::string, int64_t> user_by_mail;

  const SimUser* FindUser(int64_t user_id) const;
  SimOrg* FindOrg(int64_t org_id);
  const SimOrg* FindOrg(int64_t org_id) const;
  SimSpace* FindSpace(int64_t space_id);
  const SimSpace* FindSpace(int64_t space_id) const;

  // Whether `user_id` is an active (not invited) member of the org.
  bool IsOrgMember(int64_t org_id, int64_t user_id) const;
  bool IsOrgAdmin(int64_t org_id, int64_t user_id) const;
  // Active (started, not ended) space membership, or null.
  const SpaceMembership* ActiveSpaceMembership(int64_t space_id,
                                               int64_t user_id) const;
  // Number of active memberships `user_id` has in spaces of `org_id`.
  int SpaceMembershipsInOrg(int64_t org_id, int64_t user_id) const;
  // Whether two users share an organization (both active members).
  bool ShareAnOrg(int64_t a, int64_t b) const;

  // Orders `ids` by (name, user_id) of the users they name.
  void SortByName(std::vector<int64_t>& ids) const;
  // Inserts `user_id` into a (name, user_id)-sorted id list.
  void InsertSorted(std::vector<int64_t>& ids, int64_t user_id) const;
};

// Builds the directory for `options`. Deterministic: equal options give equal
// directories, on any machine.
Directory GenerateDirectory(const GeneratorOptions& options);

// Id ranges. User ids start beyond 32 bits so that int64 handling is tested.
inline constexpr int64_t kFirstUserId = 5'000'000'000;
inline constexpr int64_t kFirstProfileId = 9'000'000'000;
inline constexpr int64_t kFirstOrgId = 1'000;
inline constexpr int64_t kFirstSpaceId = 2'200'000'000;

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_DIRECTORY_H_
