// The reconciliation poll's schedule: which watched accounts are due, the
// lease that lets one replica poll an account at a time, and the calls the
// poll spent (its share of the account's rate budget).
//
// The calls are kept on the account's row, one entry per poll of the last
// hour (PollLedger): read when the poll's lease is taken, written when it
// ends. A poll counts its own calls in memory meanwhile, so a provider call
// costs no transaction; the lease makes the poll the row's only writer.
#ifndef SERVICE_WATCH_POLL_LEASE_STORE_H_
#define SERVICE_WATCH_POLL_LEASE_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/store/sql.h"
#include "service/watch/watch_records.h"

namespace unified::watch {

// The provider calls an account's polls spent, by poll, over the last hour.
struct PollLedger {
  // (when the poll ended, its calls), oldest first.
  std::vector<std::pair<absl::Time, int64_t>> polls;

  // Calls of the polls that ended after `since`.
  int64_t CallsSince(absl::Time since) const;
  // Adds a poll's calls (none: nothing) and forgets polls that ended at or
  // before `forget_before`.
  void Add(absl::Time at, int64_t calls, absl::Time forget_before);
  // "<unix ms>:<calls>,..." as the row keeps it; Decode reads what Encode
  // wrote, and skips an entry it cannot read (it counts no call).
  std::string Encode() const;
  static PollLedger Decode(absl::string_view text);
};

// Thread-safe; every method is one transaction.
class PollLeaseStore {
 public:
  explicit PollLeaseStore(SqlDatabase* db) : db_(db) {}

  // Watched accounts whose poll is due and not leased (ClaimPoll decides),
  // the longest due first, at most 1,000. `oldest_due` (optional) is set to
  // the earliest due time among them.
  absl::StatusOr<std::vector<AccountRef>> DuePolls(
      absl::Time now, absl::Time* oldest_due = nullptr);
  // Leases the account's poll when due (next_poll <= now) and not leased:
  // then the calls its polls spent (nullopt: not leased).
  absl::StatusOr<std::optional<PollLedger>> ClaimPoll(const AccountRef& a,
                                                      absl::Time now,
                                                      absl::Duration lease);
  // Ends the poll's lease; with `ledger`, also stores the calls spent.
  absl::Status FinishPoll(const AccountRef& a, absl::Time next_poll,
                          const PollLedger* ledger = nullptr);
  // Makes every watched account's poll due at `now` (after a store outage,
  // when hooks may have missed changes or been switched off).
  absl::Status PollAllNow(absl::Time now);
  // Takes the poll's lease whether or not a poll is due (false while a poll
  // holds it), so that no poll runs, e.g. while the account is unwatched.
  absl::StatusOr<bool> TakePollLease(const AccountRef& a, absl::Time now,
                                     absl::Duration lease);

 private:
  SqlDatabase* const db_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_POLL_LEASE_STORE_H_
