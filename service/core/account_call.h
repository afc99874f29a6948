// The one place a call on an integrated account is opened: the tenant's
// account resolved, its provider's connector found, and the connector's
// CallContext built (credentials, rate budget, deadline, cancellation,
// priority). Used by every service and by the watch engine.
#ifndef SERVICE_CORE_ACCOUNT_CALL_H_
#define SERVICE_CORE_ACCOUNT_CALL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/rate_budget.h"
#include "connectors/connector.h"
#include "connectors/registry.h"
#include "service/core/account_resolver.h"

namespace unified {

struct AccountCall {
  ResolvedAccount account;
  DirectoryConnector* connector = nullptr;  // Owned by the registry.
  // The provider's webhooks; null when it has none.
  WebhookSupport* webhooks = nullptr;
  CallContext ctx;
};

struct AccountCallOptions {
  absl::Time deadline = absl::InfiniteFuture();
  std::function<bool()> cancelled = [] { return false; };
  Priority priority = Priority::kInteractive;
  // Counts the call's upstream requests (the access log); may be null.
  std::shared_ptr<std::atomic<int>> upstream_calls;
};

// Opens a call on `account` (already resolved). FAILED_PRECONDITION with
// reason UNKNOWN_PROVIDER when no connector serves its provider. Not owning
// `connectors` or `budget` (which may be null: unbudgeted).
absl::StatusOr<AccountCall> OpenAccountCall(const ConnectorRegistry& connectors,
                                            RateBudget* budget,
                                            ResolvedAccount account,
                                            AccountCallOptions options);

// Resolves `account_id` in `tenant` first (CheckAccountId, then the
// resolver's errors: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION ...).
absl::StatusOr<AccountCall> OpenAccountCall(AccountResolver& accounts,
                                            const ConnectorRegistry& connectors,
                                            RateBudget* budget,
                                            const std::string& tenant,
                                            const std::string& account_id,
                                            AccountCallOptions options);

}  // namespace unified

#endif  // SERVICE_CORE_ACCOUNT_CALL_H_
