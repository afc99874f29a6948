#include "service/watch/roster_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"
#include "service/watch/watch_sql.h"

namespace unified::watch {
namespace {

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

absl::StatusOr<WatchState> RosterStore::Enable(const AccountRef& a,
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

absl::StatusOr<std::optional<WatchState>> RosterStore::State(
    const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return ReadState(*c.operator->(), "", a);
}

absl::StatusOr<std::vector<AccountRef>> RosterStore::Watched() {
  return AccountsWhere(db_, "", {});
}

absl::StatusOr<std::vector<AccountRef>> RosterStore::WatchedOf(
    const std::string& tenant) {
  return AccountsWhere(
      db_, "WHERE tenant = $1 AND (baseline_done = 1 OR paused_ms > 0) ",
      {tenant});
}

absl::StatusOr<std::vector<StoredEvent>> RosterStore::SetPaused(
    const AccountRef& a, bool paused, absl::Time now) {
  return ChangeLocked(
      db_, a, Source::kApi, now,
      [&](SqlConnection& c, LogWriter& log) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<WatchState> state, ReadState(c, "", a));
        if (!state || state->paused.has_value() == paused) {
          return absl::OkStatus();
        }
        const std::vector<std::string> key = {a.tenant, a.account_id};
        if (paused) {
          RETURN_IF_ERROR(c.Query("UPDATE watch_accounts SET paused_ms = $3 "
                                  "WHERE tenant = $1 AND account_id = $2",
                                  {a.tenant, a.account_id, SqlMillis(now)})
                              .status());
          RETURN_IF_ERROR(c.Query("DELETE FROM watch_dirty WHERE tenant = $1 "
                                  "AND account_id = $2",
                                  key)
                              .status());
        } else {
          RETURN_IF_ERROR(c.Query("UPDATE watch_accounts SET paused_ms = 0, "
                                  "next_poll_ms = $3 WHERE tenant = $1 AND "
                                  "account_id = $2",
                                  {a.tenant, a.account_id, SqlMillis(now)})
                              .status());
        }
        StoredEvent e;
        e.type = paused ? EventType::kWatchPaused : EventType::kWatchResumed;
        return log.Append(std::move(e));
      });
}

absl::StatusOr<RosterStore::Counts> RosterStore::Count() {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN paused_ms > 0 THEN 1 "
               "ELSE 0 END), 0) FROM watch_accounts",
               {}));
  Counts counts;
  if (!rows.empty()) {
    counts.watched = SqlInt(rows[0][0]);
    counts.paused = SqlInt(rows[0][1]);
  }
  return counts;
}

absl::Status RosterStore::Disable(const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    for (const char* table :
         {"watch_accounts", "watch_workspaces", "watch_members", "watch_users",
          "watch_events", "watch_hooks", "watch_dirty", "watch_org_members",
          "watch_refusals"}) {
      RETURN_IF_ERROR(c->Query(absl::StrCat("DELETE FROM ", table,
                                            " WHERE tenant = $1 AND "
                                            "account_id = $2"),
                               {a.tenant, a.account_id})
                          .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<StoredEvent>> RosterStore::ApplyWorkspaces(
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

absl::StatusOr<std::vector<StoredEvent>> RosterStore::ApplyMembers(
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

absl::StatusOr<std::vector<StoredEvent>> RosterStore::ApplyOrgMembers(
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

absl::Status RosterStore::MarkBaselineDone(const AccountRef& a,
                                           absl::Time next_poll) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE watch_accounts SET baseline_done = 1, next_poll_ms = $3 "
          "WHERE tenant = $1 AND account_id = $2",
          {a.tenant, a.account_id, SqlMillis(next_poll)})
      .status();
}

absl::StatusOr<Snapshot> RosterStore::ReadSnapshot(const AccountRef& a) {
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

absl::StatusOr<TenantSnapshot> RosterStore::ReadTenantSnapshot(
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
                         "baseline_done = 1 AND paused_ms = 0",
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

}  // namespace unified::watch
