// The hooks registered at the provider for watched accounts, and the
// workspaces a hook delivery marked for reconciliation, leased to one
// worker at a time.
#ifndef SERVICE_WATCH_HOOK_STORE_H_
#define SERVICE_WATCH_HOOK_STORE_H_

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
class HookStore {
 public:
  explicit HookStore(SqlDatabase* db) : db_(db) {}

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
  // What the provider refused the account (`what`, e.g. "hooks:<workspace>":
  // it is no admin there), not to be asked again before `until`.
  absl::Status Refuse(const AccountRef& a, const std::string& what,
                      absl::Time until);
  // Whether a refusal of `what` holds at `now`. A lapsed one reads as none
  // (the provider is asked again); a new refusal replaces it. Rows go with
  // the account's watch (RosterStore::Disable).
  absl::StatusOr<bool> Refused(const AccountRef& a, const std::string& what,
                               absl::Time now);
  // Drops the dirty mark of generation `gen` (a later mark stays).
  absl::Status ClearDirty(const AccountRef& a, const std::string& workspace_id,
                          int64_t gen);

 private:
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_HOOK_STORE_H_
