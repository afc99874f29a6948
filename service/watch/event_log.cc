#include "service/watch/event_log.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"
#include "service/watch/watch_sql.h"

namespace unified::watch {
absl::StatusOr<std::vector<StoredEvent>> EventLog::ReadEvents(
    const AccountRef& a, int64_t after, int limit) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat(kEventColumns,
                            "WHERE tenant = $1 AND account_id = $2 AND seq > "
                            "$3 ORDER BY seq LIMIT ",
                            std::max(1, limit)),
               {a.tenant, a.account_id, absl::StrCat(after)}));
  return ReadEventRows(rows);
}

absl::StatusOr<int64_t> EventLog::FirstKeptSeq(const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query("SELECT MIN(e.seq), w.last_seq FROM "
                            "watch_accounts w LEFT JOIN watch_events e ON "
                            "e.tenant = w.tenant AND e.account_id = "
                            "w.account_id WHERE w.tenant = $1 AND "
                            "w.account_id = $2 GROUP BY w.last_seq",
                            {a.tenant, a.account_id}));
  if (rows.empty()) return absl::NotFoundError("the account is not watched");
  return rows[0][0] ? SqlInt(rows[0][0]) : SqlInt(rows[0][1]) + 1;
}

absl::Status EventLog::Prune(const AccountRef& a, int64_t keep,
                             absl::Time before) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    SqlConnection& conn = *c.operator->();
    ASSIGN_OR_RETURN(std::optional<WatchState> state,
                     LockState(conn, db_->dialect(), a));
    if (!state) return absl::OkStatus();
    const int64_t keep_from = std::max<int64_t>(0, state->last_seq - keep + 1);
    const std::vector<std::string> params = {
        a.tenant, a.account_id, absl::StrCat(keep_from), SqlMillis(before),
        absl::StrCat(state->last_seq)};
    constexpr char kDoomed[] =
        "FROM watch_events WHERE tenant = $1 AND account_id = $2 AND seq < $5 "
        "AND (seq < $3 OR at_ms < $4)";
    // Tenant-wide readers behind the highest tseq dropped have lost events.
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn.Query(absl::StrCat("SELECT MAX(tseq) ", kDoomed), params));
    if (rows.empty() || !rows[0][0]) return absl::OkStatus();
    RETURN_IF_ERROR(
        conn.Query("UPDATE watch_accounts SET pruned_tseq = $3 WHERE tenant = "
                   "$1 AND account_id = $2 AND pruned_tseq < $3",
                   {a.tenant, a.account_id, SqlText(rows[0][0])})
            .status());
    return conn.Query(absl::StrCat("DELETE ", kDoomed), params).status();
  });
}

absl::StatusOr<int64_t> EventLog::TenantPosition(const std::string& tenant) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT last_tseq FROM watch_tenants WHERE tenant = $1",
               {tenant}));
  return rows.empty() ? 0 : SqlInt(rows[0][0]);
}

absl::StatusOr<std::vector<StoredEvent>> EventLog::ReadTenantEvents(
    const std::string& tenant, const std::vector<std::string>& accounts,
    int64_t after_tseq, int limit) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  std::vector<std::string> params = {tenant, absl::StrCat(after_tseq)};
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat(kEventColumns, "WHERE tenant = $1 AND tseq > $2",
                            AccountsIn(accounts, &params),
                            " ORDER BY tseq LIMIT ", std::max(1, limit)),
               params));
  return ReadEventRows(rows);
}

absl::StatusOr<int64_t> EventLog::PrunedThrough(
    const std::string& tenant, const std::vector<std::string>& accounts) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  std::vector<std::string> params = {tenant};
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat("SELECT MAX(pruned_tseq) FROM watch_accounts "
                            "WHERE tenant = $1",
                            AccountsIn(accounts, &params)),
               params));
  return rows.empty() || !rows[0][0] ? 0 : SqlInt(rows[0][0]);
}

}  // namespace unified::watch
