// The watched accounts and the roster last observed for each (workspaces,
// members and their roles, user names and e-mails, organization members).
// Each Apply* diffs an observed roster against the stored one and writes the
// new roster and the events it yields (EventLog) in one transaction holding
// the account's row lock: a change is logged exactly once however many hooks
// or polls observe it.
#ifndef SERVICE_WATCH_ROSTER_STORE_H_
#define SERVICE_WATCH_ROSTER_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "service/store/sql.h"
#include "service/watch/watch_records.h"

namespace unified::watch {

// Thread-safe; every method is one transaction.
class RosterStore {
 public:
  explicit RosterStore(SqlDatabase* db) : db_(db) {}

  // Starts watching (idempotent) and returns the state.
  absl::StatusOr<WatchState> Enable(const AccountRef& a, absl::Time now);
  // nullopt when the account is not watched.
  absl::StatusOr<std::optional<WatchState>> State(const AccountRef& a);
  absl::StatusOr<std::vector<AccountRef>> Watched();
  // The tenant's watched accounts whose baseline is done, and those paused
  // (which a scan of the tenant leaves alone).
  absl::StatusOr<std::vector<AccountRef>> WatchedOf(const std::string& tenant);
  // Pauses (`paused`) or resumes the account's watch, logging WATCH_PAUSED
  // or WATCH_RESUMED (Source::kApi); nothing when it already is so.
  // Pausing drops its dirty marks (its hooks must be gone first); resuming
  // makes its poll due at `now`. NOT_FOUND when it is not watched. Returns
  // the events logged.
  absl::StatusOr<std::vector<StoredEvent>> SetPaused(const AccountRef& a,
                                                     bool paused,
                                                     absl::Time now);
  // Watched accounts, and those paused.
  struct Counts {
    int64_t watched = 0;
    int64_t paused = 0;
  };
  absl::StatusOr<Counts> Count();
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
  // The rosters of those accounts whose baseline is done and whose watch is
  // not paused, all at one tseq.
  absl::StatusOr<TenantSnapshot> ReadTenantSnapshot(
      const std::string& tenant, const std::vector<std::string>& accounts);

 private:
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_ROSTER_STORE_H_
