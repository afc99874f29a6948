#include "service/store/sql_rate_ledger.h"

#include <algorithm>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"

namespace unified::store {
namespace {

constexpr absl::Duration kLockTimeout = absl::Seconds(5);

// Calls that left the window are deleted once this many have gathered, in a
// transaction that takes a slot: counts skip them until then.
constexpr int64_t kPruneBatch = 64;

// Each decision costs as few database round trips as it can (a PostgreSQL
// replica pays for each): a take is BEGIN, the row's lock, its counts, one
// insert and COMMIT; a provider's headers that tell nothing new, and a
// State, are one read without a transaction.
class SqlRateLedger final : public RateLedger {
 public:
  SqlRateLedger(SqlDatabase* db, RateBudgetOptions options)
      : db_(db), options_(options) {}

  absl::StatusOr<std::optional<absl::Time>> TryTake(const std::string& key,
                                                    RateClass cls,
                                                    absl::Time now) override {
    std::optional<absl::Time> free_at;
    RETURN_IF_ERROR(Locked(
        key, now, [&](SqlConnection& c, const Snapshot& id) -> absl::Status {
          if (id.blocked_until > now) {
            free_at = id.blocked_until;
            return absl::OkStatus();
          }
          ASSIGN_OR_RETURN(free_at, Full(c, key, id, RateClass::kNormal, now));
          if (!free_at && cls == RateClass::kRestricted) {
            ASSIGN_OR_RETURN(free_at,
                             Full(c, key, id, RateClass::kRestricted, now));
          }
          if (free_at) return absl::OkStatus();
          // A restricted call counts in both classes.
          RETURN_IF_ERROR(
              c.Query(cls == RateClass::kRestricted
                          ? "INSERT INTO rate_calls (identity, class, at_ms) "
                            "VALUES ($1, 0, $2), ($1, 1, $2)"
                          : "INSERT INTO rate_calls (identity, class, at_ms) "
                            "VALUES ($1, 0, $2)",
                      {key, SqlMillis(now)})
                  .status());
          if (id.stale < kPruneBatch) return absl::OkStatus();
          return c
              .Query(
                  "DELETE FROM rate_calls WHERE identity = $1 AND at_ms "
                  "<= $2",
                  {key, Cutoff(now)})
              .status();
        }));
    return free_at;
  }

  absl::Status Observe(const std::string& key, RateClass cls,
                       std::optional<int64_t> limit,
                       std::optional<int64_t> remaining,
                       absl::Time now) override {
    // Mostly the headers agree with the ledger: one read shows it.
    {
      ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
      ASSIGN_OR_RETURN(std::optional<Snapshot> id,
                       Read(*c.operator->(), key, now, /*lock=*/false));
      if (id && !WritesOf(key, *id, cls, limit, remaining).any()) {
        return absl::OkStatus();
      }
    }
    return Locked(key, now, [&](SqlConnection& c, const Snapshot& id) {
      const HeaderWrites writes = WritesOf(key, id, cls, limit, remaining);
      if (writes.end_blocks) {
        RETURN_IF_ERROR(c.Query("UPDATE rate_identities SET "
                                "consecutive_blocks = 0 WHERE identity = $1",
                                {key})
                            .status());
      }
      if (writes.limit) {
        RETURN_IF_ERROR(
            c.Query(cls == RateClass::kNormal
                        ? "UPDATE rate_identities SET limit_normal = $2 "
                          "WHERE identity = $1"
                        : "UPDATE rate_identities SET limit_restricted = $2 "
                          "WHERE identity = $1",
                    {key, absl::StrCat(*writes.limit)})
                .status());
      }
      if (writes.missing > 0) {
        RETURN_IF_ERROR(
            c.Query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + "
                    "1 FROM n WHERE i < CAST($4 AS BIGINT)) INSERT INTO "
                    "rate_calls (identity, class, at_ms) SELECT $1, "
                    "CAST($2 AS BIGINT), CAST($3 AS BIGINT) FROM n",
                    {key, absl::StrCat(Index(cls)), SqlMillis(now),
                     absl::StrCat(writes.missing)})
                .status());
      }
      return absl::OkStatus();
    });
  }

  absl::Status Block(const std::string& key, std::optional<absl::Duration> wait,
                     absl::Time now) override {
    return Locked(key, now, [&](SqlConnection& c, const Snapshot& id) {
      int64_t blocks = id.consecutive_blocks;
      const absl::Duration block = BlockDuration(options_, wait, &blocks);
      const absl::Time until = std::max(id.blocked_until, now + block);
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
    ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
    ASSIGN_OR_RETURN(std::optional<Snapshot> read,
                     Read(*c.operator->(), key, now, /*lock=*/false));
    const Snapshot id = read.value_or(Snapshot());
    BudgetState state;
    state.limit = Limit(key, id, RateClass::kNormal);
    state.restricted_limit = Limit(key, id, RateClass::kRestricted);
    state.remaining =
        std::max<int64_t>(0, state.limit - id.calls[Index(RateClass::kNormal)]);
    state.restricted_remaining = std::max<int64_t>(
        0, state.restricted_limit - id.calls[Index(RateClass::kRestricted)]);
    state.blocked_until = id.blocked_until;
    return state;
  }

 private:
  // An identity's row and its calls, as one query reads them.
  struct Snapshot {
    int64_t learned[2] = {0, 0};  // The provider's limits, by class; 0: none.
    absl::Time blocked_until = absl::InfinitePast();
    int64_t consecutive_blocks = 0;
    int64_t calls[2] = {0, 0};  // In the window, by class.
    // Normal calls that left the window, not deleted (up to kPruneBatch; a
    // restricted call is also a normal one).
    int64_t stale = 0;
  };

  static int Index(RateClass cls) { return static_cast<int>(cls); }

  int64_t Limit(absl::string_view key, const Snapshot& id,
                RateClass cls) const {
    return LimitOf(options_, key, cls, id.learned[Index(cls)]);
  }

  // Calls at or before this time have left the window ending at `now`.
  std::string Cutoff(absl::Time now) const {
    return SqlMillis(now - CountedFor(options_));
  }

  // What the provider's headers after a `cls` call change (Observe).
  struct HeaderWrites {
    bool end_blocks = false;       // Any answer ends a run of 420s.
    std::optional<int64_t> limit;  // A limit not learned yet.
    // Calls the provider counted and we did not (another client of the same
    // key, or calls before a restart): counted too, as made now.
    int64_t missing = 0;
    bool any() const { return end_blocks || limit || missing > 0; }
  };
  HeaderWrites WritesOf(absl::string_view key, const Snapshot& id,
                        RateClass cls, std::optional<int64_t> limit,
                        std::optional<int64_t> remaining) const {
    HeaderWrites writes;
    writes.end_blocks = id.consecutive_blocks != 0;
    int64_t learned = id.learned[Index(cls)];
    if (limit && *limit > 0 && *limit != learned) {
      writes.limit = *limit;
      learned = *limit;
    }
    if (remaining && *remaining >= 0) {
      writes.missing = LimitOf(options_, key, cls, learned) - *remaining -
                       id.calls[Index(cls)];
    }
    return writes;
  }

  // The identity's row and its counts; nullopt when it has no row yet.
  // With `lock` the row is locked for the transaction first and counted by
  // the next statement: a statement that waited for the lock still reads
  // with the snapshot it started with (PostgreSQL's READ COMMITTED), which
  // lacks the calls the lock's holder inserted.
  absl::StatusOr<std::optional<Snapshot>> Read(SqlConnection& c,
                                               const std::string& key,
                                               absl::Time now, bool lock) {
    constexpr absl::string_view kRow =
        "SELECT limit_normal, limit_restricted, blocked_until_ms, "
        "consecutive_blocks";
    constexpr absl::string_view kCounts =
        "(SELECT COUNT(*) FROM rate_calls WHERE identity = $1 AND class = 0 "
        "AND at_ms > $2), (SELECT COUNT(*) FROM rate_calls WHERE identity = "
        "$1 AND class = 1 AND at_ms > $2), (SELECT COUNT(*) FROM (SELECT 1 "
        "FROM rate_calls WHERE identity = $1 AND class = 0 AND at_ms <= $2 "
        "LIMIT $3) AS stale)";
    const std::vector<std::string> params = {key, Cutoff(now),
                                             absl::StrCat(kPruneBatch)};
    std::vector<SqlRow> rows;
    SqlRow counts;
    if (lock) {
      ASSIGN_OR_RETURN(rows, c.Query(absl::StrCat(kRow,
                                                  " FROM rate_identities WHERE "
                                                  "identity = $1",
                                                  db_->dialect().for_update),
                                     {key}));
      if (rows.empty()) return std::optional<Snapshot>();
      ASSIGN_OR_RETURN(std::vector<SqlRow> counted,
                       c.Query(absl::StrCat("SELECT ", kCounts), params));
      if (counted.empty()) return absl::InternalError("no rate call counts");
      counts = std::move(counted[0]);
    } else {
      ASSIGN_OR_RETURN(rows, c.Query(absl::StrCat(kRow, ", ", kCounts,
                                                  " FROM rate_identities "
                                                  "WHERE identity = $1"),
                                     params));
      if (rows.empty()) return std::optional<Snapshot>();
      counts.assign(rows[0].begin() + 4, rows[0].end());
    }
    const SqlRow& row = rows[0];
    Snapshot id;
    id.learned[0] = SqlInt(row[0]);
    id.learned[1] = SqlInt(row[1]);
    const int64_t blocked = SqlInt(row[2]);
    id.blocked_until =
        blocked > 0 ? absl::FromUnixMillis(blocked) : absl::InfinitePast();
    id.consecutive_blocks = SqlInt(row[3]);
    id.calls[0] = SqlInt(counts[0]);
    id.calls[1] = SqlInt(counts[1]);
    id.stale = SqlInt(counts[2]);
    return std::optional<Snapshot>(id);
  }

  // Runs `body` on the identity's locked row (made on first use) and counts;
  // commits when it succeeds.
  absl::Status Locked(
      const std::string& key, absl::Time now,
      const std::function<absl::Status(SqlConnection&, Snapshot)>& body) {
    ASSIGN_OR_RETURN(SqlDatabase::Lease c, db_->Acquire());
    SqlConnection& conn = *c.operator->();
    return InTransaction(c, kLockTimeout, [&]() -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<Snapshot> id,
                       Read(conn, key, now, /*lock=*/true));
      if (!id) {
        RETURN_IF_ERROR(
            conn.Query("INSERT INTO rate_identities (identity, limit_normal, "
                       "limit_restricted, blocked_until_ms, "
                       "consecutive_blocks) VALUES ($1, 0, 0, 0, 0) ON "
                       "CONFLICT (identity) DO NOTHING",
                       {key})
                .status());
        ASSIGN_OR_RETURN(id, Read(conn, key, now, /*lock=*/true));
        if (!id) return absl::InternalError("rate identity vanished");
      }
      return body(conn, *id);
    });
  }

  // When `cls` has no room: the time its oldest counted call leaves the
  // window (or now, when the limit was lowered below the count).
  absl::StatusOr<std::optional<absl::Time>> Full(SqlConnection& c,
                                                 const std::string& key,
                                                 const Snapshot& id,
                                                 RateClass cls,
                                                 absl::Time now) {
    const int64_t limit = Limit(key, id, cls);
    const int64_t count = id.calls[Index(cls)];
    if (count < limit) return std::optional<absl::Time>();
    ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        c.Query("SELECT at_ms FROM rate_calls WHERE identity = $1 AND class "
                "= $2 AND at_ms > $3 ORDER BY at_ms LIMIT 1 OFFSET $4",
                {key, absl::StrCat(Index(cls)), Cutoff(now),
                 absl::StrCat(std::max<int64_t>(0, count - limit))}));
    const int64_t oldest = rows.empty() ? 0 : SqlInt(rows[0][0]);
    return std::optional<absl::Time>(absl::FromUnixMillis(oldest) +
                                     CountedFor(options_));
  }

  SqlDatabase* const db_;
  const RateBudgetOptions options_;
};

}  // namespace

std::unique_ptr<RateLedger> NewSqlRateLedger(SqlDatabase* db,
                                             RateBudgetOptions options) {
  return std::make_unique<SqlRateLedger>(db, options);
}

}  // namespace unified::store
