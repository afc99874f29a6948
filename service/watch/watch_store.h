// The durable side of WatchDirectory, in the credential store's database
// (schema version 5 and later, SQLite or PostgreSQL): which accounts are
// watched, the roster last observed for each (workspaces, members and their
// roles, user names and e-mails), the event log, the hooks registered at the
// provider, workspaces a hook marked dirty, and the reconciliation poll's
// calls.
//
// Every change is found by diffing an observed roster against the stored
// one, and the diff, the new roster and the events it yields are written in
// one transaction that holds the account's row lock. So a change is logged
// exactly once however many hooks or polls observe it, sequence numbers have
// no gaps, and replicas sharing PostgreSQL write one log.
//
// Each event also has a number in its tenant's sequence (tseq), taken under
// the tenant's row lock in the same transaction: events of all a tenant's
// accounts in the order they were committed, which one position (a
// tenant-wide resume token) can resume. It has gaps only where events were
// pruned, which the accounts' pruned_tseq records.
#ifndef SERVICE_WATCH_WATCH_STORE_H_
#define SERVICE_WATCH_WATCH_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
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
};
enum class Source : int { kHook = 1, kPoll = 2 };

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

// Thread-safe; every method is one transaction. The hooks, dirty workspaces
// and poll leases are defined in watch_work.cc, the rest in watch_store.cc.
class WatchStore {
 public:
  explicit WatchStore(SqlDatabase* db) : db_(db) {}

  // Starts watching (idempotent) and returns the state.
  absl::StatusOr<WatchState> Enable(const AccountRef& a, absl::Time now);
  // nullopt when the account is not watched.
  absl::StatusOr<std::optional<WatchState>> State(const AccountRef& a);
  absl::StatusOr<std::vector<AccountRef>> Watched();
  // Watched accounts whose poll is due and not leased (ClaimPoll decides).
  // `oldest_due` (optional) is set to the earliest due time among them.
  absl::StatusOr<std::vector<AccountRef>> DuePolls(
      absl::Time now, absl::Time* oldest_due = nullptr);
  // Forgets everything about the account (its hooks must be gone first).
  absl::Status Disable(const AccountRef& a);

  // Diffs the workspaces visible to the account against the stored ones.
  // New workspaces are stored and logged as WORKSPACE_ADDED (their members
  // come with ApplyMembers); vanished ones log MEMBER_REMOVED for each member
  // and then WORKSPACE_REMOVED. With `baseline`, stores without logging.
  // Returns the events appended.
  absl::StatusOr<std::vector<StoredEvent>> ApplyWorkspaces(
      const AccountRef& a, const std::vector<ObservedWorkspace>& visible,
      Source source, absl::Time now, bool baseline);
  // Diffs one workspace's complete member list against the stored one:
  // MEMBER_ADDED, ROLE_CHANGED, MEMBER_REMOVED, and USER_UPDATED when a
  // member's name or e-mail changed. Ignored (no events) when the workspace
  // is not stored, e.g. removed meanwhile. Clears the dirty mark of that
  // generation when `clear_dirty_gen` > 0. Events of users in `order_hint`
  // come first, in its order (hook deliveries' arrival); the rest by user
  // id.
  absl::StatusOr<std::vector<StoredEvent>> ApplyMembers(
      const AccountRef& a, const std::string& workspace_id,
      const std::vector<ObservedMember>& members, Source source, absl::Time now,
      bool baseline, int64_t clear_dirty_gen = 0,
      const std::vector<std::string>& order_hint = {});
  // Diffs every organization's complete member list against the stored
  // ones (DiffOrgRosters), stores the observed rosters and logs the events
  // (none with `baseline`). Returns the events appended.
  absl::StatusOr<std::vector<StoredEvent>> ApplyOrgMembers(
      const AccountRef& a, const std::vector<ObservedOrg>& observed,
      Source source, absl::Time now, bool baseline);
  absl::Status MarkBaselineDone(const AccountRef& a, absl::Time next_poll);

  absl::StatusOr<Snapshot> ReadSnapshot(const AccountRef& a);
  // Events with seq > after, oldest first, at most `limit`.
  absl::StatusOr<std::vector<StoredEvent>> ReadEvents(const AccountRef& a,
                                                      int64_t after, int limit);
  // The smallest seq still kept; last_seq + 1 when the log is empty.
  absl::StatusOr<int64_t> FirstKeptSeq(const AccountRef& a);
  // Drops events beyond the newest `keep` and those older than `before`
  // (the newest event always stays, so resuming from it works), and
  // raises the account's pruned_tseq to the highest tseq dropped.
  absl::Status Prune(const AccountRef& a, int64_t keep, absl::Time before);

  // Tenant-wide reading. `accounts` names some of the tenant's accounts;
  // empty means all of them.
  //
  // The tenant's last tseq (0 before its first event).
  absl::StatusOr<int64_t> TenantPosition(const std::string& tenant);
  // Events of those accounts with tseq > after_tseq, in tseq order, at most
  // `limit`.
  absl::StatusOr<std::vector<StoredEvent>> ReadTenantEvents(
      const std::string& tenant, const std::vector<std::string>& accounts,
      int64_t after_tseq, int limit);
  // The highest tseq pruned from those accounts' logs (0: none): a reader
  // whose position is below it has lost events.
  absl::StatusOr<int64_t> PrunedThrough(
      const std::string& tenant, const std::vector<std::string>& accounts);
  // The rosters of those accounts whose baseline is done, all at one tseq.
  absl::StatusOr<TenantSnapshot> ReadTenantSnapshot(
      const std::string& tenant, const std::vector<std::string>& accounts);
  // The tenant's watched accounts whose baseline is done.
  absl::StatusOr<std::vector<AccountRef>> WatchedOf(const std::string& tenant);

  absl::Status PutHook(const HookRow& row);
  absl::Status SetHookId(const std::string& secret_hash,
                         const std::string& hook_id);
  absl::StatusOr<std::optional<HookRow>> FindHook(
      const std::string& secret_hash);
  absl::StatusOr<std::vector<HookRow>> Hooks(const AccountRef& a);
  absl::Status DeleteHook(const std::string& secret_hash);

  // A hook said the workspace changed (for `user_id`, "" when it did not
  // say): marks it, bumping its generation and noting the user.
  absl::Status MarkDirty(const AccountRef& a, const std::string& workspace_id,
                         absl::Time now, const std::string& user_id = "");
  // Dirty workspaces not leased by another worker, leased to the caller
  // until now + lease, oldest mark first.
  absl::StatusOr<std::vector<DirtyWorkspace>> ClaimDirty(absl::Time now,
                                                         absl::Duration lease,
                                                         int limit);

  // Drops the dirty mark of generation `gen` (a later mark stays).
  absl::Status ClearDirty(const AccountRef& a, const std::string& workspace_id,
                          int64_t gen);

  // Leases the account's poll when due (next_poll <= now) and not leased.
  absl::StatusOr<bool> ClaimPoll(const AccountRef& a, absl::Time now,
                                 absl::Duration lease);
  absl::Status FinishPoll(const AccountRef& a, absl::Time next_poll);
  // Makes every watched account's poll due at `now` (after a store outage,
  // when hooks may have missed changes or been switched off).
  absl::Status PollAllNow(absl::Time now);
  // Takes the poll's lease whether or not a poll is due (false while a poll
  // holds it), so that no poll runs, e.g. while the account is unwatched.
  absl::StatusOr<bool> TakePollLease(const AccountRef& a, absl::Time now,
                                     absl::Duration lease);
  // The poll's provider calls: counted since `since`, and one recorded.
  absl::StatusOr<int64_t> PollCallsSince(const AccountRef& a, absl::Time since);
  absl::Status RecordPollCall(const AccountRef& a, absl::Time at,
                              absl::Time forget_before);

 private:
  absl::StatusOr<std::vector<AccountRef>> Accounts(
      absl::string_view where, const std::vector<std::string>& params);

  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_STORE_H_
