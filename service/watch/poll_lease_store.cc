#include "service/watch/poll_lease_store.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"
#include "service/watch/watch_sql.h"

namespace unified::watch {

int64_t PollLedger::CallsSince(absl::Time since) const {
  int64_t calls = 0;
  for (const auto& [at, n] : polls) {
    if (at > since) calls += n;
  }
  return calls;
}

void PollLedger::Add(absl::Time at, int64_t calls, absl::Time forget_before) {
  polls.erase(std::remove_if(polls.begin(), polls.end(),
                             [&](const std::pair<absl::Time, int64_t>& p) {
                               return p.first <= forget_before;
                             }),
              polls.end());
  if (calls > 0) polls.emplace_back(at, calls);
}

std::string PollLedger::Encode() const {
  std::string out;
  for (const auto& [at, calls] : polls) {
    absl::StrAppend(&out, out.empty() ? "" : ",", absl::ToUnixMillis(at), ":",
                    calls);
  }
  return out;
}

PollLedger PollLedger::Decode(absl::string_view text) {
  PollLedger ledger;
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(entry, absl::MaxSplits(':', 1));
    int64_t ms = 0;
    int64_t calls = 0;
    if (absl::SimpleAtoi(parts.first, &ms) &&
        absl::SimpleAtoi(parts.second, &calls) && calls > 0) {
      ledger.polls.emplace_back(absl::FromUnixMillis(ms), calls);
    }
  }
  return ledger;
}

absl::StatusOr<std::vector<AccountRef>> PollLeaseStore::DuePolls(
    absl::Time now, absl::Time* oldest_due) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query("SELECT tenant, account_id, next_poll_ms FROM watch_accounts "
               "WHERE baseline_done = 1 AND paused_ms = 0 AND next_poll_ms "
               "<= $1 AND poll_lease_ms <= $1 ORDER BY next_poll_ms, tenant, "
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

absl::StatusOr<std::optional<PollLedger>> PollLeaseStore::ClaimPoll(
    const AccountRef& a, absl::Time now, absl::Duration lease) {
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      c->Query(
          "UPDATE watch_accounts SET poll_lease_ms = $4 WHERE tenant = "
          "$1 AND account_id = $2 AND baseline_done = 1 AND paused_ms = 0 "
          "AND next_poll_ms <= $3 AND poll_lease_ms <= $3 RETURNING "
          "poll_calls",
          {a.tenant, a.account_id, SqlMillis(now), SqlMillis(now + lease)}));
  if (rows.empty()) return std::nullopt;
  return PollLedger::Decode(SqlText(rows[0][0]));
}

absl::Status PollLeaseStore::FinishPoll(const AccountRef& a,
                                        absl::Time next_poll,
                                        const PollLedger* ledger) {
  std::vector<std::string> params = {a.tenant, a.account_id,
                                     SqlMillis(next_poll)};
  std::string calls;
  if (ledger != nullptr) {
    calls = ", poll_calls = $4";
    params.push_back(ledger->Encode());
  }
  ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
  return c
      ->Query(absl::StrCat("UPDATE watch_accounts SET poll_lease_ms = 0, "
                           "next_poll_ms = $3",
                           calls, " WHERE tenant = $1 AND account_id = $2"),
              params)
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

}  // namespace unified::watch
