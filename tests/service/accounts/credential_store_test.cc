// The credential store on both backends: migrations, CRUD within tenants,
// the cross-process account lock and its timeout, single-use values.
#include "service/accounts/credential_store.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/store/sql_rate_ledger.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"

namespace unified::accounts {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::IsOkAndHolds;
using ::unified::testing::StatusIs;

AccountRecord Record(const std::string& tenant, const std::string& id,
                     const std::string& ref_id) {
  AccountRecord r;
  r.tenant = tenant;
  r.id = id;
  r.provider = "podio";
  r.ref_type = "user";
  r.ref_id = ref_id;
  r.scope = "global:all";
  r.link_method = "password";
  r.access_expires_at = absl::FromUnixSeconds(1800000000);
  r.created_at = absl::FromUnixSeconds(1700000000);
  r.updated_at = absl::FromUnixSeconds(1700000001);
  r.sealed_access_token = "v1.k1.sealed-a-" + id;
  r.sealed_refresh_token = "v1.k1.sealed-r-" + id;
  return r;
}

class CredentialStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    url_ = FreshStoreUrl(GetParam());
    ASSERT_FALSE(url_.empty());
    auto store = CredentialStore::OpenUrl(url_);
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }
  std::string url_;
  std::unique_ptr<CredentialStore> store_;
};

TEST_P(CredentialStoreTest, KeepsAccountsWithinTheirTenantAcrossReopen) {
  ASSERT_THAT(store_->Insert(Record("t1", "ia_1", "100")), IsOk());
  ASSERT_THAT(store_->Insert(Record("t1", "ia_2", "200")), IsOk());
  ASSERT_THAT(store_->Insert(Record("t2", "ia_3", "100")), IsOk());
  // The same identity twice in one tenant, or the same id: refused.
  EXPECT_THAT(store_->Insert(Record("t1", "ia_9", "100")),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->Insert(Record("t1", "ia_1", "300")),
              StatusIs(absl::StatusCode::kAlreadyExists));

  store_.reset();  // A restart: everything is still there.
  store_ = *CredentialStore::OpenUrl(url_);
  absl::StatusOr<AccountRecord> got = store_->Get("t1", "ia_1");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->ref_id, "100");
  EXPECT_EQ(got->scope, "global:all");
  EXPECT_EQ(got->access_expires_at, absl::FromUnixSeconds(1800000000));
  EXPECT_EQ(got->sealed_refresh_token, "v1.k1.sealed-r-ia_1");
  EXPECT_EQ(got->status, AccountStatus::kActive);
  // Another tenant's account is simply not there.
  absl::StatusOr<AccountRecord> foreign = store_->Get("t2", "ia_1");
  EXPECT_THAT(foreign, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(GetErrorInfo(foreign.status())->reason(),
            "INTEGRATED_ACCOUNT_NOT_FOUND");
  EXPECT_THAT(store_->Delete("t2", "ia_1"),
              StatusIs(absl::StatusCode::kNotFound));

  auto found = store_->FindByIdentity("t2", "podio", "user", "100");
  ASSERT_THAT(found, IsOk());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "ia_3");

  auto page = store_->List("t1", "", 1);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "ia_1");
  page = store_->List("t1", "ia_1", 10);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, "ia_2");
  auto all = store_->ListAll("t1", "ia_2", 10);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, "ia_3");

  ASSERT_THAT(store_->Delete("t1", "ia_1"), IsOk());
  EXPECT_THAT(store_->Get("t1", "ia_1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(CredentialStoreTest, LockedUpdatesBumpTheVersionOrRollBack) {
  ASSERT_THAT(store_->Insert(Record("t1", "ia_1", "100")), IsOk());
  ASSERT_THAT(store_->WithLockedAccount(
                  "t1", "ia_1", absl::Seconds(5),
                  [](const AccountRecord& current)
                      -> absl::StatusOr<std::optional<AccountRecord>> {
                    AccountRecord next = current;
                    next.sealed_access_token = "v1.k1.new";
                    return next;
                  }),
              IsOk());
  AccountRecord after = *store_->Get("t1", "ia_1");
  EXPECT_EQ(after.sealed_access_token, "v1.k1.new");
  EXPECT_EQ(after.version, 1);
  // An error inside: nothing written.
  EXPECT_THAT(store_->WithLockedAccount(
                  "t1", "ia_1", absl::Seconds(5),
                  [](const AccountRecord& current)
                      -> absl::StatusOr<std::optional<AccountRecord>> {
                    return absl::UnavailableError("refresh failed");
                  }),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(store_->Get("t1", "ia_1")->version, 1);
  EXPECT_THAT(store_->WithLockedAccount(
                  "t1", "ia_404", absl::Seconds(5),
                  [](const AccountRecord&)
                      -> absl::StatusOr<std::optional<AccountRecord>> {
                    return std::nullopt;
                  }),
              StatusIs(absl::StatusCode::kNotFound));
}

// A second holder (another process in production: here another connection)
// waits for the lock and gives up after its timeout with a retryable error.
TEST_P(CredentialStoreTest, TheAccountLockTimesOutCleanly) {
  ASSERT_THAT(store_->Insert(Record("t1", "ia_1", "100")), IsOk());
  auto other = CredentialStore::OpenUrl(url_);
  ASSERT_THAT(other, IsOk());
  absl::Notification held, release;
  std::thread holder([&] {
    EXPECT_THAT(store_->WithLockedAccount(
                    "t1", "ia_1", absl::Seconds(5),
                    [&](const AccountRecord& current)
                        -> absl::StatusOr<std::optional<AccountRecord>> {
                      held.Notify();
                      release.WaitForNotification();
                      AccountRecord next = current;
                      next.sealed_access_token = "v1.k1.holder";
                      return next;
                    }),
                IsOk());
  });
  held.WaitForNotification();
  absl::Status waited = (*other)->WithLockedAccount(
      "t1", "ia_1", absl::Milliseconds(300),
      [](const AccountRecord&) -> absl::StatusOr<std::optional<AccountRecord>> {
        return std::nullopt;
      });
  EXPECT_THAT(waited, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(GetErrorInfo(waited)->reason(), "STORE_LOCK_TIMEOUT");
  release.Notify();
  holder.join();
  // After the holder commits, the other sees its write.
  AccountRecord seen;
  ASSERT_THAT((*other)->WithLockedAccount(
                  "t1", "ia_1", absl::Seconds(5),
                  [&](const AccountRecord& current)
                      -> absl::StatusOr<std::optional<AccountRecord>> {
                    seen = current;
                    return std::nullopt;
                  }),
              IsOk());
  EXPECT_EQ(seen.sealed_access_token, "v1.k1.holder");
}

TEST_P(CredentialStoreTest, AccountChangesAreLoggedOncePerTenantInOrder) {
  const absl::Time now = absl::FromUnixSeconds(1767225600);
  ASSERT_THAT(store_->Insert(Record("t1", "ia_1", "100")), IsOk());
  ASSERT_THAT(store_->Insert(Record("t2", "ia_2", "100")), IsOk());
  auto set_status = [&](AccountStatus status, bool relink) {
    return store_->WithLockedAccount(
        "t1", "ia_1", absl::Seconds(5),
        [&](const AccountRecord& current)
            -> absl::StatusOr<std::optional<AccountRecord>> {
          AccountRecord next = current;
          next.status = status;
          next.status_reason =
              status == AccountStatus::kActive ? "" : "invalid_grant";
          return next;
        },
        relink);
  };
  // A write that changes no status logs nothing; a refusal, a re-link and
  // the recovery it brings do.
  ASSERT_THAT(set_status(AccountStatus::kActive, false), IsOk());
  ASSERT_THAT(set_status(AccountStatus::kNeedsReauth, false), IsOk());
  ASSERT_THAT(set_status(AccountStatus::kActive, true), IsOk());
  // A limit logged once however often it is learned; its end once however
  // many replicas look.
  ASSERT_THAT(
      store_->MarkRateLimited("t1", "ia_1", now + absl::Seconds(5), now),
      IsOk());
  ASSERT_THAT(
      store_->MarkRateLimited("t1", "ia_1", now + absl::Seconds(9), now),
      IsOk());
  ASSERT_THAT(store_->ClearRateLimits(now + absl::Seconds(6)), IsOk());
  ASSERT_THAT(store_->ClearRateLimits(now + absl::Seconds(9)), IsOk());
  ASSERT_THAT(store_->ClearRateLimits(now + absl::Seconds(10)), IsOk());
  EXPECT_TRUE(absl::IsNotFound(
      store_->MarkRateLimited("t1", "ia_404", now + absl::Seconds(5), now)));
  // A deleted account's limit ends with it.
  ASSERT_THAT(
      store_->MarkRateLimited("t1", "ia_1", now + absl::Seconds(5), now),
      IsOk());
  ASSERT_THAT(store_->Delete("t1", "ia_1"), IsOk());
  ASSERT_THAT(store_->ClearRateLimits(now + absl::Hours(1)), IsOk());

  auto events = store_->ReadAccountEvents("t1", 0, 100);
  ASSERT_THAT(events, IsOk());
  std::vector<std::string> seen;
  for (const AccountEvent& e : *events) {
    seen.push_back(absl::StrCat(e.seq, " ", static_cast<int>(e.type), " ",
                                e.account_id, " ", e.reason));
  }
  EXPECT_THAT(
      seen, ::testing::ElementsAre(
                "1 1 ia_1 ", "2 3 ia_1 invalid_grant", "3 2 ia_1 ", "4 4 ia_1 ",
                "5 6 ia_1 2026-01-01T00:00:05+00:00", "6 7 ia_1 ",
                "7 6 ia_1 2026-01-01T00:00:05+00:00", "8 5 ia_1 "));
  EXPECT_THAT(store_->AccountEventPosition("t1"), IsOkAndHolds(8));
  // The other tenant's log holds its own link only.
  auto other = store_->ReadAccountEvents("t2", 0, 100);
  ASSERT_THAT(other, IsOk());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].seq, 1);
  EXPECT_THAT(store_->ReadAccountEvents("t1", 6, 1),
              IsOkAndHolds(::testing::SizeIs(1)));
}

TEST_P(CredentialStoreTest, ValuesAreConsumedOnce) {
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  EXPECT_THAT(store_->ConsumeOnce("n1", now + absl::Minutes(10), now), IsOk());
  EXPECT_THAT(store_->ConsumeOnce("n1", now + absl::Minutes(10), now),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->ConsumeOnce("n2", now + absl::Minutes(10), now), IsOk());
}

TEST_P(CredentialStoreTest, RefusesASchemaNewerThanItKnows) {
  std::unique_ptr<store::SqlDatabase> db = GetParam() == "sqlite"
                                        ? *store::OpenSqlite(url_.substr(7))
                                        : *store::OpenPostgres(url_);
  {
    auto c = db->Acquire();
    ASSERT_THAT(c, IsOk());
    ASSERT_THAT((*c)->Query("INSERT INTO schema_migrations (version, "
                            "applied_ms) VALUES (99, 0)")
                    .status(),
                IsOk());
  }
  EXPECT_THAT(CredentialStore::Open(std::move(db)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// The shared rate ledger: the same decisions as the in-memory one, from
// two stores (replicas) on one database.
TEST_P(CredentialStoreTest, TheRateLedgerIsSharedByEveryStoreOnTheDatabase) {
  RateBudgetOptions options;
  options.limit = 3;
  options.restricted_limit = 1;
  auto other = CredentialStore::OpenUrl(url_);
  ASSERT_THAT(other, IsOk());
  auto a = store::NewSqlRateLedger(store_->database(), options);
  auto b = store::NewSqlRateLedger((*other)->database(), options);
  const absl::Time t0 = absl::FromUnixSeconds(1767225600);
  const std::string key = "podio:user:1/c";
  EXPECT_EQ(*a->TryTake(key, RateClass::kRestricted, t0), std::nullopt);
  EXPECT_EQ(*b->TryTake(key, RateClass::kRestricted, t0 + absl::Minutes(1)),
            t0 + absl::Hours(1));
  EXPECT_EQ(*b->TryTake(key, RateClass::kNormal, t0 + absl::Minutes(1)),
            std::nullopt);
  EXPECT_EQ(*a->TryTake(key, RateClass::kNormal, t0 + absl::Minutes(2)),
            std::nullopt);
  EXPECT_EQ(*b->TryTake(key, RateClass::kNormal, t0 + absl::Minutes(3)),
            t0 + absl::Hours(1));
  BudgetState state = *a->State(key, t0 + absl::Minutes(3));
  EXPECT_EQ(state.remaining, 0);
  EXPECT_EQ(state.restricted_remaining, 0);
  // An hour later the first call has left the window.
  EXPECT_EQ(*b->TryTake(key, RateClass::kNormal, t0 + absl::Hours(1)),
            std::nullopt);
  // Headers: a raised limit, and calls we did not make.
  ASSERT_THAT(a->Observe(key, RateClass::kNormal, 10, 6, t0 + absl::Hours(1)),
              IsOk());
  state = *b->State(key, t0 + absl::Hours(1));
  EXPECT_EQ(state.limit, 10);
  EXPECT_EQ(state.remaining, 6);
  // A 420 stops the identity for every store.
  ASSERT_THAT(a->Block(key, absl::Seconds(300), t0 + absl::Hours(1)), IsOk());
  EXPECT_EQ(*b->TryTake(key, RateClass::kNormal, t0 + absl::Hours(1)),
            t0 + absl::Hours(1) + absl::Seconds(300));
}

INSTANTIATE_TEST_SUITE_P(Backends, CredentialStoreTest,
                         ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace unified::accounts
