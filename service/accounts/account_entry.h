// What AccountManager's files share (account_manager.cc,
// account_refresh.cc): an account's in-process token source, and the seal
// contexts and errors of refreshes. Internal to service/accounts.
#ifndef SERVICE_ACCOUNTS_ACCOUNT_ENTRY_H_
#define SERVICE_ACCOUNTS_ACCOUNT_ENTRY_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sealer.h"

namespace unified::accounts {

// One account's token source: the opened access token this process uses,
// guarded by the in-process single-flight mutex.
class AccountManager::Entry final
    : public TokenSource,
      public std::enable_shared_from_this<AccountManager::Entry> {
 public:
  Entry(AccountManager* manager, std::string tenant, std::string id,
        absl::Duration jitter)
      : manager_(manager),
        tenant_(std::move(tenant)),
        id_(std::move(id)),
        jitter_(jitter) {}

  absl::StatusOr<std::string> AccessToken(absl::Time deadline) override {
    return manager_->AccessToken(*this, deadline);
  }
  absl::StatusOr<std::string> Refresh(const std::string& rejected,
                                      absl::Time deadline) override {
    return manager_->Refresh(*this, rejected, /*force=*/false, deadline);
  }

  const std::string& tenant() const { return tenant_; }
  const std::string& id() const { return id_; }
  absl::Duration jitter() const { return jitter_; }

  // Guards the cached token and the refresh in flight.
  absl::Mutex mu;
  std::string token ABSL_GUARDED_BY(mu);
  absl::Time expires_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  int64_t version ABSL_GUARDED_BY(mu) = -1;
  // A refresh is running; `refreshes` counts those that ended, and
  // `refresh_error` is how the last one ended.
  bool refreshing ABSL_GUARDED_BY(mu) = false;
  int64_t refreshes ABSL_GUARDED_BY(mu) = 0;
  absl::Status refresh_error ABSL_GUARDED_BY(mu);
  // The provider refused refreshes for a while (a rate limit with a named
  // wait): none is asked for before this time.
  absl::Time refresh_held_until ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  // The token the provider refused before that refresh, never to be reused.
  std::string refused ABSL_GUARDED_BY(mu);

 private:
  AccountManager* const manager_;
  const std::string tenant_;
  const std::string id_;
  const absl::Duration jitter_;
};

namespace account_internal {

inline constexpr char kAccessField[] = "access_token";
inline constexpr char kRefreshField[] = "refresh_token";

SealContext Context(const std::string& tenant, const std::string& id,
                    const char* field);
absl::Status NeedsReauth(const AccountRecord& record);
// A caller's deadline passed while it waited for a refresh.
absl::Status RefreshOutlivedDeadline();
// A refresh is held back until a rate limit's wait ends (`left` from now).
absl::Status RefreshHeld(absl::Duration left);

}  // namespace account_internal
}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_ACCOUNT_ENTRY_H_
