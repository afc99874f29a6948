#include "service/watch/hook_store.h"

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

HookRow ReadHook(const SqlRow& r) {
  HookRow h;
  h.secret_hash = SqlText(r[0]);
  h.account = {SqlText(r[1]), SqlText(r[2])};
  h.workspace_id = SqlText(r[3]);
  h.event_type = SqlText(r[4]);
  h.hook_id = SqlText(r[5]);
  h.created = SqlTime(r[6]);
  return h;
}
constexpr char kHookColumns[] =
    "SELECT secret_hash, tenant, account_id, workspace_id, event_type, "
    "hook_id, created_ms FROM watch_hooks ";

}  // namespace

absl::Status HookStore::PutHook(const HookRow& row) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "INSERT INTO watch_hooks (secret_hash, tenant, account_id, "
          "workspace_id, event_type, hook_id, created_ms) VALUES ($1, $2, "
          "$3, $4, $5, $6, $7)",
          {row.secret_hash, row.account.tenant, row.account.account_id,
           row.workspace_id, row.event_type, row.hook_id,
           SqlMillis(row.created)})
      .status();
}

absl::Status HookStore::SetHookId(const std::string& secret_hash,
                                  const std::string& hook_id) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query("UPDATE watch_hooks SET hook_id = $2 WHERE secret_hash = $1",
              {secret_hash, hook_id})
      .status();
}

absl::StatusOr<std::optional<HookRow>> HookStore::FindHook(
    const std::string& secret_hash) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat(kHookColumns, "WHERE secret_hash = $1"),
               {secret_hash}));
  if (rows.empty()) return std::nullopt;
  return ReadHook(rows[0]);
}

absl::StatusOr<std::vector<HookRow>> HookStore::Hooks(const AccountRef& a) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat(kHookColumns,
                            "WHERE tenant = $1 AND account_id = $2 ORDER BY "
                            "workspace_id, event_type, created_ms"),
               {a.tenant, a.account_id}));
  std::vector<HookRow> out;
  for (const SqlRow& r : rows) out.push_back(ReadHook(r));
  return out;
}

absl::Status HookStore::DeleteHook(const std::string& secret_hash) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query("DELETE FROM watch_hooks WHERE secret_hash = $1", {secret_hash})
      .status();
}

absl::Status HookStore::MarkDirty(const AccountRef& a,
                                  const std::string& workspace_id,
                                  absl::Time now, const std::string& user_id) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  // A newer generation makes a worker that is reading the roster right now
  // read it again afterwards: the change may have come after its read.
  return c
      ->Query(
          "INSERT INTO watch_dirty (tenant, account_id, workspace_id, "
          "gen, marked_ms, lease_ms, users) VALUES ($1, $2, $3, 1, $4, 0, "
          "$5) ON CONFLICT (tenant, account_id, workspace_id) DO UPDATE SET "
          "gen = watch_dirty.gen + 1, lease_ms = 0, users = CASE WHEN "
          "LENGTH(watch_dirty.users) < 4000 THEN watch_dirty.users || ',' || "
          "$5 ELSE watch_dirty.users END",
          {a.tenant, a.account_id, workspace_id, SqlMillis(now), user_id})
      .status();
}

absl::StatusOr<std::vector<DirtyWorkspace>> HookStore::ClaimDirty(
    absl::Time now, absl::Duration lease, int limit) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  std::vector<DirtyWorkspace> out;
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        c->Query(absl::StrCat("SELECT tenant, account_id, workspace_id, gen, "
                              "users "
                              "FROM watch_dirty d WHERE lease_ms <= $1 AND NOT "
                              "EXISTS (SELECT 1 FROM watch_accounts w WHERE "
                              "w.tenant = d.tenant AND w.account_id = "
                              "d.account_id AND w.paused_ms > 0) ORDER BY "
                              "marked_ms LIMIT ",
                              std::max(1, limit), db_->dialect().for_update),
                 {SqlMillis(now)}));
    for (const SqlRow& r : rows) {
      DirtyWorkspace d{
          {SqlText(r[0]), SqlText(r[1])}, SqlText(r[2]), SqlInt(r[3]), {}};
      for (absl::string_view u : absl::StrSplit(SqlText(r[4]), ',')) {
        if (!u.empty()) d.users.emplace_back(u);
      }
      RETURN_IF_ERROR(c->Query("UPDATE watch_dirty SET lease_ms = $4 WHERE "
                               "tenant = $1 AND account_id = $2 AND "
                               "workspace_id = $3",
                               {d.account.tenant, d.account.account_id,
                                d.workspace_id, SqlMillis(now + lease)})
                          .status());
      out.push_back(std::move(d));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status HookStore::ClearDirty(const AccountRef& a,
                                   const std::string& workspace_id,
                                   int64_t gen) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "DELETE FROM watch_dirty WHERE tenant = $1 AND account_id = $2 "
          "AND workspace_id = $3 AND gen = $4",
          {a.tenant, a.account_id, workspace_id, absl::StrCat(gen)})
      .status();
}

absl::Status HookStore::Refuse(const AccountRef& a, const std::string& what,
                               absl::Time until) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "INSERT INTO watch_refusals (tenant, account_id, what, "
          "until_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, "
          "account_id, what) DO UPDATE SET until_ms = $4",
          {a.tenant, a.account_id, what, SqlMillis(until)})
      .status();
}

absl::StatusOr<bool> HookStore::Refused(const AccountRef& a,
                                        const std::string& what,
                                        absl::Time now) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query("SELECT until_ms FROM watch_refusals WHERE "
                            "tenant = $1 AND account_id = $2 AND what = $3",
                            {a.tenant, a.account_id, what}));
  return !rows.empty() && SqlTime(rows[0][0]) > now;
}

}  // namespace unified::watch
