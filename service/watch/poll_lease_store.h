// The reconciliation poll's schedule: which watched accounts are due, the
// lease that lets one replica poll an account at a time, and the calls the
// poll spent (its share of the account's rate budget).
#ifndef SERVICE_WATCH_POLL_LEASE_STORE_H_
#define SERVICE_WATCH_POLL_LEASE_STORE_H_

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
class PollLeaseStore {
 public:
  explicit PollLeaseStore(SqlDatabase* db) : db_(db) {}

  // Watched accounts whose poll is due and not leased (ClaimPoll decides),
  // the longest due first, at most 1,000. `oldest_due` (optional) is set to
  // the earliest due time among them.
  absl::StatusOr<std::vector<AccountRef>> DuePolls(
      absl::Time now, absl::Time* oldest_due = nullptr);
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
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_POLL_LEASE_STORE_H_
