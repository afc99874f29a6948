// Hook deliveries acknowledged while the store could not take them. A
// provider that meets errors gives up on a hook (Podio marks it inactive
// after three), so a short store outage would switch hooks off; instead a
// delivery whose hook the engine knows is written here, fsync'd before the
// 2xx answer, and replayed into the store (HookStore::MarkDirty) once it
// answers again. One file in the data directory, a line per delivery.
// Bounded: past `max_entries` a delivery is refused (the provider retries).
// Thread-safe.
#ifndef SERVICE_WATCH_HOOK_SPOOL_H_
#define SERVICE_WATCH_HOOK_SPOOL_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/watch/watch_store.h"

namespace unified::watch {

// What marking a workspace dirty needs (HookStore::MarkDirty's arguments).
struct SpooledDelivery {
  AccountRef account;
  std::string workspace_id;
  std::string user_id;
  absl::Time at;
};

class HookSpool {
 public:
  // Opens (creating, 0600) the spool at `path`; what an earlier process left
  // in it is kept for Replay. A damaged line is skipped when read.
  static absl::StatusOr<std::unique_ptr<HookSpool>> Open(
      std::string path, int max_entries = 100000);

  // Appends `d` durably (written and fsync'd). RESOURCE_EXHAUSTED when full,
  // UNAVAILABLE when the file cannot be written.
  absl::Status Add(const SpooledDelivery& d);

  // Hands every entry to `mark`, oldest first, until one fails; those taken
  // leave the spool. The number taken.
  absl::StatusOr<int> Replay(
      const std::function<absl::Status(const SpooledDelivery&)>& mark);

  int size() const;

 private:
  HookSpool(std::string path, int max_entries, int entries);

  const std::string path_;
  const int max_entries_;
  mutable absl::Mutex mu_;
  int entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_HOOK_SPOOL_H_
