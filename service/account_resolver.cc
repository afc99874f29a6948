#include "service/account_resolver.h"

#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

class StaticTokenSource final : public TokenSource {
 public:
  explicit StaticTokenSource(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> AccessToken() override { return token_; }
  absl::StatusOr<std::string> Refresh(const std::string&) override {
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
          std::make_shared<StaticTokenSource>(account.access_token)};
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

 private:
  std::map<std::string, ResolvedAccount> accounts_;
};

}  // namespace

std::unique_ptr<AccountResolver> NewStaticAccountResolver(
    std::map<std::string, StaticAccount> accounts) {
  return std::make_unique<StaticAccountResolver>(std::move(accounts));
}

absl::StatusOr<std::map<std::string, StaticAccount>> ReadStaticAccountsFile(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::map<std::string, StaticAccount> accounts;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> parts =
        absl::StrSplit(text, ' ', absl::SkipEmpty());
    if (parts.size() != 3) {
      // Never echo the line: it holds a token.
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected ACCOUNT_ID PROVIDER ACCESS_TOKEN"));
    }
    accounts[parts[0]] = StaticAccount{parts[1], parts[2]};
  }
  return accounts;
}

}  // namespace unified
