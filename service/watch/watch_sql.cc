#include "service/watch/watch_sql.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"

namespace unified::watch {

const char kEventColumns[] =
    "SELECT seq, type, source, at_ms, workspace_id, workspace_name, user_id, "
    "user_name, email, role_id, previous_role_id, org_id, org_name, status, "
    "previous_status, account_id, tseq FROM watch_events ";

absl::Status LogWriter::Append(StoredEvent e) {
  if (tseq_ < 0) {
    ASSIGN_OR_RETURN(tseq_, LockTenant());
  }
  e.seq = ++seq_;
  e.tseq = ++tseq_;
  e.account_id = a_.account_id;
  e.source = source_;
  e.at = now_;
  RETURN_IF_ERROR(
      c_.Query("INSERT INTO watch_events (tenant, account_id, seq, type, "
               "source, at_ms, workspace_id, workspace_name, user_id, "
               "user_name, email, role_id, previous_role_id, org_id, "
               "org_name, status, previous_status, tseq) VALUES ($1, $2, "
               "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
               "$16, $17, $18)",
               {a_.tenant, a_.account_id, absl::StrCat(e.seq),
                absl::StrCat(static_cast<int>(e.type)),
                absl::StrCat(static_cast<int>(e.source)), SqlMillis(e.at),
                e.workspace_id, e.workspace_name, e.user_id, e.user_name,
                e.email, e.role_id, e.previous_role_id, e.org_id, e.org_name,
                absl::StrCat(e.status), absl::StrCat(e.previous_status),
                absl::StrCat(e.tseq)})
          .status());
  events_.push_back(std::move(e));
  return absl::OkStatus();
}
absl::Status LogWriter::Finish() {
  if (events_.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(c_.Query("UPDATE watch_tenants SET last_tseq = $2 WHERE "
                           "tenant = $1",
                           {a_.tenant, absl::StrCat(tseq_)})
                      .status());
  return c_
      .Query(
          "UPDATE watch_accounts SET last_seq = $3 WHERE tenant = $1 AND "
          "account_id = $2",
          {a_.tenant, a_.account_id, absl::StrCat(seq_)})
      .status();
}
absl::StatusOr<int64_t> LogWriter::LockTenant() {
  RETURN_IF_ERROR(c_.Query("INSERT INTO watch_tenants (tenant, last_tseq) "
                           "VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING",
                           {a_.tenant})
                      .status());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c_.Query(absl::StrCat("SELECT last_tseq FROM "
                                         "watch_tenants WHERE tenant = $1",
                                         dialect_.for_update),
                            {a_.tenant}));
  if (rows.empty()) return absl::InternalError("tenant row vanished");
  return SqlInt(rows[0][0]);
}
absl::StatusOr<std::optional<WatchState>> ReadState(
    SqlConnection& c, absl::string_view lock_suffix, const AccountRef& a) {
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c.Query(absl::StrCat("SELECT baseline_done, last_seq, next_poll_ms, "
                           "enabled_ms, paused_ms FROM watch_accounts WHERE "
                           "tenant = $1 AND account_id = $2",
                           lock_suffix),
              {a.tenant, a.account_id}));
  if (rows.empty()) return std::nullopt;
  WatchState s;
  s.baseline_done = SqlInt(rows[0][0]) != 0;
  s.last_seq = SqlInt(rows[0][1]);
  s.next_poll = SqlTime(rows[0][2]);
  s.epoch = SqlInt(rows[0][3]);
  if (const int64_t paused = SqlInt(rows[0][4]); paused > 0) {
    s.paused = absl::FromUnixMillis(paused);
  }
  return s;
}

absl::StatusOr<std::optional<WatchState>> LockState(SqlConnection& c,
                                                    const SqlDialect& dialect,
                                                    const AccountRef& a) {
  return ReadState(c, dialect.for_update, a);
}

std::vector<StoredEvent> ReadEventRows(const std::vector<SqlRow>& rows) {
  std::vector<StoredEvent> out;
  out.reserve(rows.size());
  for (const SqlRow& r : rows) {
    StoredEvent e;
    e.seq = SqlInt(r[0]);
    e.type = static_cast<EventType>(SqlInt(r[1]));
    e.source = static_cast<Source>(SqlInt(r[2]));
    e.at = SqlTime(r[3]);
    e.workspace_id = SqlText(r[4]);
    e.workspace_name = SqlText(r[5]);
    e.user_id = SqlText(r[6]);
    e.user_name = SqlText(r[7]);
    e.email = SqlText(r[8]);
    e.role_id = SqlText(r[9]);
    e.previous_role_id = SqlText(r[10]);
    e.org_id = SqlText(r[11]);
    e.org_name = SqlText(r[12]);
    e.status = static_cast<int>(SqlInt(r[13]));
    e.previous_status = static_cast<int>(SqlInt(r[14]));
    e.account_id = SqlText(r[15]);
    e.tseq = SqlInt(r[16]);
    out.push_back(std::move(e));
  }
  return out;
}

std::string AccountsIn(const std::vector<std::string>& accounts,
                       std::vector<std::string>* params) {
  if (accounts.empty()) return "";
  std::string out = " AND account_id IN (";
  for (size_t i = 0; i < accounts.size(); ++i) {
    params->push_back(accounts[i]);
    absl::StrAppend(&out, i == 0 ? "$" : ", $", params->size());
  }
  out += ")";
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> ChangeLocked(
    SqlDatabase* db, const AccountRef& a, Source source, absl::Time now,
    const std::function<absl::Status(SqlConnection& conn, LogWriter& log)>&
        change) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db->Acquire());
  std::vector<StoredEvent> out;
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    SqlConnection& conn = *c.operator->();
    ASSIGN_OR_RETURN(std::optional<WatchState> state,
                     LockState(conn, db->dialect(), a));
    if (!state) return absl::NotFoundError("the account is not watched");
    // A paused watch takes no roster change (a read that was under way
    // when it was paused, say); resuming it polls the account at once.
    if (state->paused && source != Source::kApi) return absl::OkStatus();
    LogWriter log(conn, db->dialect(), a, state->last_seq, source, now);
    RETURN_IF_ERROR(change(conn, log));
    RETURN_IF_ERROR(log.Finish());
    out = log.Take();
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<AccountRef>> AccountsWhere(
    SqlDatabase* db, absl::string_view where,
    const std::vector<std::string>& params) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query(absl::StrCat("SELECT tenant, account_id FROM "
                                         "watch_accounts ",
                                         where, "ORDER BY tenant, account_id"),
                            params));
  std::vector<AccountRef> out;
  for (const SqlRow& r : rows) out.push_back({SqlText(r[0]), SqlText(r[1])});
  return out;
}

}  // namespace unified::watch
