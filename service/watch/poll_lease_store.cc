#include "service/watch/poll_lease_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"
#include "service/watch/watch_sql.h"

namespace unified::watch {
absl::StatusOr<std::vector<AccountRef>> PollLeaseStore::DuePolls(
    absl::Time now, absl::Time* oldest_due) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT tenant, account_id, next_poll_ms FROM watch_accounts "
               "WHERE baseline_done = 1 AND next_poll_ms <= $1 AND "
               "poll_lease_ms <= $1 ORDER BY next_poll_ms, tenant, "
               "account_id LIMIT 1000",
               {SqlMillis(now)}));
  std::vector<AccountRef> out;
  for (const SqlRow& r : rows) {
    out.push_back({SqlText(r[0]), SqlText(r[1])});
    if (oldest_due != nullptr) {
      *oldest_due = std::min(*oldest_due, absl::FromUnixMillis(SqlInt(r[2])));
    }
  }
  return out;
}

absl::StatusOr<bool> PollLeaseStore::ClaimPoll(const AccountRef& a,
                                               absl::Time now,
                                               absl::Duration lease) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(
          "UPDATE watch_accounts SET poll_lease_ms = $4 WHERE tenant = "
          "$1 AND account_id = $2 AND baseline_done = 1 AND "
          "next_poll_ms <= $3 AND poll_lease_ms <= $3 RETURNING "
          "account_id",
          {a.tenant, a.account_id, SqlMillis(now), SqlMillis(now + lease)}));
  return !rows.empty();
}

absl::Status PollLeaseStore::FinishPoll(const AccountRef& a,
                                        absl::Time next_poll) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE watch_accounts SET poll_lease_ms = 0, next_poll_ms = $3 "
          "WHERE tenant = $1 AND account_id = $2",
          {a.tenant, a.account_id, SqlMillis(next_poll)})
      .status();
}

absl::Status PollLeaseStore::PollAllNow(absl::Time now) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE watch_accounts SET next_poll_ms = $1 WHERE "
          "next_poll_ms > $1",
          {SqlMillis(now)})
      .status();
}

absl::StatusOr<bool> PollLeaseStore::TakePollLease(const AccountRef& a,
                                                   absl::Time now,
                                                   absl::Duration lease) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(
          "UPDATE watch_accounts SET poll_lease_ms = $4 WHERE tenant = "
          "$1 AND account_id = $2 AND poll_lease_ms <= $3 RETURNING "
          "account_id",
          {a.tenant, a.account_id, SqlMillis(now), SqlMillis(now + lease)}));
  return !rows.empty();
}

absl::StatusOr<int64_t> PollLeaseStore::PollCallsSince(const AccountRef& a,
                                                       absl::Time since) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query("SELECT COUNT(*) FROM watch_poll_calls WHERE "
                            "tenant = $1 AND account_id = $2 AND at_ms > $3",
                            {a.tenant, a.account_id, SqlMillis(since)}));
  return rows.empty() ? 0 : SqlInt(rows[0][0]);
}

absl::Status PollLeaseStore::RecordPollCall(const AccountRef& a, absl::Time at,
                                            absl::Time forget_before) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    RETURN_IF_ERROR(c->Query("DELETE FROM watch_poll_calls WHERE tenant = $1 "
                             "AND account_id = $2 AND at_ms <= $3",
                             {a.tenant, a.account_id, SqlMillis(forget_before)})
                        .status());
    return c
        ->Query(
            "INSERT INTO watch_poll_calls (tenant, account_id, at_ms) "
            "VALUES ($1, $2, $3)",
            {a.tenant, a.account_id, SqlMillis(at)})
        .status();
  });
}

}  // namespace unified::watch
