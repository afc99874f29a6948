// Reading and pruning the event log: each watched account's events in its
// own sequence (seq, without gaps), and each tenant's in one sequence
// (tseq) that a tenant-wide resume token can resume. The events are
// written by RosterStore, with the roster change that yields them
// (watch_sql.h, LogWriter).
#ifndef SERVICE_WATCH_EVENT_LOG_H_
#define SERVICE_WATCH_EVENT_LOG_H_

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
class EventLog {
 public:
  explicit EventLog(SqlDatabase* db) : db_(db) {}

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

 private:
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_EVENT_LOG_H_
