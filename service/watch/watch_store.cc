#include "service/watch/watch_store.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"

namespace unified::watch {
namespace {

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

  absl::Status Append(StoredEvent e) {
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

  absl::Status Finish() {
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

  std::vector<StoredEvent> Take() { return std::move(events_); }

 private:
  // The tenant's last tseq, its row locked (created when missing).
  absl::StatusOr<int64_t> LockTenant() {
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

  SqlConnection& c_;
  const SqlDialect& dialect_;
  const AccountRef& a_;
  int64_t seq_;
  int64_t tseq_ = -1;  // Unknown until the first event.
  Source source_;
  absl::Time now_;
  std::vector<StoredEvent> events_;
};

// The organization members stored for the account.
absl::StatusOr<StoredOrgMembers> ReadOrgMembers(SqlConnection& c,
                                                const AccountRef& a) {
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c.Query("SELECT org_id, org_name, user_id, role_id, status, name, email "
              "FROM watch_org_members WHERE tenant = $1 AND account_id = $2",
              {a.tenant, a.account_id}));
  StoredOrgMembers out;
  for (const SqlRow& r : rows) {
    ObservedOrgMember m{SqlText(r[2]), SqlText(r[3]),
                        static_cast<int>(SqlInt(r[4])), SqlText(r[5]),
                        SqlText(r[6])};
    std::pair<std::string, std::string> key{SqlText(r[0]), m.user_id};
    out[std::move(key)] = {SqlText(r[1]), std::move(m)};
  }
  return out;
}

// The account's watch row, locked with `lock_suffix` (the dialect's
// for_update inside a transaction, "" for a plain read); nullopt when the
// account is not watched.
absl::StatusOr<std::optional<WatchState>> ReadState(
    SqlConnection& c, absl::string_view lock_suffix, const AccountRef& a) {
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c.Query(absl::StrCat("SELECT baseline_done, last_seq, next_poll_ms, "
                           "enabled_ms FROM watch_accounts WHERE tenant = $1 "
                           "AND account_id = $2",
                           lock_suffix),
              {a.tenant, a.account_id}));
  if (rows.empty()) return std::nullopt;
  WatchState s;
  s.baseline_done = SqlInt(rows[0][0]) != 0;
  s.last_seq = SqlInt(rows[0][1]);
  s.next_poll = SqlTime(rows[0][2]);
  s.epoch = SqlInt(rows[0][3]);
  return s;
}

absl::StatusOr<std::optional<WatchState>> LockState(SqlConnection& c,
                                                    const SqlDialect& dialect,
                                                    const AccountRef& a) {
  return ReadState(c, dialect.for_update, a);
}

// The stored members of one workspace with their names, by user id.
absl::StatusOr<std::map<std::string, ObservedMember>> ReadMembers(
    SqlConnection& c, const AccountRef& a, const std::string& workspace_id) {
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c.Query("SELECT m.user_id, m.role_id, u.name, u.email FROM "
              "watch_members m LEFT JOIN watch_users u ON u.tenant = "
              "m.tenant AND u.account_id = m.account_id AND u.user_id = "
              "m.user_id WHERE m.tenant = $1 AND m.account_id = $2 AND "
              "m.workspace_id = $3",
              {a.tenant, a.account_id, workspace_id}));
  std::map<std::string, ObservedMember> out;
  for (const SqlRow& r : rows) {
    out[SqlText(r[0])] = {SqlText(r[0]), SqlText(r[1]), SqlText(r[2]),
                          SqlText(r[3])};
  }
  return out;
}

// The account's stored roster into `snap` (its seq is the caller's).
absl::Status ReadRoster(SqlConnection& conn, const AccountRef& a,
                        Snapshot* snap) {
  ASSIGN_OR_RETURN(std::vector<SqlRow> ws,
                   conn.Query("SELECT workspace_id, name FROM "
                              "watch_workspaces WHERE tenant = $1 AND "
                              "account_id = $2 ORDER BY workspace_id",
                              {a.tenant, a.account_id}));
  for (const SqlRow& r : ws) {
    snap->workspaces.push_back({SqlText(r[0]), SqlText(r[1])});
  }
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> ms,
      conn.Query("SELECT m.workspace_id, m.user_id, m.role_id, u.name, "
                 "u.email FROM watch_members m LEFT JOIN watch_users u ON "
                 "u.tenant = m.tenant AND u.account_id = m.account_id AND "
                 "u.user_id = m.user_id WHERE m.tenant = $1 AND "
                 "m.account_id = $2 ORDER BY m.workspace_id, m.user_id",
                 {a.tenant, a.account_id}));
  for (const SqlRow& r : ms) {
    snap->members.push_back(
        {SqlText(r[0]),
         {SqlText(r[1]), SqlText(r[2]), SqlText(r[3]), SqlText(r[4])}});
  }
  ASSIGN_OR_RETURN(snap->org_members, ReadOrgMembers(conn, a));
  return absl::OkStatus();
}

constexpr char kEventColumns[] =
    "SELECT seq, type, source, at_ms, workspace_id, workspace_name, user_id, "
    "user_name, email, role_id, previous_role_id, org_id, org_name, status, "
    "previous_status, account_id, tseq FROM watch_events ";

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

// " AND account_id IN ($k, ...)" for `accounts` appended to `params`; ""
// for none (every account).
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

// Runs `change` in one transaction holding the watched account's row lock
// (NOT_FOUND when it is not watched): what it writes and the events it logs
// (as `source`, at `now`) land together. Returns the events logged.
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
    LogWriter log(conn, db->dialect(), a, state->last_seq, source, now);
    RETURN_IF_ERROR(change(conn, log));
    RETURN_IF_ERROR(log.Finish());
    out = log.Take();
    return absl::OkStatus();
  }));
  return out;
}

// The users' shared records (name, e-mail) for the observed members, into
// `known`; returns `members` with what a listing left out filled in from
// those records or, for a user new here, from the organization roster. A
// space member listing may leave a member's e-mail out (a mini profile),
// while the organization's member listing gives it: membership events then
// still name the user's primary e-mail, and an e-mail a listing does not
// reveal never reads as changed.
absl::StatusOr<std::vector<ObservedMember>> KnownUsers(
    SqlConnection& conn, const AccountRef& a,
    const std::vector<ObservedMember>& members,
    std::map<std::string, ObservedMember>* known) {
  std::vector<ObservedMember> out = members;
  for (ObservedMember& m : out) {
    auto it = known->find(m.user_id);
    if (it == known->end()) {
      ASSIGN_OR_RETURN(
          std::vector<SqlRow> u,
          conn.Query("SELECT name, email FROM watch_users WHERE tenant = $1 "
                     "AND account_id = $2 AND user_id = $3",
                     {a.tenant, a.account_id, m.user_id}));
      if (!u.empty()) {
        it = known
                 ->emplace(m.user_id,
                           ObservedMember{m.user_id, "", SqlText(u[0][0]),
                                          SqlText(u[0][1])})
                 .first;
      }
    }
    const ObservedMember* record = it == known->end() ? nullptr : &it->second;
    if (m.email.empty() && record != nullptr) m.email = record->email;
    if (m.name.empty() && record != nullptr) m.name = record->name;
    if (!m.email.empty() && !m.name.empty()) continue;
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> org,
        conn.Query("SELECT name, email FROM watch_org_members WHERE tenant = "
                   "$1 AND account_id = $2 AND user_id = $3 AND email <> ''",
                   {a.tenant, a.account_id, m.user_id}));
    if (org.empty()) continue;
    if (m.name.empty()) m.name = SqlText(org[0][0]);
    if (m.email.empty()) m.email = SqlText(org[0][1]);
    if (record == nullptr) continue;
    // A record that lacked what the organization roster knows is completed
    // quietly: learning an e-mail is not a change of it.
    it->second.name = record->name.empty() ? m.name : record->name;
    it->second.email = record->email.empty() ? m.email : record->email;
    RETURN_IF_ERROR(
        conn.Query("UPDATE watch_users SET name = $4, email = $5 WHERE "
                   "tenant = $1 AND account_id = $2 AND user_id = $3",
                   {a.tenant, a.account_id, m.user_id, it->second.name,
                    it->second.email})
            .status());
  }
  return out;
}

}  // namespace

absl::StatusOr<WatchState> WatchStore::Enable(const AccountRef& a,
                                              absl::Time now) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  WatchState state;
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    RETURN_IF_ERROR(
        c->Query("INSERT INTO watch_accounts (tenant, account_id, enabled_ms, "
                 "baseline_done, last_seq, next_poll_ms, poll_lease_ms) "
                 "VALUES ($1, $2, $3, 0, 0, 0, 0) ON CONFLICT (tenant, "
                 "account_id) DO NOTHING",
                 {a.tenant, a.account_id, SqlMillis(now)})
            .status());
    RETURN_IF_ERROR(c->Query("INSERT INTO watch_tenants (tenant, last_tseq) "
                             "VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING",
                             {a.tenant})
                        .status());
    ASSIGN_OR_RETURN(std::optional<WatchState> s,
                     LockState(*c.operator->(), db_->dialect(), a));
    if (!s) return absl::InternalError("watch row vanished");
    state = *s;
    return absl::OkStatus();
  }));
  return state;
}

absl::StatusOr<std::optional<WatchState>> WatchStore::State(
    const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return ReadState(*c.operator->(), "", a);
}

absl::StatusOr<std::vector<AccountRef>> WatchStore::Watched() {
  return Accounts("", {});
}

absl::StatusOr<std::vector<AccountRef>> WatchStore::DuePolls(
    absl::Time now, absl::Time* oldest_due) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT tenant, account_id, next_poll_ms FROM watch_accounts "
               "WHERE baseline_done = 1 AND next_poll_ms <= $1 AND "
               "poll_lease_ms <= $1 ORDER BY tenant, account_id",
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

absl::StatusOr<std::vector<AccountRef>> WatchStore::Accounts(
    absl::string_view where, const std::vector<std::string>& params) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query(absl::StrCat("SELECT tenant, account_id FROM "
                                         "watch_accounts ",
                                         where, "ORDER BY tenant, account_id"),
                            params));
  std::vector<AccountRef> out;
  for (const SqlRow& r : rows) out.push_back({SqlText(r[0]), SqlText(r[1])});
  return out;
}

absl::Status WatchStore::Disable(const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    for (const char* table :
         {"watch_accounts", "watch_workspaces", "watch_members", "watch_users",
          "watch_events", "watch_hooks", "watch_dirty", "watch_poll_calls",
          "watch_org_members"}) {
      RETURN_IF_ERROR(c->Query(absl::StrCat("DELETE FROM ", table,
                                            " WHERE tenant = $1 AND "
                                            "account_id = $2"),
                               {a.tenant, a.account_id})
                          .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredEvent>> WatchStore::ApplyWorkspaces(
    const AccountRef& a, const std::vector<ObservedWorkspace>& visible,
    Source source, absl::Time now, bool baseline) {
  return ChangeLocked(
      db_, a, source, now,
      [&](SqlConnection& conn, LogWriter& log) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                         conn.Query("SELECT workspace_id, name FROM "
                                    "watch_workspaces WHERE tenant = $1 AND "
                                    "account_id = $2 ORDER BY workspace_id",
                                    {a.tenant, a.account_id}));
        std::map<std::string, std::string> stored;
        for (const SqlRow& r : rows) stored[SqlText(r[0])] = SqlText(r[1]);
        std::set<std::string> seen;
        for (const ObservedWorkspace& w : visible) {
          if (!seen.insert(w.id).second) continue;
          auto it = stored.find(w.id);
          if (it != stored.end()) {
            if (it->second != w.name) {
              RETURN_IF_ERROR(
                  conn.Query("UPDATE watch_workspaces SET name = $4 "
                             "WHERE tenant = $1 AND account_id = $2 "
                             "AND workspace_id = $3",
                             {a.tenant, a.account_id, w.id, w.name})
                      .status());
            }
            continue;
          }
          RETURN_IF_ERROR(
              conn.Query("INSERT INTO watch_workspaces (tenant, "
                         "account_id, workspace_id, name) VALUES ($1, "
                         "$2, $3, $4)",
                         {a.tenant, a.account_id, w.id, w.name})
                  .status());
          if (!baseline) {
            StoredEvent e;
            e.type = EventType::kWorkspaceAdded;
            e.workspace_id = w.id;
            e.workspace_name = w.name;
            RETURN_IF_ERROR(log.Append(std::move(e)));
          }
        }
        for (const auto& [id, name] : stored) {
          if (seen.count(id)) continue;
          ASSIGN_OR_RETURN(auto members, ReadMembers(conn, a, id));
          if (!baseline) {
            for (const auto& [user_id, m] : members) {
              StoredEvent e;
              e.type = EventType::kMemberRemoved;
              e.workspace_id = id;
              e.workspace_name = name;
              e.user_id = user_id;
              e.previous_role_id = m.role_id;
              e.user_name = m.name;
              e.email = m.email;
              RETURN_IF_ERROR(log.Append(std::move(e)));
            }
            StoredEvent e;
            e.type = EventType::kWorkspaceRemoved;
            e.workspace_id = id;
            e.workspace_name = name;
            RETURN_IF_ERROR(log.Append(std::move(e)));
          }
          for (const char* table :
               {"watch_workspaces", "watch_members", "watch_dirty"}) {
            RETURN_IF_ERROR(conn.Query(absl::StrCat("DELETE FROM ", table,
                                                    " WHERE tenant = $1 AND "
                                                    "account_id = $2 AND "
                                                    "workspace_id = $3"),
                                       {a.tenant, a.account_id, id})
                                .status());
          }
        }
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StoredEvent>> WatchStore::ApplyMembers(
    const AccountRef& a, const std::string& workspace_id,
    const std::vector<ObservedMember>& members, Source source, absl::Time now,
    bool baseline, int64_t clear_dirty_gen,
    const std::vector<std::string>& order_hint) {
  return ChangeLocked(
      db_, a, source, now,
      [&](SqlConnection& conn, LogWriter& log) -> absl::Status {
        if (clear_dirty_gen > 0) {
          RETURN_IF_ERROR(
              conn.Query("DELETE FROM watch_dirty WHERE tenant = $1 "
                         "AND account_id = $2 AND workspace_id = $3 "
                         "AND gen = $4",
                         {a.tenant, a.account_id, workspace_id,
                          absl::StrCat(clear_dirty_gen)})
                  .status());
        }
        ASSIGN_OR_RETURN(std::vector<SqlRow> ws,
                         conn.Query("SELECT name FROM watch_workspaces WHERE "
                                    "tenant = $1 AND account_id = $2 AND "
                                    "workspace_id = $3",
                                    {a.tenant, a.account_id, workspace_id}));
        if (ws.empty()) return absl::OkStatus();  // Not (or no longer) known.
        const std::string workspace_name = SqlText(ws[0][0]);
        ASSIGN_OR_RETURN(auto stored, ReadMembers(conn, a, workspace_id));
        std::map<std::string, ObservedMember> known_users;
        ASSIGN_OR_RETURN(std::vector<ObservedMember> revealed,
                         KnownUsers(conn, a, members, &known_users));
        auto [diff, pending] =
            DiffRoster(workspace_id, workspace_name, stored, known_users,
                       revealed, baseline, order_hint);
        for (const ObservedMember& m : diff.new_users) {
          RETURN_IF_ERROR(
              conn.Query(
                      "INSERT INTO watch_users (tenant, account_id, user_id, "
                      "name, email) VALUES ($1, $2, $3, $4, $5)",
                      {a.tenant, a.account_id, m.user_id, m.name, m.email})
                  .status());
        }
        for (const ObservedMember& m : diff.renamed_users) {
          RETURN_IF_ERROR(
              conn.Query("UPDATE watch_users SET name = $4, email = $5 WHERE "
                         "tenant = $1 AND account_id = $2 AND user_id = $3",
                         {a.tenant, a.account_id, m.user_id, m.name, m.email})
                  .status());
        }
        for (const ObservedMember& m : diff.joined) {
          RETURN_IF_ERROR(conn.Query("INSERT INTO watch_members (tenant, "
                                     "account_id, workspace_id, user_id, "
                                     "role_id) VALUES ($1, $2, $3, $4, $5)",
                                     {a.tenant, a.account_id, workspace_id,
                                      m.user_id, m.role_id})
                              .status());
        }
        for (const ObservedMember& m : diff.role_changed) {
          RETURN_IF_ERROR(
              conn.Query("UPDATE watch_members SET role_id = $5 "
                         "WHERE tenant = $1 AND account_id = $2 AND "
                         "workspace_id = $3 AND user_id = $4",
                         {a.tenant, a.account_id, workspace_id, m.user_id,
                          m.role_id})
                  .status());
        }
        for (const std::string& user_id : diff.left) {
          RETURN_IF_ERROR(
              conn.Query("DELETE FROM watch_members WHERE tenant = $1 "
                         "AND account_id = $2 AND workspace_id = $3 "
                         "AND user_id = $4",
                         {a.tenant, a.account_id, workspace_id, user_id})
                  .status());
        }
        for (StoredEvent& e : pending)
          RETURN_IF_ERROR(log.Append(std::move(e)));
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StoredEvent>> WatchStore::ApplyOrgMembers(
    const AccountRef& a, const std::vector<ObservedOrg>& observed,
    Source source, absl::Time now, bool baseline) {
  return ChangeLocked(
      db_, a, source, now,
      [&](SqlConnection& conn, LogWriter& log) -> absl::Status {
        ASSIGN_OR_RETURN(StoredOrgMembers stored, ReadOrgMembers(conn, a));
        std::vector<StoredEvent> pending = DiffOrgRosters(stored, observed);
        // The rows: what moved is written again, what went is deleted.
        const StoredOrgMembers seen = Keyed(observed);
        for (const auto& [key, value] : stored) {
          auto it = seen.find(key);
          if (it != seen.end() && it->second == value) continue;
          RETURN_IF_ERROR(
              conn.Query("DELETE FROM watch_org_members WHERE "
                         "tenant = $1 AND account_id = $2 AND "
                         "org_id = $3 AND user_id = $4",
                         {a.tenant, a.account_id, key.first, key.second})
                  .status());
        }
        for (const auto& [key, value] : seen) {
          auto it = stored.find(key);
          if (it != stored.end() && it->second == value) continue;
          const ObservedOrgMember& m = value.second;
          RETURN_IF_ERROR(
              conn.Query("INSERT INTO watch_org_members (tenant, account_id, "
                         "org_id, org_name, user_id, role_id, status, name, "
                         "email) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                         {a.tenant, a.account_id, key.first, value.first,
                          m.user_id, m.role_id, absl::StrCat(m.status), m.name,
                          m.email})
                  .status());
        }
        if (baseline) return absl::OkStatus();
        for (StoredEvent& e : pending)
          RETURN_IF_ERROR(log.Append(std::move(e)));
        return absl::OkStatus();
      });
}

absl::Status WatchStore::MarkBaselineDone(const AccountRef& a,
                                          absl::Time next_poll) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE watch_accounts SET baseline_done = 1, next_poll_ms = $3 "
          "WHERE tenant = $1 AND account_id = $2",
          {a.tenant, a.account_id, SqlMillis(next_poll)})
      .status();
}

absl::StatusOr<Snapshot> WatchStore::ReadSnapshot(const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  Snapshot snap;
  // Under the account's lock: no change lands between the three reads.
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    SqlConnection& conn = *c.operator->();
    ASSIGN_OR_RETURN(std::optional<WatchState> state,
                     LockState(conn, db_->dialect(), a));
    if (!state) return absl::NotFoundError("the account is not watched");
    snap.seq = state->last_seq;
    return ReadRoster(conn, a, &snap);
  }));
  return snap;
}

absl::StatusOr<TenantSnapshot> WatchStore::ReadTenantSnapshot(
    const std::string& tenant, const std::vector<std::string>& accounts) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  TenantSnapshot out;
  // Under the tenant's lock, which every transaction that logs an event for
  // the tenant takes before it commits: all the rosters are read at one
  // position of the tenant's sequence.
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    SqlConnection& conn = *c.operator->();
    out.accounts.clear();
    RETURN_IF_ERROR(conn.Query("INSERT INTO watch_tenants (tenant, last_tseq) "
                               "VALUES ($1, 0) ON CONFLICT (tenant) DO NOTHING",
                               {tenant})
                        .status());
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        conn.Query(absl::StrCat("SELECT last_tseq FROM watch_tenants WHERE "
                                "tenant = $1",
                                db_->dialect().for_update),
                   {tenant}));
    out.tseq = rows.empty() ? 0 : SqlInt(rows[0][0]);
    std::vector<std::string> params = {tenant};
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> watched,
        conn.Query(
            absl::StrCat("SELECT account_id, last_seq FROM "
                         "watch_accounts WHERE tenant = $1 AND "
                         "baseline_done = 1",
                         AccountsIn(accounts, &params), " ORDER BY account_id"),
            params));
    for (const SqlRow& r : watched) {
      Snapshot snap;
      snap.seq = SqlInt(r[1]);
      RETURN_IF_ERROR(ReadRoster(conn, {tenant, SqlText(r[0])}, &snap));
      out.accounts.emplace_back(SqlText(r[0]), std::move(snap));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> WatchStore::ReadEvents(
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

absl::StatusOr<std::vector<StoredEvent>> WatchStore::ReadTenantEvents(
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

absl::StatusOr<int64_t> WatchStore::TenantPosition(const std::string& tenant) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT last_tseq FROM watch_tenants WHERE tenant = $1",
               {tenant}));
  return rows.empty() ? 0 : SqlInt(rows[0][0]);
}

absl::StatusOr<int64_t> WatchStore::PrunedThrough(
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

absl::StatusOr<std::vector<AccountRef>> WatchStore::WatchedOf(
    const std::string& tenant) {
  return Accounts("WHERE tenant = $1 AND baseline_done = 1 ", {tenant});
}

absl::StatusOr<int64_t> WatchStore::FirstKeptSeq(const AccountRef& a) {
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

absl::Status WatchStore::Prune(const AccountRef& a, int64_t keep,
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

}  // namespace unified::watch
