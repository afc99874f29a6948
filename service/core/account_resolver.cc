#include "service/core/account_resolver.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    return token_;
  }
  absl::StatusOr<std::string> Refresh(const std::string&, absl::Time) override {
    return WithErrorInfo(
        absl::UnauthenticatedError(
            "the provider rejected the account's credentials and they "
            "cannot be refreshed"),
        "CREDENTIALS_REJECTED");
  }

 private:
  const std::string token_;
};

class StaticAccountResolver final : public AccountResolver {
 public:
  explicit StaticAccountResolver(
      std::map<std::string, StaticAccount> accounts) {
    for (auto& [id, account] : accounts) {
      accounts_[id] = ResolvedAccount{
          id, account.provider,
          std::make_shared<StaticTokenSource>(account.access_token),
          "static:" + id};
    }
  }

  absl::StatusOr<ResolvedAccount> Resolve(
      const std::string& tenant, const std::string& account_id) override {
    auto it = accounts_.find(account_id);
    if (tenant != "default" || it == accounts_.end()) {
      return WithErrorInfo(
          absl::NotFoundError(
              absl::StrCat("integrated account '", account_id, "' not found")),
          "INTEGRATED_ACCOUNT_NOT_FOUND");
    }
    return it->second;
  }

  absl::StatusOr<std::vector<std::string>> ListIds(
      const std::string& tenant) override {
    std::vector<std::string> out;
    if (tenant != "default") return out;
    for (const auto& [id, account] : accounts_) out.push_back(id);
    return out;
  }

 private:
  std::map<std::string, ResolvedAccount> accounts_;
};

}  // namespace

absl::Status CheckAccountId(const std::string& account_id) {
  // Account ids are short tokens; anything longer is not one of ours.
  constexpr size_t kMaxAccountIdBytes = 128;
  if (account_id.empty()) {
    return WithErrorInfo(
        absl::InvalidArgumentError("integrated_account_id is required"),
        "MISSING_ARGUMENT", {{"field", "integrated_account_id"}});
  }
  if (account_id.size() > kMaxAccountIdBytes) {
    return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(
                             "integrated_account_id is longer than ",
                             kMaxAccountIdBytes, " bytes")),
                         "INVALID_ID", {{"field", "integrated_account_id"}});
  }
  return absl::OkStatus();
}

std::unique_ptr<AccountResolver> NewStaticAccountResolver(
    std::map<std::string, StaticAccount> accounts) {
  return std::make_unique<StaticAccountResolver>(std::move(accounts));
}

}  // namespace unified
