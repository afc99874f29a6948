#include "service/link/link_store.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/core/random_token.h"

namespace unified::link {
namespace {

constexpr char kColumns[] =
    "token_hash, tenant, end_customer_id, display_name, providers, "
    "account_id, return_url, state, expires_ms, used_ms, failures, "
    "linked_account_id";

LinkSession FromRow(const store::SqlRow& row) {
  LinkSession s;
  s.token_hash = store::SqlText(row[0]);
  s.tenant = store::SqlText(row[1]);
  s.end_customer_id = store::SqlText(row[2]);
  s.display_name = store::SqlText(row[3]);
  const std::string providers = store::SqlText(row[4]);
  if (!providers.empty()) s.providers = absl::StrSplit(providers, ',');
  s.account_id = store::SqlText(row[5]);
  s.return_url = store::SqlText(row[6]);
  s.state = store::SqlText(row[7]);
  s.expires = store::SqlTime(row[8]);
  s.used = store::SqlTime(row[9]);
  s.failures = store::SqlInt(row[10]);
  s.linked_account_id = store::SqlText(row[11]);
  return s;
}

}  // namespace

std::string HashLinkToken(const std::string& token) { return Sha256Hex(token); }

NewToken MakeLinkToken() {
  NewToken out;
  const std::string random = RandomUrlToken();
  if (random.empty()) return out;
  out.token = absl::StrCat("lt_", random);
  out.hash = HashLinkToken(out.token);
  return out;
}

absl::Status LinkSessionStore::Create(const LinkSession& s, absl::Time now) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  RETURN_IF_ERROR(c->Query("DELETE FROM link_sessions WHERE expires_ms < $1",
                           {store::SqlMillis(now - absl::Hours(24))})
                      .status());
  return c
      ->Query(absl::StrCat("INSERT INTO link_sessions (", kColumns,
                           ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, "
                           "0, '')"),
              {s.token_hash, s.tenant, s.end_customer_id, s.display_name,
               absl::StrJoin(s.providers, ","), s.account_id, s.return_url,
               s.state, store::SqlMillis(s.expires)})
      .status();
}

absl::StatusOr<LinkSession> LinkSessionStore::Get(
    const std::string& token_hash) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(std::vector<store::SqlRow> rows,
                   c->Query(absl::StrCat("SELECT ", kColumns,
                                         " FROM link_sessions WHERE "
                                         "token_hash = $1"),
                            {token_hash}));
  if (rows.empty()) {
    return WithErrorInfo(absl::NotFoundError("no such link session"),
                         "LINK_TOKEN_UNKNOWN");
  }
  return FromRow(rows[0]);
}

absl::Status LinkSessionStore::Claim(const std::string& token_hash,
                                     absl::Time now) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<store::SqlRow> rows,
      c->Query("UPDATE link_sessions SET used_ms = $2 WHERE token_hash = $1 "
               "AND used_ms = 0 RETURNING token_hash",
               {token_hash, store::SqlMillis(now)}));
  if (rows.empty()) {
    return WithErrorInfo(
        absl::AlreadyExistsError("the link session was used already"),
        "LINK_TOKEN_USED");
  }
  return absl::OkStatus();
}

absl::Status LinkSessionStore::Finish(const std::string& token_hash,
                                      const std::string& account_id) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE link_sessions SET linked_account_id = $2 WHERE "
          "token_hash = $1",
          {token_hash, account_id})
      .status();
}

absl::Status LinkSessionStore::Release(const std::string& token_hash) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(
          "UPDATE link_sessions SET used_ms = 0 WHERE token_hash = $1 "
          "AND linked_account_id = ''",
          {token_hash})
      .status();
}

absl::StatusOr<int64_t> LinkSessionStore::AddFailure(
    const std::string& token_hash) {
  ASSIGN_OR_RETURN(store::SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<store::SqlRow> rows,
      c->Query("UPDATE link_sessions SET failures = failures + 1 WHERE "
               "token_hash = $1 RETURNING failures",
               {token_hash}));
  return rows.empty() ? 0 : store::SqlInt(rows[0][0]);
}

}  // namespace unified::link
