#include "service/accounts/credential_store.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/store/schema.h"

namespace unified::accounts {
namespace {

// How long a write that logs an account event waits for the tenant's log.
constexpr absl::Duration kEventLockTimeout = absl::Seconds(10);

static_assert(store::kSchemaVersion == CredentialStore::kSchemaVersion);

constexpr char kColumns[] =
    "tenant, id, provider, status, status_reason, ref_type, ref_id, scope, "
    "link_method, access_expires_ms, created_ms, updated_ms, version, "
    "access_token, refresh_token, end_customer_id";

}  // namespace

absl::Status AppendAccountEvent(store::SqlConnection& c,
                                const store::SqlDialect& dialect,
                                const std::string& tenant,
                                const std::string& id, AccountEventType type,
                                const std::string& reason, absl::Time at) {
  RETURN_IF_ERROR(
      c.Query("INSERT INTO account_event_tenants (tenant, last_seq) VALUES "
              "($1, 0) ON CONFLICT (tenant) DO NOTHING",
              {tenant})
          .status());
  ASSIGN_OR_RETURN(std::vector<store::SqlRow> rows,
                   c.Query(absl::StrCat("SELECT last_seq FROM "
                                        "account_event_tenants WHERE tenant "
                                        "= $1",
                                        dialect.for_update),
                           {tenant}));
  if (rows.empty()) return absl::InternalError("account log row vanished");
  const std::string seq = absl::StrCat(store::SqlInt(rows[0][0]) + 1);
  RETURN_IF_ERROR(
      c.Query("UPDATE account_event_tenants SET last_seq = $2 WHERE tenant "
              "= $1",
              {tenant, seq})
          .status());
  return c
      .Query(
          "INSERT INTO account_events (tenant, seq, account_id, type, "
          "reason, at_ms, end_customer_id) VALUES ($1, $2, $3, $4, $5, $6, "
          "COALESCE((SELECT end_customer_id FROM accounts WHERE tenant = $1 "
          "AND id = $3), ''))",
          {tenant, seq, id, absl::StrCat(static_cast<int>(type)), reason,
           store::SqlMillis(at)})
      .status();
}

namespace {

const char* StatusText(AccountStatus status) {
  return status == AccountStatus::kActive ? "active" : "needs_reauth";
}

absl::StatusOr<AccountRecord> FromRow(const store::SqlRow& row) {
  if (row.size() != 16) return absl::InternalError("unexpected row shape");
  auto text = [&](int i) { return row[i].value_or(""); };
  AccountRecord r;
  r.tenant = text(0);
  r.id = text(1);
  r.provider = text(2);
  r.status = text(3) == "active" ? AccountStatus::kActive
                                 : AccountStatus::kNeedsReauth;
  r.status_reason = text(4);
  r.ref_type = text(5);
  r.ref_id = text(6);
  r.scope = text(7);
  r.link_method = text(8);
  r.access_expires_at = store::SqlTime(row[9]);
  r.created_at = store::SqlTime(row[10]);
  r.updated_at = store::SqlTime(row[11]);
  (void)absl::SimpleAtoi(text(12), &r.version);
  r.sealed_access_token = text(13);
  r.sealed_refresh_token = text(14);
  r.end_customer_id = text(15);
  return r;
}

std::vector<std::string> Values(const AccountRecord& r) {
  return {r.tenant,
          r.id,
          r.provider,
          StatusText(r.status),
          r.status_reason,
          r.ref_type,
          r.ref_id,
          r.scope,
          r.link_method,
          store::SqlMillis(r.access_expires_at),
          store::SqlMillis(r.created_at),
          store::SqlMillis(r.updated_at),
          absl::StrCat(r.version),
          r.sealed_access_token,
          r.sealed_refresh_token,
          r.end_customer_id};
}

absl::Status NotFound(const std::string& id) {
  return WithErrorInfo(absl::NotFoundError(absl::StrCat("integrated account '",
                                                        id, "' not found")),
                       "INTEGRATED_ACCOUNT_NOT_FOUND");
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialStore>> CredentialStore::Open(
    std::unique_ptr<store::SqlDatabase> db) {
  std::unique_ptr<CredentialStore> store(new CredentialStore(std::move(db)));
  RETURN_IF_ERROR(store->Migrate());
  return store;
}

namespace {

bool IsPostgresUrl(const std::string& url) {
  return absl::StartsWith(url, "postgresql://") ||
         absl::StartsWith(url, "postgres://");
}

absl::StatusOr<std::string> SqlitePath(const std::string& url) {
  std::string path = url;
  if (absl::StartsWith(path, "sqlite:")) path = path.substr(7);
  if (path.empty()) {
    return absl::InvalidArgumentError("the store URL names no SQLite file");
  }
  return path;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialStore>> CredentialStore::OpenUrl(
    const std::string& url) {
  if (IsPostgresUrl(url)) {
    ASSIGN_OR_RETURN(std::unique_ptr<store::SqlDatabase> db,
                     store::OpenPostgres(url));
    return Open(std::move(db));
  }
  ASSIGN_OR_RETURN(std::string path, SqlitePath(url));
  ASSIGN_OR_RETURN(std::unique_ptr<store::SqlDatabase> db,
                   store::OpenSqlite(path));
  return Open(std::move(db));
}

absl::Status CredentialStore::CheckUrl(const std::string& url) {
  if (IsPostgresUrl(url)) return store::CheckPostgresConninfo(url);
  return SqlitePath(url).status();
}

absl::Status CredentialStore::Migrate() {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, absl::Seconds(60), [&]() -> absl::Status {
    if (db_->dialect().name == "postgresql") {
      // Replicas starting together migrate one after the other.
      RETURN_IF_ERROR(
          c->Query("SELECT pg_advisory_xact_lock(7215380411)").status());
    }
    RETURN_IF_ERROR(c->Query("CREATE TABLE IF NOT EXISTS schema_migrations ("
                             "version BIGINT PRIMARY KEY, "
                             "applied_ms BIGINT NOT NULL)")
                        .status());
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> rows,
        c->Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    int current = 0;
    if (!rows.empty() && rows[0][0])
      (void)absl::SimpleAtoi(*rows[0][0], &current);
    if (current > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat("the credential store has schema version ", current,
                       ", newer than this server's ", kSchemaVersion,
                       "; run a newer server"));
    }
    for (int v = current + 1; v <= kSchemaVersion; ++v) {
      // SQLite's prepare takes one statement at a time.
      for (absl::string_view statement :
           absl::StrSplit(store::kMigrations[v - 1], ';')) {
        if (absl::StripAsciiWhitespace(statement).empty()) continue;
        RETURN_IF_ERROR(c->Query(statement).status());
      }
      RETURN_IF_ERROR(c->Query("INSERT INTO schema_migrations (version, "
                               "applied_ms) VALUES ($1, $2)",
                               {absl::StrCat(v), store::SqlMillis(absl::Now())})
                          .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AccountRecord>> CredentialStore::Select(
    const std::string& where, const std::vector<std::string>& params,
    int limit) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<store::SqlRow> rows,
      c->Query(absl::StrCat("SELECT ", kColumns, " FROM accounts WHERE ", where,
                            " ORDER BY tenant, id LIMIT ", limit),
               params));
  std::vector<AccountRecord> records;
  for (const store::SqlRow& row : rows) {
    ASSIGN_OR_RETURN(AccountRecord r, FromRow(row));
    records.push_back(std::move(r));
  }
  return records;
}

absl::Status CredentialStore::Insert(const AccountRecord& record) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, kEventLockTimeout, [&]() -> absl::Status {
    RETURN_IF_ERROR(
        c->Query(absl::StrCat("INSERT INTO accounts (", kColumns,
                              ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                              "$10, $11, $12, $13, $14, $15, $16)"),
                 Values(record))
            .status());
    return AppendAccountEvent(*c.operator->(), db_->dialect(), record.tenant,
                              record.id, AccountEventType::kLinked, "",
                              record.created_at);
  });
}

absl::StatusOr<AccountRecord> CredentialStore::Get(const std::string& tenant,
                                                   const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<AccountRecord> found,
                   Select("tenant = $1 AND id = $2", {tenant, id}, 1));
  if (found.empty()) return NotFound(id);
  return std::move(found[0]);
}

absl::StatusOr<std::optional<AccountRecord>> CredentialStore::FindByIdentity(
    const std::string& tenant, const std::string& provider,
    const std::string& ref_type, const std::string& ref_id) {
  ASSIGN_OR_RETURN(std::vector<AccountRecord> found,
                   Select("tenant = $1 AND provider = $2 AND ref_type = $3 "
                          "AND ref_id = $4",
                          {tenant, provider, ref_type, ref_id}, 1));
  if (found.empty()) return std::nullopt;
  return std::move(found[0]);
}

absl::StatusOr<std::vector<AccountRecord>> CredentialStore::List(
    const std::string& tenant, const std::string& after_id, int limit,
    const std::string& end_customer_id) {
  if (!end_customer_id.empty()) {
    return Select("tenant = $1 AND end_customer_id = $3 AND id > $2",
                  {tenant, after_id, end_customer_id}, limit);
  }
  return Select("tenant = $1 AND id > $2", {tenant, after_id}, limit);
}

absl::StatusOr<std::vector<AccountRecord>> CredentialStore::ListAll(
    const std::string& after_tenant, const std::string& after_id, int limit) {
  return Select("(tenant > $1 OR (tenant = $1 AND id > $2))",
                {after_tenant, after_id}, limit);
}

absl::Status CredentialStore::Delete(const std::string& tenant,
                                     const std::string& id) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, kEventLockTimeout, [&]() -> absl::Status {
    // The account's row is locked first (the order every writer keeps),
    // and the event logged while the row still names the account's
    // customer.
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> rows,
        c->Query(absl::StrCat("SELECT id FROM accounts WHERE tenant = $1 AND "
                              "id = $2",
                              db_->dialect().for_update),
                 {tenant, id}));
    if (rows.empty()) return NotFound(id);
    RETURN_IF_ERROR(AppendAccountEvent(*c.operator->(), db_->dialect(), tenant,
                                       id, AccountEventType::kDeleted, "",
                                       absl::Now()));
    RETURN_IF_ERROR(
        c->Query("DELETE FROM accounts WHERE tenant = $1 AND id = $2",
                 {tenant, id})
            .status());
    return c
        ->Query("DELETE FROM account_rate_limits WHERE tenant = $1 AND "
                "account_id = $2",
                {tenant, id})
        .status();
  });
}

absl::Status CredentialStore::WithLockedAccount(const std::string& tenant,
                                                const std::string& id,
                                                absl::Duration lock_timeout,
                                                const LockedUpdate& fn,
                                                bool relink) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, lock_timeout, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> rows,
        c->Query(absl::StrCat("SELECT ", kColumns,
                              " FROM accounts WHERE tenant = $1 AND id = $2",
                              db_->dialect().for_update),
                 {tenant, id}));
    if (rows.empty()) return NotFound(id);
    ASSIGN_OR_RETURN(AccountRecord current, FromRow(rows[0]));
    ASSIGN_OR_RETURN(std::optional<AccountRecord> next, fn(current));
    if (!next) return absl::OkStatus();
    next->tenant = tenant;
    next->id = id;
    next->version = current.version + 1;
    std::vector<std::string> values = Values(*next);
    values.push_back(absl::StrCat(current.version));
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> updated,
        c->Query("UPDATE accounts SET provider = $3, status = $4, "
                 "status_reason = $5, ref_type = $6, ref_id = $7, scope = $8, "
                 "link_method = $9, access_expires_ms = $10, created_ms = $11, "
                 "updated_ms = $12, version = $13, access_token = $14, "
                 "refresh_token = $15, end_customer_id = $16 WHERE tenant = "
                 "$1 AND id = $2 AND version = $17 RETURNING id",
                 values));
    if (updated.empty()) {
      return absl::AbortedError("the account changed during the update");
    }
    store::SqlConnection& conn = *c.operator->();
    if (relink) {
      RETURN_IF_ERROR(AppendAccountEvent(conn, db_->dialect(), tenant, id,
                                         AccountEventType::kRelinked, "",
                                         next->updated_at));
    }
    if (current.status == next->status) return absl::OkStatus();
    return next->status == AccountStatus::kNeedsReauth
               ? AppendAccountEvent(conn, db_->dialect(), tenant, id,
                                    AccountEventType::kNeedsReauth,
                                    next->status_reason, next->updated_at)
               : AppendAccountEvent(conn, db_->dialect(), tenant, id,
                                    AccountEventType::kRecovered, "",
                                    next->updated_at);
  });
}

absl::Status CredentialStore::LogAccountEvent(const std::string& tenant,
                                              const std::string& id,
                                              AccountEventType type,
                                              const std::string& reason,
                                              absl::Time at) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, kEventLockTimeout, [&]() -> absl::Status {
    return AppendAccountEvent(*c.operator->(), db_->dialect(), tenant, id, type,
                              reason, at);
  });
}

absl::Status CredentialStore::MarkRateLimited(const std::string& tenant,
                                              const std::string& id,
                                              absl::Time until,
                                              absl::Time now) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, kEventLockTimeout, [&]() -> absl::Status {
    store::SqlConnection& conn = *c.operator->();
    // The account's row lock orders this against a deletion.
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> account,
        conn.Query(absl::StrCat("SELECT id FROM accounts WHERE tenant = $1 "
                                "AND id = $2",
                                db_->dialect().for_update),
                   {tenant, id}));
    if (account.empty()) return NotFound(id);
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> rows,
        conn.Query("SELECT until_ms FROM account_rate_limits WHERE tenant = "
                   "$1 AND account_id = $2",
                   {tenant, id}));
    if (!rows.empty()) {
      // Limited already (an end not yet cleared counts): keep the later end.
      return conn
          .Query(
              "UPDATE account_rate_limits SET until_ms = $3 WHERE tenant = "
              "$1 AND account_id = $2 AND until_ms < $3",
              {tenant, id, store::SqlMillis(until)})
          .status();
    }
    RETURN_IF_ERROR(conn.Query("INSERT INTO account_rate_limits (tenant, "
                               "account_id, until_ms) VALUES ($1, $2, $3)",
                               {tenant, id, store::SqlMillis(until)})
                        .status());
    return AppendAccountEvent(
        conn, db_->dialect(), tenant, id, AccountEventType::kRateLimited,
        absl::FormatTime(absl::RFC3339_sec, until, absl::UTCTimeZone()), now);
  });
}

absl::Status CredentialStore::ClearRateLimits(absl::Time now) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return store::InTransaction(c, kEventLockTimeout, [&]() -> absl::Status {
    store::SqlConnection& conn = *c.operator->();
    // Only the replica whose DELETE removes a row logs its end.
    ASSIGN_OR_RETURN(
        std::vector<store::SqlRow> ended,
        conn.Query("DELETE FROM account_rate_limits WHERE until_ms <= $1 "
                   "RETURNING tenant, account_id",
                   {store::SqlMillis(now)}));
    for (const store::SqlRow& r : ended) {
      RETURN_IF_ERROR(AppendAccountEvent(
          conn, db_->dialect(), r[0].value_or(""), r[1].value_or(""),
          AccountEventType::kRateLimitCleared, "", now));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<AccountEvent>> CredentialStore::ReadAccountEvents(
    const std::string& tenant, int64_t after, int limit) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<store::SqlRow> rows,
      c->Query(absl::StrCat("SELECT seq, account_id, type, reason, at_ms, "
                            "end_customer_id FROM account_events WHERE "
                            "tenant = $1 AND seq > "
                            "$2 ORDER BY seq LIMIT ",
                            std::max(1, limit)),
               {tenant, absl::StrCat(after)}));
  std::vector<AccountEvent> out;
  for (const store::SqlRow& r : rows) {
    out.push_back({store::SqlInt(r[0]), r[1].value_or(""),
                   static_cast<AccountEventType>(store::SqlInt(r[2])),
                   r[3].value_or(""), store::SqlTime(r[4]),
                   r[5].value_or("")});
  }
  return out;
}

absl::StatusOr<int64_t> CredentialStore::AccountEventPosition(
    const std::string& tenant) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<store::SqlRow> rows,
                   c->Query("SELECT last_seq FROM account_event_tenants WHERE "
                            "tenant = $1",
                            {tenant}));
  return rows.empty() ? 0 : store::SqlInt(rows[0][0]);
}

absl::Status CredentialStore::ConsumeOnce(const std::string& nonce,
                                          absl::Time expires, absl::Time now) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  RETURN_IF_ERROR(c->Query("DELETE FROM consumed_states WHERE expires_ms < $1",
                           {store::SqlMillis(now)})
                      .status());
  return c
      ->Query("INSERT INTO consumed_states (nonce, expires_ms) VALUES ($1, $2)",
              {nonce, store::SqlMillis(expires)})
      .status();
}

}  // namespace unified::accounts
