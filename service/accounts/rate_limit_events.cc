#include "service/accounts/rate_limit_events.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/log_line.h"

namespace unified::accounts {

void RateLimitEvents::Note(const std::string& budget_key,
                           const std::string& tenant, const std::string& id) {
  absl::MutexLock lock(&mu_);
  accounts_[budget_key].emplace(tenant, id);
}

void RateLimitEvents::OnBlocked(const std::string& key, absl::Time until) {
  std::vector<std::pair<std::string, std::string>> accounts;
  {
    absl::MutexLock lock(&mu_);
    auto it = accounts_.find(key);
    if (it == accounts_.end()) return;
    accounts.assign(it->second.begin(), it->second.end());
  }
  for (const auto& [tenant, id] : accounts) {
    absl::Status s = store_->MarkRateLimited(tenant, id, until, absl::Now());
    // A deleted account has nothing to tell; a store failure loses only
    // this notice (the block itself is kept by the budget).
    if (!s.ok() && !absl::IsNotFound(s)) {
      LogEvent(LogLevel::kError, "accounts: rate limit not logged",
               absl::StrCat("\"account\":", JsonQuote(id),
                            ",\"error\":", JsonQuote(s.ToString())));
    }
  }
}

}  // namespace unified::accounts
