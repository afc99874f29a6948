#include "service/webhooks/webhook_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"
#include "service/accounts/credential_store.h"

namespace unified::webhooks {
namespace {

using store::InTransaction;
using store::SqlConnection;
using store::SqlDatabase;
using store::SqlInt;
using store::SqlMillis;
using store::SqlRow;
using store::SqlText;
using store::SqlTime;

constexpr absl::Duration kLockTimeout = absl::Seconds(10);

constexpr char kColumns[] =
    "SELECT tenant, url, sealed_secret, status, dir_tseq, acct_seq, "
    "attempts, first_failure_ms, next_attempt_ms, last_error, "
    "previous_secret, previous_until_ms FROM webhook_endpoints ";

Endpoint FromRow(const SqlRow& r) {
  Endpoint e;
  e.tenant = SqlText(r[0]);
  e.url = SqlText(r[1]);
  e.sealed_secret = SqlText(r[2]);
  e.status = static_cast<EndpointStatus>(SqlInt(r[3]));
  e.dir_tseq = SqlInt(r[4]);
  e.acct_seq = SqlInt(r[5]);
  e.attempts = static_cast<int>(SqlInt(r[6]));
  e.first_failure = SqlInt(r[7]) == 0 ? absl::InfinitePast() : SqlTime(r[7]);
  e.next_attempt = SqlInt(r[8]) == 0 ? absl::InfinitePast() : SqlTime(r[8]);
  e.last_error = SqlText(r[9]);
  e.previous_sealed_secret = SqlText(r[10]);
  e.previous_until = SqlInt(r[11]) == 0 ? absl::InfinitePast() : SqlTime(r[11]);
  return e;
}

}  // namespace

absl::Status WebhookStore::Set(const std::string& tenant,
                               const std::string& url,
                               const std::string& sealed_secret,
                               int64_t dir_tseq, int64_t acct_seq,
                               const PreviousSecret& previous) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    // The cursors move on only for another URL.
    return c
        ->Query(
            "INSERT INTO webhook_endpoints (tenant, url, sealed_secret, "
            "status, dir_tseq, acct_seq, attempts, first_failure_ms, "
            "next_attempt_ms, last_error, lease_ms, lease_owner, "
            "previous_secret, previous_until_ms) VALUES ($1, $2, $3, 1, $4, "
            "$5, 0, 0, 0, '', 0, '', $6, $7) ON CONFLICT (tenant) DO "
            "UPDATE SET sealed_secret = $3, status = 1, attempts = 0, "
            "previous_secret = $6, previous_until_ms = $7, "
            "first_failure_ms = 0, next_attempt_ms = 0, last_error = '', "
            "dir_tseq = CASE WHEN webhook_endpoints.url = $2 THEN "
            "webhook_endpoints.dir_tseq ELSE $4 END, acct_seq = CASE WHEN "
            "webhook_endpoints.url = $2 THEN webhook_endpoints.acct_seq ELSE "
            "$5 END, url = $2",
            {tenant, url, sealed_secret, absl::StrCat(dir_tseq),
             absl::StrCat(acct_seq), previous.sealed,
             previous.until == absl::InfinitePast()
                 ? std::string("0")
                 : SqlMillis(previous.until)})
        .status();
  });
}

absl::StatusOr<std::optional<Endpoint>> WebhookStore::Get(
    const std::string& tenant) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat(kColumns, "WHERE tenant = $1"), {tenant}));
  if (rows.empty()) return std::nullopt;
  return FromRow(rows[0]);
}

absl::StatusOr<bool> WebhookStore::Delete(const std::string& tenant) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                   c->Query("DELETE FROM webhook_endpoints WHERE tenant = $1 "
                            "RETURNING tenant",
                            {tenant}));
  return !rows.empty();
}

absl::StatusOr<std::vector<Endpoint>> WebhookStore::Claim(
    absl::Time now, absl::Duration lease, const std::string& owner, int limit) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  std::vector<Endpoint> out;
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    out.clear();
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        c->Query(absl::StrCat(kColumns,
                              "WHERE status = 1 AND next_attempt_ms <= $1 "
                              "AND lease_ms <= $1 ORDER BY tenant LIMIT ",
                              std::max(1, limit), db_->dialect().for_update),
                 {SqlMillis(now)}));
    for (const SqlRow& r : rows) {
      out.push_back(FromRow(r));
      RETURN_IF_ERROR(
          c->Query("UPDATE webhook_endpoints SET lease_ms = $2, "
                   "lease_owner = $3 WHERE tenant = $1",
                   {out.back().tenant, SqlMillis(now + lease), owner})
              .status());
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<bool> WebhookStore::Delivered(const std::string& tenant,
                                             const std::string& owner,
                                             bool directory, int64_t position) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(absl::StrCat("UPDATE webhook_endpoints SET ",
                            directory ? "dir_tseq" : "acct_seq",
                            " = $3, attempts = 0, first_failure_ms = 0, "
                            "next_attempt_ms = 0, last_error = '' WHERE "
                            "tenant = $1 AND lease_owner = $2 RETURNING "
                            "tenant"),
               {tenant, owner, absl::StrCat(position)}));
  return !rows.empty();
}

absl::StatusOr<bool> WebhookStore::Failed(const std::string& tenant,
                                          const std::string& owner,
                                          const std::string& error,
                                          absl::Time now,
                                          absl::Time next_attempt,
                                          bool give_up) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  bool held = false;
  RETURN_IF_ERROR(InTransaction(c, kLockTimeout, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        c->Query("UPDATE webhook_endpoints SET attempts = attempts + 1, "
                 "first_failure_ms = CASE WHEN first_failure_ms = 0 THEN $4 "
                 "ELSE first_failure_ms END, next_attempt_ms = $5, "
                 "last_error = $3, status = $6, lease_ms = 0 WHERE tenant = "
                 "$1 AND lease_owner = $2 RETURNING tenant",
                 {tenant, owner, error, SqlMillis(now), SqlMillis(next_attempt),
                  give_up ? "2" : "1"}));
    held = !rows.empty();
    if (!held || !give_up) return absl::OkStatus();
    return accounts::AppendAccountEvent(
        *c.operator->(), db_->dialect(), tenant, "",
        accounts::AccountEventType::kWebhookEndpointFailing, error, now);
  }));
  return held;
}

absl::Status WebhookStore::Release(const std::string& tenant,
                                   const std::string& owner) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE webhook_endpoints SET lease_ms = 0 WHERE tenant = $1 AND "
          "lease_owner = $2",
          {tenant, owner})
      .status();
}

}  // namespace unified::webhooks
