#include "service/accounts/sql_rate_ledger.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"

namespace unified::accounts {
namespace {

constexpr absl::Duration kLockTimeout = absl::Seconds(5);

class SqlRateLedger final : public RateLedger {
 public:
  SqlRateLedger(SqlDatabase* db, RateBudgetOptions options)
      : db_(db), options_(options) {}

  absl::StatusOr<std::optional<absl::Time>> TryTake(const std::string& key,
                                                    RateClass cls,
                                                    absl::Time now) override {
    std::optional<absl::Time> free_at;
    RETURN_IF_ERROR(
        Locked(key, now, [&](SqlConnection& c, const Row& row) -> absl::Status {
          if (row.blocked_until > now) {
            free_at = row.blocked_until;
            return absl::OkStatus();
          }
          ASSIGN_OR_RETURN(free_at, Full(c, key, RateClass::kNormal,
                                         Limit(row, RateClass::kNormal)));
          if (!free_at && cls == RateClass::kRestricted) {
            ASSIGN_OR_RETURN(free_at, Full(c, key, RateClass::kRestricted,
                                           Limit(row, RateClass::kRestricted)));
          }
          if (free_at) return absl::OkStatus();
          RETURN_IF_ERROR(Insert(c, key, RateClass::kNormal, now, 1));
          if (cls == RateClass::kRestricted) {
            RETURN_IF_ERROR(Insert(c, key, RateClass::kRestricted, now, 1));
          }
          return absl::OkStatus();
        }));
    return free_at;
  }

  absl::Status Observe(const std::string& key, RateClass cls,
                       std::optional<int64_t> limit,
                       std::optional<int64_t> remaining,
                       absl::Time now) override {
    return Locked(key, now, [&](SqlConnection& c, Row row) -> absl::Status {
      // Any answer ends a run of 420s (as in the in-memory ledger).
      if (row.consecutive_blocks != 0) {
        RETURN_IF_ERROR(c.Query("UPDATE rate_identities SET "
                                "consecutive_blocks = 0 WHERE identity = $1",
                                {key})
                            .status());
      }
      if (limit && *limit > 0) {
        RETURN_IF_ERROR(
            c.Query(cls == RateClass::kNormal
                        ? "UPDATE rate_identities SET limit_normal = $2 "
                          "WHERE identity = $1"
                        : "UPDATE rate_identities SET limit_restricted = $2 "
                          "WHERE identity = $1",
                    {key, absl::StrCat(*limit)})
                .status());
        (cls == RateClass::kNormal ? row.limit_normal : row.limit_restricted) =
            *limit;
      }
      if (remaining && *remaining >= 0) {
        ASSIGN_OR_RETURN(int64_t count, Count(c, key, cls));
        const int64_t used = Limit(row, cls) - *remaining;
        if (used > count) {
          RETURN_IF_ERROR(Insert(c, key, cls, now, used - count));
        }
      }
      return absl::OkStatus();
    });
  }

  absl::Status Block(const std::string& key, std::optional<absl::Duration> wait,
                     absl::Time now) override {
    return Locked(key, now, [&](SqlConnection& c, const Row& row) {
      int64_t blocks = row.consecutive_blocks;
      const absl::Duration block = BlockDuration(options_, wait, &blocks);
      const absl::Time until = std::max(row.blocked_until, now + block);
      return c
          .Query(
              "UPDATE rate_identities SET blocked_until_ms = $2, "
              "consecutive_blocks = $3 WHERE identity = $1",
              {key, SqlMillis(until), absl::StrCat(blocks)})
          .status();
    });
  }

  absl::StatusOr<BudgetState> State(const std::string& key,
                                    absl::Time now) override {
    BudgetState state;
    RETURN_IF_ERROR(
        Locked(key, now, [&](SqlConnection& c, const Row& row) -> absl::Status {
          state.limit = Limit(row, RateClass::kNormal);
          state.restricted_limit = Limit(row, RateClass::kRestricted);
          ASSIGN_OR_RETURN(int64_t normal, Count(c, key, RateClass::kNormal));
          ASSIGN_OR_RETURN(int64_t restricted,
                           Count(c, key, RateClass::kRestricted));
          state.remaining = std::max<int64_t>(0, state.limit - normal);
          state.restricted_remaining =
              std::max<int64_t>(0, state.restricted_limit - restricted);
          state.blocked_until = row.blocked_until;
          return absl::OkStatus();
        }));
    return state;
  }

 private:
  struct Row {
    int64_t limit_normal = 0;
    int64_t limit_restricted = 0;
    absl::Time blocked_until = absl::InfinitePast();
    int64_t consecutive_blocks = 0;
  };

  int64_t Limit(const Row& row, RateClass cls) const {
    return LimitOf(
        options_, cls,
        cls == RateClass::kNormal ? row.limit_normal : row.limit_restricted);
  }

  // Runs `body` on the identity's locked row, after forgetting calls that
  // left the window; commits when it succeeds.
  absl::Status Locked(
      const std::string& key, absl::Time now,
      const std::function<absl::Status(SqlConnection&, Row)>& body) {
    ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
    return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
      RETURN_IF_ERROR(
          c->Query("INSERT INTO rate_identities (identity, limit_normal, "
                   "limit_restricted, blocked_until_ms, consecutive_blocks) "
                   "VALUES ($1, 0, 0, 0, 0) ON CONFLICT (identity) DO NOTHING",
                   {key})
              .status());
      ASSIGN_OR_RETURN(
          std::vector<SqlRow> rows,
          c->Query(absl::StrCat("SELECT limit_normal, limit_restricted, "
                                "blocked_until_ms, consecutive_blocks FROM "
                                "rate_identities WHERE identity = $1",
                                db_->dialect().for_update),
                   {key}));
      if (rows.empty()) return absl::InternalError("rate identity vanished");
      Row row;
      row.limit_normal = SqlInt(rows[0][0]);
      row.limit_restricted = SqlInt(rows[0][1]);
      const int64_t blocked = SqlInt(rows[0][2]);
      row.blocked_until =
          blocked > 0 ? absl::FromUnixMillis(blocked) : absl::InfinitePast();
      row.consecutive_blocks = SqlInt(rows[0][3]);
      RETURN_IF_ERROR(c->Query("DELETE FROM rate_calls WHERE identity = $1 "
                               "AND at_ms <= $2",
                               {key, SqlMillis(now - CountedFor(options_))})
                          .status());
      return body(*c.operator->(), row);
    });
  }

  absl::StatusOr<int64_t> Count(SqlConnection& c, const std::string& key,
                                RateClass cls) {
    ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                     c.Query("SELECT COUNT(*) FROM rate_calls WHERE identity "
                             "= $1 AND class = $2",
                             {key, absl::StrCat(static_cast<int>(cls))}));
    return rows.empty() ? 0 : SqlInt(rows[0][0]);
  }

  absl::StatusOr<std::optional<absl::Time>> Full(SqlConnection& c,
                                                 const std::string& key,
                                                 RateClass cls, int64_t limit) {
    ASSIGN_OR_RETURN(int64_t count, Count(c, key, cls));
    if (count < limit) return std::optional<absl::Time>();
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        c.Query("SELECT at_ms FROM rate_calls WHERE identity = $1 AND class "
                "= $2 ORDER BY at_ms LIMIT 1 OFFSET $3",
                {key, absl::StrCat(static_cast<int>(cls)),
                 absl::StrCat(std::max<int64_t>(0, count - limit))}));
    const int64_t oldest = rows.empty() ? 0 : SqlInt(rows[0][0]);
    return std::optional<absl::Time>(absl::FromUnixMillis(oldest) +
                                     CountedFor(options_));
  }

  absl::Status Insert(SqlConnection& c, const std::string& key, RateClass cls,
                      absl::Time now, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      RETURN_IF_ERROR(
          c.Query("INSERT INTO rate_calls (identity, class, "
                  "at_ms) VALUES ($1, $2, $3)",
                  {key, absl::StrCat(static_cast<int>(cls)), SqlMillis(now)})
              .status());
    }
    return absl::OkStatus();
  }

  SqlDatabase* const db_;
  const RateBudgetOptions options_;
};

}  // namespace

std::unique_ptr<RateLedger> NewSqlRateLedger(SqlDatabase* db,
                                             RateBudgetOptions options) {
  return std::make_unique<SqlRateLedger>(db, options);
}

}  // namespace unified::accounts
