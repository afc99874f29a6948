#include "service/core/account_call.h"

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"

namespace unified {

absl::StatusOr<AccountCall> OpenAccountCall(const ConnectorRegistry& connectors,
                                            RateBudget* budget,
                                            ResolvedAccount account,
                                            AccountCallOptions options) {
  AccountCall call;
  Provider* provider = connectors.FindProvider(account.provider);
  if (provider == nullptr) {
    return WithErrorInfo(
        absl::FailedPreconditionError(
            absl::StrCat("no connector for provider '", account.provider, "'")),
        "UNKNOWN_PROVIDER", {{"provider", account.provider}});
  }
  call.connector = &provider->directory();
  call.webhooks = provider->webhooks();
  call.account = std::move(account);
  call.ctx.deadline = options.deadline;
  call.ctx.cancelled = std::move(options.cancelled);
  call.ctx.priority = options.priority;
  call.ctx.upstream_calls = std::move(options.upstream_calls);
  // The token source is shared by the account's calls: stable while any
  // of them runs.
  call.ctx.tokens = call.account.tokens.get();
  call.ctx.budget = budget;
  call.ctx.budget_key = call.account.budget_key;
  return call;
}

absl::StatusOr<AccountCall> OpenAccountCall(AccountResolver& accounts,
                                            const ConnectorRegistry& connectors,
                                            RateBudget* budget,
                                            const std::string& tenant,
                                            const std::string& account_id,
                                            AccountCallOptions options) {
  RETURN_IF_ERROR(CheckAccountId(account_id));
  ASSIGN_OR_RETURN(ResolvedAccount account,
                   accounts.Resolve(tenant, account_id));
  return OpenAccountCall(connectors, budget, std::move(account),
                         std::move(options));
}

}  // namespace unified
