// The account manager against a fake provider and an injected clock: a
// refresh the provider rate-limits holds further refreshes back for the wait
// it named, keeps the account and its credentials, and lets a still-valid
// token serve meanwhile.
#include "service/accounts/account_manager.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/service/accounts/store_backends.h"
#include "tools/testing/fake_clock.h"
#include "tests/testing/status_matchers.h"

namespace unified::accounts {
namespace {

using ::unified::testing::FakeClock;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

constexpr char kTenant[] = "tenant-a";
constexpr absl::Duration kLifetime = absl::Hours(8);

// Refresh answers come from a queue the test fills; each call is counted.
class FakeAuth final : public ProviderAuth {
 public:
  explicit FakeAuth(Clock* clock) : clock_(clock) {}

  std::string provider() const override { return "fake"; }
  std::string client_id() const override { return "client"; }
  absl::Duration default_access_lifetime() const override { return kLifetime; }
  absl::StatusOr<Grant> Identify(const std::string&, absl::Time) override {
    return absl::UnimplementedError("not in this test");
  }
  absl::StatusOr<Grant> Refresh(const std::string& refresh_token,
                                absl::Time) override {
    ++refreshes;
    absl::MutexLock lock(&mu_);
    if (!rate_limited_.ok()) return rate_limited_;
    Grant grant = Tokens(absl::StrCat("access-", refreshes.load()));
    grant.refresh_token = refresh_token;  // Not rotated.
    return grant;
  }

  Grant Tokens(const std::string& access) const {
    Grant grant;
    grant.access_token = access;
    grant.refresh_token = "refresh-1";
    grant.expires_at = clock_->Now() + kLifetime;
    grant.ref_type = "user";
    grant.ref_id = "7";
    return grant;
  }
  // The provider's 420 with its named wait, as the connector reports it.
  void RateLimit(absl::Duration wait) {
    absl::MutexLock lock(&mu_);
    rate_limited_ = WithRetryDelay(
        WithErrorInfo(absl::ResourceExhaustedError("rate limited"),
                      "UPSTREAM_RATE_LIMITED"),
        wait);
  }
  // Any answer instead of a grant.
  void Answer(absl::Status status) {
    absl::MutexLock lock(&mu_);
    rate_limited_ = std::move(status);
  }
  void Recover() {
    absl::MutexLock lock(&mu_);
    rate_limited_ = absl::OkStatus();
  }

  std::atomic<int> refreshes{0};

 private:
  Clock* const clock_;
  absl::Mutex mu_;
  absl::Status rate_limited_ ABSL_GUARDED_BY(mu_);
};

class AccountManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = CredentialStore::OpenUrl(FreshStoreUrl("sqlite"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    auto sealer = Sealer::Create({SealKey{"k1", std::string(32, 'k')}});
    ASSERT_THAT(sealer, IsOk());
    sealer_ = std::make_unique<Sealer>(std::move(*sealer));
    AccountManagerOptions options;
    options.refresh_jitter = absl::ZeroDuration();
    options.record_cache_ttl = absl::ZeroDuration();
    manager_ = std::make_unique<AccountManager>(
        store_.get(), sealer_.get(),
        std::map<std::string, ProviderAuth*>{{"fake", &auth_}}, &clock_,
        options);
    auto linked =
        manager_->Link(kTenant, "fake", auth_.Tokens("access-0"), "password");
    ASSERT_THAT(linked, IsOk());
    id_ = linked->id;
  }

  absl::StatusOr<std::string> Token() {
    absl::StatusOr<ResolvedAccount> account = manager_->Resolve(kTenant, id_);
    if (!account.ok()) return account.status();
    return account->tokens->AccessToken(clock_.Now() + absl::Seconds(30));
  }

  // Starts at the real time: waits for a refresh in flight end at real
  // deadlines.
  FakeClock clock_{absl::Now()};
  FakeAuth auth_{&clock_};
  std::unique_ptr<CredentialStore> store_;
  std::unique_ptr<Sealer> sealer_;
  std::unique_ptr<AccountManager> manager_;
  std::string id_;
};

TEST_F(AccountManagerTest, ARateLimitedRefreshWaitsItOutAndThenRefreshesOnce) {
  ASSERT_THAT(store_->Get(kTenant, id_), IsOk());
  const AccountRecord before = *store_->Get(kTenant, id_);
  clock_.Advance(kLifetime + absl::Minutes(1));  // The access token expired.
  auth_.RateLimit(absl::Seconds(300));

  absl::StatusOr<std::string> refused = Token();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetErrorInfo(refused.status())->reason(), "REFRESH_RATE_LIMITED");
  EXPECT_EQ(GetRetryDelay(refused.status()), absl::Seconds(300));
  EXPECT_EQ(auth_.refreshes, 1);

  // The account stays active, its sealed credentials untouched.
  const AccountRecord after = *store_->Get(kTenant, id_);
  EXPECT_EQ(after.status, AccountStatus::kActive);
  EXPECT_EQ(after.sealed_access_token, before.sealed_access_token);
  EXPECT_EQ(after.sealed_refresh_token, before.sealed_refresh_token);
  EXPECT_EQ(after.version, before.version);

  // During the wait nothing is asked; the delay counts down.
  clock_.Advance(absl::Seconds(100));
  absl::StatusOr<std::string> still = Token();
  EXPECT_THAT(still, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(GetRetryDelay(still.status()), absl::Seconds(200));
  EXPECT_EQ(auth_.refreshes, 1);

  // After it, the first calls refresh once for all of them.
  auth_.Recover();
  clock_.Advance(absl::Seconds(200));
  constexpr int kCalls = 8;
  std::vector<absl::StatusOr<std::string>> tokens(kCalls);
  auto* start = new absl::Barrier(kCalls);
  std::vector<std::thread> threads;
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;
      tokens[i] = Token();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const auto& token : tokens) {
    ASSERT_THAT(token, IsOk());
    EXPECT_EQ(*token, "access-2");
  }
  EXPECT_EQ(auth_.refreshes, 2);
}

TEST_F(AccountManagerTest, OnlyARefusedGrantAsksForANewConsent) {
  clock_.Advance(kLifetime + absl::Minutes(1));  // The access token expired.
  // A status that merely names the reason is not a refusal: the account
  // keeps its credentials (the decision is by the typed mark).
  auth_.Answer(WithErrorInfo(absl::InvalidArgumentError("bad request"),
                             "INVALID_GRANT"));
  EXPECT_FALSE(Token().ok());
  EXPECT_EQ(store_->Get(kTenant, id_)->status, AccountStatus::kActive);
  // The provider refusing the refresh token does.
  auth_.Answer(GrantRefused("refused", {{"upstream_error", "invalid_grant"}}));
  EXPECT_FALSE(Token().ok());
  const AccountRecord after = *store_->Get(kTenant, id_);
  EXPECT_EQ(after.status, AccountStatus::kNeedsReauth);
  EXPECT_EQ(after.status_reason,
            "the provider refused the refresh token (invalid_grant)");
}

TEST_F(AccountManagerTest, AValidTokenServesWhileRefreshesAreHeld) {
  // A forced refresh is rate limited while the token still has hours left.
  auth_.RateLimit(absl::Seconds(60));
  EXPECT_THAT(manager_->ForceRefresh(kTenant, id_, clock_.Now()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(auth_.refreshes, 1);
  absl::StatusOr<std::string> token = Token();
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(*token, "access-0");
  // The provider refusing that token is another matter: nothing valid is
  // left, and the hold still stands.
  absl::StatusOr<ResolvedAccount> account = manager_->Resolve(kTenant, id_);
  ASSERT_THAT(account, IsOk());
  EXPECT_THAT(account->tokens->Refresh("access-0", clock_.Now()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(auth_.refreshes, 1);
  EXPECT_EQ(manager_->Get(kTenant, id_)->status, AccountStatus::kActive);
}

}  // namespace
}  // namespace unified::accounts
