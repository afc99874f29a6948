// The SQL the watch stores share (roster_store.h, event_log.h,
// hook_store.h, poll_lease_store.h): the account's watch row, the writer of
// the event log, and reading events. Internal to service/watch.
#ifndef SERVICE_WATCH_WATCH_SQL_H_
#define SERVICE_WATCH_WATCH_SQL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/store/sql.h"
#include "service/watch/watch_records.h"

namespace unified::watch {

using store::InTransaction;
using store::SqlInt;
using store::SqlMillis;
using store::SqlText;
using store::SqlTime;

constexpr absl::Duration kLockTimeout = kStoreLockTimeout;

// Appends events to the log inside a transaction that holds the account row.
// The first event also locks the tenant's row (always after an account's, so
// the order of locks is the same everywhere) and takes the next numbers of
// the tenant's sequence: transactions that log for one tenant commit one
// after another, in tseq order, so a reader past tseq N never finds an
// event numbered N or less appearing later.
class LogWriter {
 public:
  LogWriter(SqlConnection& c, const SqlDialect& dialect, const AccountRef& a,
            int64_t last_seq, Source source, absl::Time now)
      : c_(c),
        dialect_(dialect),
        a_(a),
        seq_(last_seq),
        source_(source),
        now_(now) {}

  absl::Status Append(StoredEvent e);
  absl::Status Finish();
  std::vector<StoredEvent> Take() { return std::move(events_); }

 private:
  // The tenant's last tseq, its row locked (created when missing).
  absl::StatusOr<int64_t> LockTenant();

  SqlConnection& c_;
  const SqlDialect& dialect_;
  const AccountRef& a_;
  int64_t seq_;
  int64_t tseq_ = -1;  // Unknown until the first event.
  Source source_;
  absl::Time now_;
  std::vector<StoredEvent> events_;
};

// The account's watch row, locked with `lock_suffix` (the dialect's
// for_update inside a transaction, "" for a plain read); nullopt when the
// account is not watched.
absl::StatusOr<std::optional<WatchState>> ReadState(
    SqlConnection& c, absl::string_view lock_suffix, const AccountRef& a);

absl::StatusOr<std::optional<WatchState>> LockState(SqlConnection& c,
                                                    const SqlDialect& dialect,
                                                    const AccountRef& a);

std::vector<StoredEvent> ReadEventRows(const std::vector<SqlRow>& rows);

// " AND account_id IN ($k, ...)" for `accounts` appended to `params`; ""
// for none (every account).
std::string AccountsIn(const std::vector<std::string>& accounts,
                       std::vector<std::string>* params);

// Runs `change` in one transaction holding the watched account's row lock
// (NOT_FOUND when it is not watched): what it writes and the events it logs
// (as `source`, at `now`) land together. Returns the events logged. While
// the watch is paused, only a change of Source::kApi runs; others are
// dropped (no events).
absl::StatusOr<std::vector<StoredEvent>> ChangeLocked(
    SqlDatabase* db, const AccountRef& a, Source source, absl::Time now,
    const std::function<absl::Status(SqlConnection& conn, LogWriter& log)>&
        change);

// The watched accounts matching `where` (a WHERE clause ending in a space,
// or ""), by tenant and account id.
absl::StatusOr<std::vector<AccountRef>> AccountsWhere(
    SqlDatabase* db, absl::string_view where,
    const std::vector<std::string>& params);

// Columns of watch_events as ReadEventRows reads them, ending in "FROM
// watch_events ".
extern const char kEventColumns[];

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_SQL_H_
