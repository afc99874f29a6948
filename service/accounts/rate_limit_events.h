// Turns a provider's rate-limit block of an upstream identity into account
// events (RATE_LIMITED, later RATE_LIMIT_CLEARED) for the accounts that act
// as that identity. The accounts are those this process resolved: the only
// ones whose calls it can make, and so the only ones a block it learns of
// can stop here (another replica logs for its own).
#ifndef SERVICE_ACCOUNTS_RATE_LIMIT_EVENTS_H_
#define SERVICE_ACCOUNTS_RATE_LIMIT_EVENTS_H_

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "connectors/common/rate_budget.h"
#include "service/accounts/credential_store.h"

namespace unified::accounts {

// Thread-safe; not owning the store.
class RateLimitEvents final : public RateLimitListener {
 public:
  explicit RateLimitEvents(CredentialStore* store) : store_(store) {}

  // The account (tenant, id) acts as the identity `budget_key`.
  void Note(const std::string& budget_key, const std::string& tenant,
            const std::string& id);

  // RateLimitListener: marks every noted account of `key` limited until
  // `until` (CredentialStore::MarkRateLimited logs RATE_LIMITED once per
  // limited period).
  void OnBlocked(const std::string& key, absl::Time until) override;

 private:
  CredentialStore* const store_;
  absl::Mutex mu_;
  std::map<std::string, std::set<std::pair<std::string, std::string>>> accounts_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::accounts

#endif  // SERVICE_ACCOUNTS_RATE_LIMIT_EVENTS_H_
