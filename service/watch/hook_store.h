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
  // Drops the dirty mark of generation `gen` (a later mark stays).
  absl::Status ClearDirty(const AccountRef& a, const std::string& workspace_id,
                          int64_t gen);

 private:
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_HOOK_STORE_H_
