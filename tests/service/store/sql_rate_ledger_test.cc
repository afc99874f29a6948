// The rate ledger in the store's database, on both backends: it decides as
// the in-memory ledger does, over a long run of every operation, and each
// decision costs the database round trips its contract names.
#include "service/store/sql_rate_ledger.h"

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"

namespace unified::store {
namespace {

using ::unified::testing::IsOk;

// Counts the round trips to a database it does not own: each statement and
// each transaction's start (one, on both backends).
class CountingDatabase final : public SqlDatabase {
 public:
  explicit CountingDatabase(SqlDatabase* inner) : inner_(inner) {}

  absl::StatusOr<Lease> Acquire() override {
    absl::StatusOr<Lease> lease = inner_->Acquire();
    if (!lease.ok()) return lease.status();
    return Lease(
        this, std::make_unique<Connection>(std::move(*lease), &round_trips_));
  }
  const SqlDialect& dialect() const override { return inner_->dialect(); }

  int round_trips() const { return round_trips_.load(); }

 protected:
  void Release(std::unique_ptr<SqlConnection> connection) override {
    connection.reset();  // Gives the inner lease back.
  }

 private:
  class Connection final : public SqlConnection {
   public:
    Connection(Lease inner, std::atomic<int>* round_trips)
        : inner_(std::move(inner)), round_trips_(round_trips) {}
    absl::StatusOr<std::vector<SqlRow>> Query(
        absl::string_view sql,
        const std::vector<std::string>& params) override {
      ++*round_trips_;
      return inner_->Query(sql, params);
    }
    absl::Status BeginLocked(absl::Duration lock_timeout) override {
      ++*round_trips_;
      return inner_->BeginLocked(lock_timeout);
    }
    bool healthy() const override { return inner_->healthy(); }

   private:
    Lease inner_;
    std::atomic<int>* round_trips_;
  };

  SqlDatabase* const inner_;
  std::atomic<int> round_trips_{0};
};

class SqlRateLedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = accounts::FreshStoreUrl(GetParam());
    ASSERT_FALSE(url_.empty());
    auto store = accounts::CredentialStore::OpenUrl(url_);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }

  int64_t RowsOf(const std::string& key) {
    auto c = store_->database()->Acquire();
    EXPECT_THAT(c, IsOk());
    auto rows = (*c)->Query(
        "SELECT COUNT(*) FROM rate_calls WHERE identity = $1", {key});
    EXPECT_THAT(rows, IsOk());
    return SqlInt((*rows)[0][0]);
  }

  std::string url_;
  std::unique_ptr<accounts::CredentialStore> store_;
  const absl::Time t0_ = absl::FromUnixSeconds(1767225600);
};

std::string Describe(const BudgetState& s) {
  return absl::StrCat(s.limit, "/", s.remaining, " ", s.restricted_limit, "/",
                      s.restricted_remaining, " until ",
                      absl::FormatTime(s.blocked_until));
}

// A seeded run of takes, headers, 420s and reads on three identities of two
// providers with limits of their own, over many windows: every answer
// equals the in-memory ledger's.
TEST_P(SqlRateLedgerTest, DecidesAsTheMemoryLedgerDoes) {
  RateBudgetOptions options;
  options.limit = 20;
  options.restricted_limit = 5;
  options.window = absl::Minutes(10);
  options.window_margin = 0.02;
  options.providers["scim"] = {8, 8};
  auto memory = NewMemoryRateLedger(options);
  auto sql = NewSqlRateLedger(store_->database(), options);
  std::mt19937 random(20261203);
  auto pick = [&](int n) {
    return std::uniform_int_distribution<int>(0, n - 1)(random);
  };
  absl::Time now = t0_;
  int taken = 0;
  int refused = 0;
  for (int step = 0; step < 2000; ++step) {
    now += absl::Milliseconds(pick(20000));
    const int who = pick(3);
    const std::string key = who == 0   ? "podio:user:1/c"
                            : who == 1 ? "podio:app:7/c"
                                       : "scim:token:3/c";
    const RateClass cls =
        pick(4) == 0 ? RateClass::kRestricted : RateClass::kNormal;
    SCOPED_TRACE(absl::StrCat("step ", step, " ", key));
    const int op = pick(20);
    if (op < 12) {
      auto want = memory->TryTake(key, cls, now);
      auto got = sql->TryTake(key, cls, now);
      ASSERT_THAT(got, IsOk());
      ASSERT_EQ(*got, *want);
      (got->has_value() ? refused : taken)++;
    } else if (op < 15) {
      const std::optional<int64_t> limit =
          pick(3) == 0 ? std::nullopt
                       : std::optional<int64_t>(
                             std::vector<int64_t>{0, 20, 30, 5}[pick(4)]);
      const std::optional<int64_t> remaining =
          pick(3) == 0 ? std::nullopt : std::optional<int64_t>(pick(32) - 1);
      ASSERT_THAT(memory->Observe(key, cls, limit, remaining, now), IsOk());
      ASSERT_THAT(sql->Observe(key, cls, limit, remaining, now), IsOk());
    } else if (op < 16) {
      const std::optional<absl::Duration> wait =
          pick(2) == 0 ? std::nullopt
                       : std::optional<absl::Duration>(absl::Seconds(30));
      ASSERT_THAT(memory->Block(key, wait, now), IsOk());
      ASSERT_THAT(sql->Block(key, wait, now), IsOk());
    } else {
      auto want = memory->State(key, now);
      auto got = sql->State(key, now);
      ASSERT_THAT(got, IsOk());
      ASSERT_EQ(Describe(*got), Describe(*want));
    }
  }
  // The run went through full windows and free ones alike.
  EXPECT_GT(taken, 200);
  EXPECT_GT(refused, 100);
}

// Replicas taking from one identity at once take exactly its limit: each
// take counts the calls committed before it got the row's lock.
TEST_P(SqlRateLedgerTest, ConcurrentTakesFromTwoStoresStopAtTheLimit) {
  RateBudgetOptions options;
  options.limit = 50;
  auto other = accounts::CredentialStore::OpenUrl(url_);
  ASSERT_THAT(other, IsOk());
  auto a = NewSqlRateLedger(store_->database(), options);
  auto b = NewSqlRateLedger((*other)->database(), options);
  std::atomic<int> taken{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, ledger = t % 2 == 0 ? a.get() : b.get()] {
      for (int i = 0; i < 20; ++i) {
        auto got = ledger->TryTake("podio:user:1/c", RateClass::kNormal, t0_);
        if (!got.ok()) {
          ++failed;
        } else if (!got->has_value()) {
          ++taken;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(taken.load(), 50);
}

// A take is BEGIN, the row's lock, its counts, one insert and COMMIT;
// headers that agree with the ledger, and a read of the state, are one
// statement each.
TEST_P(SqlRateLedgerTest, EachDecisionCostsFewRoundTrips) {
  RateBudgetOptions options;
  options.limit = 1000;
  CountingDatabase db(store_->database());
  auto ledger = NewSqlRateLedger(&db, options);
  const std::string key = "podio:user:1/c";
  ASSERT_THAT(ledger->TryTake(key, RateClass::kNormal, t0_), IsOk());
  auto trips = [&, before = db.round_trips()]() mutable {
    const int n = db.round_trips() - before;
    before = db.round_trips();
    return n;
  };

  EXPECT_EQ(*ledger->TryTake(key, RateClass::kRestricted, t0_), std::nullopt);
  EXPECT_EQ(trips(), 5);
  // Podio's headers after those two calls: 998 of 1,000 left. The limit is
  // learned (written) once.
  ASSERT_THAT(ledger->Observe(key, RateClass::kNormal, 1000, 998, t0_), IsOk());
  EXPECT_GT(trips(), 1);
  EXPECT_EQ(*ledger->TryTake(key, RateClass::kNormal, t0_), std::nullopt);
  EXPECT_EQ(trips(), 5);
  ASSERT_THAT(ledger->Observe(key, RateClass::kNormal, 1000, 997, t0_), IsOk());
  EXPECT_EQ(trips(), 1);
  BudgetState state = *ledger->State(key, t0_);
  EXPECT_EQ(trips(), 1);
  EXPECT_EQ(state.remaining, 997);
  EXPECT_EQ(state.restricted_remaining, 249);

  // Headers that say more: the change is written, under the row lock.
  ASSERT_THAT(ledger->Observe(key, RateClass::kNormal, 1000, 990, t0_), IsOk());
  EXPECT_GT(trips(), 1);
  EXPECT_EQ(ledger->State(key, t0_)->remaining, 990);
}

// Calls that left the window are not counted, and are deleted a batch at a
// time by a take.
TEST_P(SqlRateLedgerTest, CallsThatLeftTheWindowAreDeletedInBatches) {
  RateBudgetOptions options;
  options.limit = 1000;
  auto ledger = NewSqlRateLedger(store_->database(), options);
  const std::string key = "podio:user:1/c";
  for (int i = 0; i < 63; ++i) {
    ASSERT_EQ(*ledger->TryTake(key, RateClass::kNormal, t0_), std::nullopt);
  }
  const absl::Time later = t0_ + absl::Hours(1);
  EXPECT_EQ(ledger->State(key, later)->remaining, 1000);
  // 63 old calls: fewer than a batch, kept.
  ASSERT_EQ(*ledger->TryTake(key, RateClass::kNormal, later), std::nullopt);
  EXPECT_EQ(RowsOf(key), 64);
  EXPECT_EQ(ledger->State(key, later)->remaining, 999);
  // A batch: the next take deletes all 64 that left the window.
  const absl::Time after = later + absl::Hours(1);
  ASSERT_EQ(*ledger->TryTake(key, RateClass::kNormal, after), std::nullopt);
  EXPECT_EQ(RowsOf(key), 1);
  EXPECT_EQ(ledger->State(key, after)->remaining, 999);
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlRateLedgerTest,
                         ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace unified::store
