// Integrated accounts: linking (every grant), reading, unlinking, and the
// credentials behind provider calls. Tokens are sealed before they reach the
// store and opened only to be injected. Refresh is proactive (before expiry,
// with jitter) and on the provider's rejection, single-flight per account
// inside the process (one mutex) and across processes (the store's row
// lock; after waiting, a peer's fresh token is re-read and used). New tokens
// are persisted before use; a refused refresh token marks the account
// NEEDS_REAUTH; transport errors and lock timeouts never do; a failed refresh
// never loses the old credentials.
#ifndef SERVICE_ACCOUNTS_ACCOUNT_MANAGER_H_
#define SERVICE_ACCOUNTS_ACCOUNT_MANAGER_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/auth.h"
#include "connectors/common/clock.h"
#include "connectors/common/rate_budget.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/rate_limit_events.h"
#include "service/accounts/sealer.h"
#include "service/core/account_resolver.h"
#include "service/core/worker_pool.h"

namespace unified::accounts {

struct AccountManagerOptions {
  // Refresh when the access token expires within this margin plus a random
  // share of `refresh_jitter` (so replicas and accounts spread out).
  absl::Duration refresh_margin = absl::Minutes(5);
  absl::Duration refresh_jitter = absl::Minutes(5);
  // Longest wait for a peer's refresh (the store's row lock).
  absl::Duration lock_timeout = absl::Seconds(30);
  // Upper bound of one refresh's token request; the account's refresh lock
  // is released by then at the latest.
  absl::Duration refresh_timeout = absl::Seconds(30);
  // Threads running refreshes apart from their callers, so that a caller
  // leaves at its deadline while the refresh goes on (and is kept). 0: the
  // first caller refreshes on its own thread and waits it out.
  int refresh_threads = 0;
  // How long a resolved account's row (status, identity, version; never its
  // credentials) is reused before the store is read again. Changes made in
  // this process apply at once; a replica's within this time. 0 = always
  // read the store.
  absl::Duration record_cache_ttl = absl::Seconds(1);
  // Told how each refresh ended: "ok", "rate_limited", "needs_reauth" or
  // "failed" (for metrics). Unset: nobody.
  std::function<void(absl::string_view outcome)> on_refresh;
  // Told of every account resolved and the identity it acts as, so that a
  // rate-limit block of that identity becomes its RATE_LIMITED event. Null:
  // nobody.
  RateLimitEvents* rate_limit_events = nullptr;
  // Test only: end the process after a refresh answer arrives and before it
  // is persisted (to prove such a crash loses nothing usable).
  bool crash_after_refresh_for_testing = false;

  // INVALID_ARGUMENT naming the flag of a value out of range.
  absl::Status Validate() const;
};

// Thread-safe. Not owning the store, sealer, auths or clock.
class AccountManager final : public AccountResolver {
 public:
  // `budget` (may be null) is charged for token refreshes.
  AccountManager(CredentialStore* store, const Sealer* sealer,
                 std::map<std::string, ProviderAuth*> auths, Clock* clock,
                 AccountManagerOptions options, RateBudget* budget = nullptr);
  ~AccountManager() override;

  // AccountResolver: the account's provider and a token source.
  // FAILED_PRECONDITION (reason NEEDS_REAUTH) when it needs re-authorization.
  absl::StatusOr<ResolvedAccount> Resolve(
      const std::string& tenant, const std::string& account_id) override;
  absl::StatusOr<std::vector<std::string>> ListIds(
      const std::string& tenant) override;

  // Links what `grant` acts for under `tenant`: the account already linked
  // as that identity (or `existing_id`, which must then be that identity) is
  // updated and keeps its id; otherwise a new account is created. A
  // non-empty `end_customer_id` is recorded on the account (replacing the
  // one it had); an empty one keeps it.
  absl::StatusOr<AccountRecord> Link(const std::string& tenant,
                                     const std::string& provider,
                                     const Grant& grant,
                                     const std::string& link_method,
                                     const std::string& existing_id = "",
                                     const std::string& end_customer_id = "");

  // Checks imported tokens with the provider (refreshing an expired access
  // token when a refresh token is given), then links them (as Link).
  absl::StatusOr<AccountRecord> Import(const std::string& tenant,
                                       const std::string& provider,
                                       Grant tokens,
                                       const std::string& existing_id = "",
                                       const std::string& end_customer_id = "");

  absl::StatusOr<AccountRecord> Get(const std::string& tenant,
                                    const std::string& id);
  absl::StatusOr<std::vector<AccountRecord>> List(
      const std::string& tenant, const std::string& after_id, int limit,
      const std::string& end_customer_id = "");
  absl::Status Delete(const std::string& tenant, const std::string& id);
  // Refreshes now (single-flight as always). Stops waiting at `deadline`
  // (DEADLINE_EXCEEDED, reason REFRESH_IN_PROGRESS); the refresh goes on.
  absl::StatusOr<AccountRecord> ForceRefresh(
      const std::string& tenant, const std::string& id,
      absl::Time deadline = absl::InfiniteFuture());

  ProviderAuth* auth(const std::string& provider) const;

  // The rate budget key of the account's upstream identity:
  // "provider:ref_type:ref_id/client_id".
  std::string BudgetKey(const AccountRecord& record) const;

  // Token source of one account (defined in the .cc).
  class Entry;

 private:
  std::shared_ptr<Entry> EntryFor(const std::string& tenant,
                                  const std::string& id);
  // Drops the cached row of an account.
  void Forget(const std::string& tenant, const std::string& id);
  // A usable token of `entry`: refreshes (once for all callers in this
  // process) when `force`, when the cached token is `rejected`, or when it
  // is near expiry. While a refresh runs, a caller whose token is still
  // valid goes ahead with it; the others wait until `deadline`.
  absl::StatusOr<std::string> Refresh(Entry& entry, const std::string& rejected,
                                      bool force, absl::Time deadline);
  // The refresh itself, under the store's row lock; bounded by
  // refresh_timeout and lock_timeout.
  absl::StatusOr<std::string> RefreshNow(Entry& entry,
                                         const std::string& rejected,
                                         bool force);
  // Starts RefreshNow for `entry` (on the refresh pool, or inline without
  // one) and records its outcome in the entry when it ends. Called with
  // the entry's mutex held.
  void StartRefresh(Entry& entry, const std::string& rejected, bool force);
  // What a refresh under the row lock leaves: the token to use, or why the
  // account now needs a new consent.
  struct Refreshed {
    std::string token;
    absl::Time expires_at;
    int64_t version = 0;
    absl::Status needs_reauth;
    void Keep(const AccountRecord& record, std::string access);
  };
  // RefreshNow's work on the locked row `current`: the row to write
  // (nullopt: none), with the outcome in `*out`.
  absl::StatusOr<std::optional<AccountRecord>> RefreshLocked(
      const Entry& entry, const AccountRecord& current,
      const std::string& rejected, bool force, Refreshed* out);
  // An imported token without a refresh token: kept while the provider
  // accepts it, else the account needs a new consent.
  absl::StatusOr<std::optional<AccountRecord>> KeepImported(
      const AccountRecord& current, const std::string& access,
      const std::string& rejected, ProviderAuth* provider_auth,
      absl::Time deadline, Refreshed* out);
  // Redeems `refresh_token` at the provider (spending the budget).
  absl::StatusOr<std::optional<AccountRecord>> Redeem(
      const AccountRecord& current, const std::string& refresh_token,
      ProviderAuth* provider_auth, absl::Time deadline, Refreshed* out);
  absl::StatusOr<std::string> AccessToken(Entry& entry, absl::Time deadline);
  // The stored access token when it is valid and not `rejected` (read
  // without the row lock); an error otherwise.
  absl::StatusOr<std::string> StoredToken(const Entry& entry,
                                          const std::string& rejected);
  bool NearExpiry(const Entry& entry, absl::Time expires_at) const;
  absl::StatusOr<AccountRecord> Sealed(AccountRecord record,
                                       const Grant& grant) const;

  CredentialStore* const store_;
  const Sealer* const sealer_;
  const std::map<std::string, ProviderAuth*> auths_;
  Clock* const clock_;
  const AccountManagerOptions options_;
  RateBudget* const budget_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Entry>> entries_
      ABSL_GUARDED_BY(mu_);
  // Resolved rows (without credentials) and until when they may be reused.
  absl::flat_hash_map<std::string, std::pair<AccountRecord, absl::Time>>
      records_ ABSL_GUARDED_BY(mu_);
  // Runs refreshes apart from their callers (null: on the caller's thread).
  // Last member: destroyed first, finishing refreshes that use the rest.
  std::unique_ptr<WorkerPool> refresher_;
};

// Removes the sealed credentials from a record meant for display.
AccountRecord WithoutCredentials(AccountRecord record);

// Re-encrypts every stored credential not sealed with the newest key, one
// account at a time under its lock (safe while servers run). Returns how many
// accounts were rewritten.
absl::StatusOr<int64_t> Rewrap(CredentialStore& store, const Sealer& sealer);

}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_ACCOUNT_MANAGER_H_
