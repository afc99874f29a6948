// What the watch stores keep (watch_store.h), as values: accounts,
// observed rosters, stored events, hooks; and the pure diffs of an observed
// roster against a stored one (roster_diff.cc).
#ifndef SERVICE_WATCH_WATCH_RECORDS_H_
#define SERVICE_WATCH_WATCH_RECORDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "service/store/sql.h"

namespace unified::watch {

using store::SqlConnection;
using store::SqlDatabase;
using store::SqlDialect;
using store::SqlRow;

// Values of unified.v1.DirectoryEvent.Type and .Source, kept as integers in
// the database.
enum class EventType : int {
  kMemberAdded = 1,
  kMemberRemoved = 2,
  kRoleChanged = 3,
  kUserUpdated = 4,
  kWorkspaceAdded = 5,
  kWorkspaceRemoved = 6,
  kOrgMemberAdded = 9,
  kOrgMemberRemoved = 10,
  kUserStatusChanged = 11,
  kOrgRoleChanged = 12,
  // Watching the account was paused, or resumed (RosterStore::SetPaused).
  kWatchPaused = 13,
  kWatchResumed = 14,
};
// kApi: a call to the service (pausing or resuming a watch).
enum class Source : int { kHook = 1, kPoll = 2, kApi = 4 };

struct AccountRef {
  std::string tenant;
  std::string account_id;
  bool operator==(const AccountRef& o) const {
    return tenant == o.tenant && account_id == o.account_id;
  }
  bool operator<(const AccountRef& o) const {
    return tenant != o.tenant ? tenant < o.tenant : account_id < o.account_id;
  }
};

struct ObservedWorkspace {
  std::string id;
  std::string name;
};

struct ObservedMember {
  std::string user_id;
  std::string role_id;
  std::string name;
  std::string email;
};

// What one complete read of a workspace's members changes, worked out
// without the store: the rows to write and the events to log.
struct RosterDiff {
  std::vector<ObservedMember> new_users;      // watch_users rows to add
  std::vector<ObservedMember> renamed_users;  // ... whose name or e-mail moved
  std::vector<ObservedMember> joined;         // watch_members rows to add
  std::vector<ObservedMember> role_changed;   // ... whose role moved
  std::vector<std::string> left;              // ... to delete (user ids)
};

struct StoredEvent {
  std::string account_id;
  int64_t seq = 0;   // In the account's sequence: 1, 2, ... without gaps.
  int64_t tseq = 0;  // In the tenant's sequence (0: logged before it).
  EventType type = EventType::kMemberAdded;
  Source source = Source::kPoll;
  absl::Time at;
  std::string workspace_id;
  std::string workspace_name;
  std::string user_id;
  std::string user_name;
  std::string email;
  std::string role_id;
  std::string previous_role_id;
  // Organization events: the organization, and the member's status
  // (unified.v1.UserStatus values) after and before.
  std::string org_id;
  std::string org_name;
  int status = 0;
  int previous_status = 0;
};

// One member of an organization as its member listing shows it.
struct ObservedOrgMember {
  std::string user_id;
  std::string role_id;  // "organization.admin", ...; "" when not given.
  int status = 0;       // unified.v1.UserStatus.
  std::string name;
  std::string email;
  bool operator==(const ObservedOrgMember& o) const {
    return user_id == o.user_id && role_id == o.role_id && status == o.status &&
           name == o.name && email == o.email;
  }
};

// An organization visible to the account, with its complete member list.
struct ObservedOrg {
  std::string id;
  std::string name;
  std::vector<ObservedOrgMember> members;
};

// The organization members as stored: (org id, user id) -> (org name,
// member).
using StoredOrgMembers = std::map<std::pair<std::string, std::string>,
                                  std::pair<std::string, ObservedOrgMember>>;

// The observed organization members keyed like the stored ones (a member
// listed twice counts once).
StoredOrgMembers Keyed(const std::vector<ObservedOrg>& observed);

// The events that `observed` (every organization visible, each complete)
// makes of `stored`: ORG_MEMBER_ADDED for a new member, ORG_MEMBER_REMOVED
// for a member gone (or whose organization is no longer visible),
// USER_STATUS_CHANGED and ORG_ROLE_CHANGED (in that order) for a member
// whose status or role moved. By organization id, then user id. Pure.
std::vector<StoredEvent> DiffOrgRosters(
    const StoredOrgMembers& stored, const std::vector<ObservedOrg>& observed);

// The diff of `observed` (one workspace's complete member list) against
// `stored` (its members as stored) and `known_users` (the stored name and
// e-mail of those observed users the store has; absent: a new user). Events,
// none for a `baseline`: MEMBER_ADDED, ROLE_CHANGED, MEMBER_REMOVED, and
// USER_UPDATED (workspace-less, once) for a stored member whose name or
// e-mail changed. Members are visited in user-id order; the events of users
// in `order_hint` come first, in its order. Pure: no store, no clock (the
// events' seq, source and time are the log's to set).
std::pair<RosterDiff, std::vector<StoredEvent>> DiffRoster(
    const std::string& workspace_id, const std::string& workspace_name,
    const std::map<std::string, ObservedMember>& stored,
    const std::map<std::string, ObservedMember>& known_users,
    const std::vector<ObservedMember>& observed, bool baseline,
    const std::vector<std::string>& order_hint);

struct WatchState {
  bool baseline_done = false;
  int64_t last_seq = 0;
  absl::Time next_poll;
  // When watching started (ms): sequence numbers restart if the account is
  // unwatched and watched again, so resume tokens name their epoch.
  int64_t epoch = 0;
  // Since when watching is paused (no poll, no hook, no event until it is
  // resumed); nullopt while it is not.
  std::optional<absl::Time> paused;
};

// The roster at one position of the log.
struct Snapshot {
  int64_t seq = 0;
  std::vector<ObservedWorkspace> workspaces;
  // (workspace id, member), members of each workspace together.
  std::vector<std::pair<std::string, ObservedMember>> members;
  // The organization members, by organization.
  StoredOrgMembers org_members;
};

// Rosters of several accounts at one position of the tenant's sequence.
struct TenantSnapshot {
  int64_t tseq = 0;
  // (account id, its roster at its seq), by account id.
  std::vector<std::pair<std::string, Snapshot>> accounts;
};

struct HookRow {
  std::string secret_hash;  // SHA-256 (hex) of the secret in the hook URL.
  AccountRef account;
  std::string workspace_id;
  std::string event_type;  // "member.add", ...
  std::string hook_id;     // The provider's id; "" until it answered.
  absl::Time created;
};

struct DirtyWorkspace {
  AccountRef account;
  std::string workspace_id;
  int64_t gen = 0;
  // Users the deliveries named, in arrival order (bounded; may repeat).
  std::vector<std::string> users;
};

// How long a store transaction waits for the rows it locks.
inline constexpr absl::Duration kStoreLockTimeout = absl::Seconds(10);

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_RECORDS_H_
