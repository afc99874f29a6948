// Resolves an integrated account id, within the caller's tenant, to its
// provider and credentials. The account manager
// (service/accounts/account_manager.h) is the stored, encrypted, refreshed
// implementation; a static resolver of fixed tokens serves in-process tests
// and benchmarks.
#ifndef SERVICE_CORE_ACCOUNT_RESOLVER_H_
#define SERVICE_CORE_ACCOUNT_RESOLVER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/connector.h"

namespace unified {

struct ResolvedAccount {
  std::string id;
  std::string provider;  // Registry name of the connector.
  std::shared_ptr<TokenSource> tokens;
  // The upstream identity's rate budget key (provider, identity, client).
  std::string budget_key;
};

// Thread-safe.
class AccountResolver {
 public:
  virtual ~AccountResolver() = default;
  // NOT_FOUND (reason INTEGRATED_ACCOUNT_NOT_FOUND) when the tenant has no
  // such account, including when another tenant has it.
  virtual absl::StatusOr<ResolvedAccount> Resolve(
      const std::string& tenant, const std::string& account_id) = 0;
  // The ids of the tenant's accounts, by id (none for an unknown tenant).
  virtual absl::StatusOr<std::vector<std::string>> ListIds(
      const std::string& tenant) = 0;
};

// INVALID_ARGUMENT unless `account_id` is a plausible id: reason
// MISSING_ARGUMENT when empty, INVALID_ID
// when longer than any id we issue (128 bytes).
absl::Status CheckAccountId(const std::string& account_id);

struct StaticAccount {
  std::string provider;
  std::string access_token;
};

// Accounts of tenant "default" with fixed tokens that cannot be refreshed.
std::unique_ptr<AccountResolver> NewStaticAccountResolver(
    std::map<std::string, StaticAccount> accounts);

}  // namespace unified

#endif  // SERVICE_CORE_ACCOUNT_RESOLVER_H_
