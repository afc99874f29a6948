#include "service/accounts/account_manager.h"

#include <openssl/rand.h>
#include <unistd.h>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/accounts/account_entry.h"

namespace unified::accounts {

using account_internal::Context;
using account_internal::kAccessField;
using account_internal::kRefreshField;
using account_internal::NeedsReauth;

namespace {

std::string NewAccountId() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::StrCat(
      "ia_", absl::BytesToHexString(absl::string_view(
                 reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

std::string Key(const std::string& tenant, const std::string& id) {
  return absl::StrCat(tenant.size(), ":", tenant, id);
}

}  // namespace

AccountManager::AccountManager(CredentialStore* store, const Sealer* sealer,
                               std::map<std::string, ProviderAuth*> auths,
                               Clock* clock, AccountManagerOptions options,
                               RateBudget* budget)
    : store_(store),
      sealer_(sealer),
      auths_(std::move(auths)),
      clock_(clock),
      options_(options),
      budget_(budget) {
  if (options_.refresh_threads > 0) {
    refresher_ = std::make_unique<WorkerPool>(
        WorkerPoolOptions{options_.refresh_threads});
  }
}

std::string AccountManager::BudgetKey(const AccountRecord& record) const {
  ProviderAuth* provider_auth = auth(record.provider);
  return absl::StrCat(record.provider, ":", record.ref_type, ":", record.ref_id,
                      "/", provider_auth ? provider_auth->client_id() : "");
}

AccountManager::~AccountManager() = default;

ProviderAuth* AccountManager::auth(const std::string& provider) const {
  auto it = auths_.find(provider);
  return it == auths_.end() ? nullptr : it->second;
}

void AccountManager::Forget(const std::string& tenant, const std::string& id) {
  absl::MutexLock lock(&mu_);
  records_.erase(Key(tenant, id));
}

std::shared_ptr<AccountManager::Entry> AccountManager::EntryFor(
    const std::string& tenant, const std::string& id) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<Entry>& entry = entries_[Key(tenant, id)];
  if (entry == nullptr) {
    absl::BitGen bitgen;
    const absl::Duration jitter =
        options_.refresh_jitter > absl::ZeroDuration()
            ? absl::Milliseconds(absl::Uniform<int64_t>(
                  bitgen, 0,
                  absl::ToInt64Milliseconds(options_.refresh_jitter) + 1))
            : absl::ZeroDuration();
    entry = std::make_shared<Entry>(this, tenant, id, jitter);
  }
  return entry;
}

bool AccountManager::NearExpiry(const Entry& entry,
                                absl::Time expires_at) const {
  return clock_->Now() + options_.refresh_margin + entry.jitter() >= expires_at;
}

absl::StatusOr<ResolvedAccount> AccountManager::Resolve(
    const std::string& tenant, const std::string& account_id) {
  AccountRecord record;
  bool cached = false;
  const absl::Time now = clock_->Now();
  if (options_.record_cache_ttl > absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    auto it = records_.find(Key(tenant, account_id));
    if (it != records_.end() && now < it->second.second) {
      record = it->second.first;
      cached = true;
    }
  }
  if (!cached) {
    ASSIGN_OR_RETURN(record, store_->Get(tenant, account_id));
    if (options_.record_cache_ttl > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      records_[Key(tenant, account_id)] = {WithoutCredentials(record),
                                           now + options_.record_cache_ttl};
    }
  }
  if (record.status != AccountStatus::kActive) return NeedsReauth(record);
  std::shared_ptr<Entry> entry = EntryFor(tenant, account_id);
  {
    // A peer (or an earlier call) changed the row: re-open it on next use.
    absl::MutexLock lock(&entry->mu);
    if (entry->version != record.version) entry->token.clear();
  }
  std::string budget_key = BudgetKey(record);
  if (options_.rate_limit_events != nullptr) {
    options_.rate_limit_events->Note(budget_key, tenant, record.id);
  }
  return ResolvedAccount{record.id, record.provider, entry,
                         std::move(budget_key)};
}

absl::StatusOr<std::string> AccountManager::AccessToken(Entry& entry,
                                                        absl::Time deadline) {
  {
    absl::MutexLock lock(&entry.mu);
    if (!entry.token.empty() && !NearExpiry(entry, entry.expires_at)) {
      return entry.token;
    }
  }
  return Refresh(entry, "", /*force=*/false, deadline);
}

absl::StatusOr<AccountRecord> AccountManager::Sealed(AccountRecord record,
                                                     const Grant& grant) const {
  ASSIGN_OR_RETURN(
      record.sealed_access_token,
      sealer_->Seal(Context(record.tenant, record.id, kAccessField),
                    grant.access_token));
  record.sealed_refresh_token.clear();
  if (!grant.refresh_token.empty()) {
    ASSIGN_OR_RETURN(
        record.sealed_refresh_token,
        sealer_->Seal(Context(record.tenant, record.id, kRefreshField),
                      grant.refresh_token));
  }
  record.access_expires_at = grant.expires_at;
  if (!grant.scope.empty()) record.scope = grant.scope;
  record.updated_at = clock_->Now();
  return record;
}

absl::StatusOr<AccountRecord> AccountManager::Link(
    const std::string& tenant, const std::string& provider, const Grant& grant,
    const std::string& link_method, const std::string& existing_id,
    const std::string& end_customer_id) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::optional<AccountRecord> existing;
    if (!existing_id.empty()) {
      ASSIGN_OR_RETURN(existing, store_->Get(tenant, existing_id));
      if (existing->provider != provider ||
          existing->ref_type != grant.ref_type ||
          existing->ref_id != grant.ref_id) {
        return WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                                 "integrated account '", existing_id,
                                 "' is linked as ", existing->ref_type, " ",
                                 existing->ref_id, "; the new consent is for ",
                                 grant.ref_type, " ", grant.ref_id)),
                             "IDENTITY_MISMATCH");
      }
    } else {
      ASSIGN_OR_RETURN(existing,
                       store_->FindByIdentity(tenant, provider, grant.ref_type,
                                              grant.ref_id));
    }
    if (existing) {
      Forget(tenant, existing->id);
      AccountRecord updated;
      RETURN_IF_ERROR(store_->WithLockedAccount(
          tenant, existing->id, options_.lock_timeout,
          [&](const AccountRecord& current)
              -> absl::StatusOr<std::optional<AccountRecord>> {
            AccountRecord next = current;
            next.status = AccountStatus::kActive;
            next.status_reason.clear();
            next.link_method = link_method;
            if (!end_customer_id.empty()) {
              next.end_customer_id = end_customer_id;
            }
            ASSIGN_OR_RETURN(next, Sealed(std::move(next), grant));
            next.scope = grant.scope;
            updated = next;
            updated.version = current.version + 1;
            return next;
          },
          /*relink=*/true));
      return updated;
    }
    AccountRecord record;
    record.tenant = tenant;
    record.id = NewAccountId();
    record.provider = provider;
    record.ref_type = grant.ref_type;
    record.ref_id = grant.ref_id;
    record.link_method = link_method;
    record.end_customer_id = end_customer_id;
    record.created_at = clock_->Now();
    ASSIGN_OR_RETURN(record, Sealed(std::move(record), grant));
    record.scope = grant.scope;
    absl::Status inserted = store_->Insert(record);
    if (inserted.ok()) return record;
    // A concurrent link of the same identity won: update it instead.
    if (inserted.code() != absl::StatusCode::kAlreadyExists) return inserted;
  }
  return absl::AbortedError("the account was linked concurrently; retry");
}

absl::StatusOr<AccountRecord> AccountManager::Import(
    const std::string& tenant, const std::string& provider, Grant tokens,
    const std::string& existing_id, const std::string& end_customer_id) {
  ProviderAuth* provider_auth = auth(provider);
  if (provider_auth == nullptr) {
    return WithErrorInfo(absl::InvalidArgumentError(
                             absl::StrCat("unknown provider '", provider, "'")),
                         "UNKNOWN_PROVIDER");
  }
  const absl::Time deadline = clock_->Now() + options_.refresh_timeout;
  absl::StatusOr<Grant> who =
      provider_auth->Identify(tokens.access_token, deadline);
  if (!who.ok()) {
    if (AuthRefusalOf(who.status()) != AuthRefusal::kCredentialsRejected) {
      return who.status();
    }
    if (tokens.refresh_token.empty()) {
      return GrantRefused(
          "the provider refused the access token and no refresh token was "
          "given");
    }
    ASSIGN_OR_RETURN(Grant fresh,
                     provider_auth->Refresh(tokens.refresh_token, deadline));
    if (fresh.refresh_token.empty()) fresh.refresh_token = tokens.refresh_token;
    return Link(tenant, provider, fresh, "import", existing_id,
                end_customer_id);
  }
  tokens.ref_type = who->ref_type;
  tokens.ref_id = who->ref_id;
  if (tokens.expires_at == absl::InfinitePast()) {
    tokens.expires_at =
        clock_->Now() + provider_auth->default_access_lifetime();
  }
  return Link(tenant, provider, tokens, "import", existing_id,
              end_customer_id);
}

absl::StatusOr<AccountRecord> AccountManager::Get(const std::string& tenant,
                                                  const std::string& id) {
  return store_->Get(tenant, id);
}

absl::StatusOr<std::vector<AccountRecord>> AccountManager::List(
    const std::string& tenant, const std::string& after_id, int limit,
    const std::string& end_customer_id) {
  return store_->List(tenant, after_id, limit, end_customer_id);
}

absl::StatusOr<std::vector<std::string>> AccountManager::ListIds(
    const std::string& tenant) {
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<AccountRecord> page,
                     store_->List(tenant, out.empty() ? "" : out.back(), 1000));
    for (const AccountRecord& r : page) out.push_back(r.id);
    if (page.size() < 1000) return out;
  }
}

absl::Status AccountManager::Delete(const std::string& tenant,
                                    const std::string& id) {
  RETURN_IF_ERROR(store_->Delete(tenant, id));
  absl::MutexLock lock(&mu_);
  entries_.erase(Key(tenant, id));
  records_.erase(Key(tenant, id));
  return absl::OkStatus();
}

absl::StatusOr<AccountRecord> AccountManager::ForceRefresh(
    const std::string& tenant, const std::string& id, absl::Time deadline) {
  ASSIGN_OR_RETURN(AccountRecord record, store_->Get(tenant, id));
  if (record.status != AccountStatus::kActive) return NeedsReauth(record);
  std::shared_ptr<Entry> entry = EntryFor(tenant, id);
  RETURN_IF_ERROR(Refresh(*entry, "", /*force=*/true, deadline).status());
  return store_->Get(tenant, id);
}

AccountRecord WithoutCredentials(AccountRecord record) {
  record.sealed_access_token.clear();
  record.sealed_refresh_token.clear();
  return record;
}

absl::StatusOr<int64_t> Rewrap(CredentialStore& store, const Sealer& sealer) {
  int64_t rewritten = 0;
  std::string after_tenant;
  std::string after_id;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<AccountRecord> page,
                     store.ListAll(after_tenant, after_id, 100));
    if (page.empty()) break;
    after_tenant = page.back().tenant;
    after_id = page.back().id;
    for (const AccountRecord& listed : page) {
      const std::string newest = sealer.newest_key_id();
      if (Sealer::KeyIdOf(listed.sealed_access_token) == newest &&
          (listed.sealed_refresh_token.empty() ||
           Sealer::KeyIdOf(listed.sealed_refresh_token) == newest)) {
        continue;
      }
      bool changed = false;
      absl::Status s = store.WithLockedAccount(
          listed.tenant, listed.id, absl::Seconds(30),
          [&](const AccountRecord& current)
              -> absl::StatusOr<std::optional<AccountRecord>> {
            AccountRecord next = current;
            for (auto [field, sealed] :
                 {std::make_pair(kAccessField, &next.sealed_access_token),
                  std::make_pair(kRefreshField, &next.sealed_refresh_token)}) {
              if (sealed->empty() || Sealer::KeyIdOf(*sealed) == newest) {
                continue;
              }
              const SealContext context =
                  Context(current.tenant, current.id, field);
              ASSIGN_OR_RETURN(std::string plain,
                               sealer.Open(context, *sealed));
              ASSIGN_OR_RETURN(*sealed, sealer.Seal(context, plain));
              changed = true;
            }
            if (!changed) return std::nullopt;
            return next;
          });
      if (absl::IsNotFound(s)) continue;  // Deleted meanwhile.
      RETURN_IF_ERROR(s);
      if (changed) ++rewritten;
    }
  }
  return rewritten;
}

absl::Status AccountManagerOptions::Validate() const {
  if (refresh_timeout <= absl::ZeroDuration() || refresh_threads < 0 ||
      refresh_threads > 64) {
    return absl::InvalidArgumentError(
        "--refresh_timeout must be positive and --refresh_threads 0 (the "
        "caller's thread) to 64");
  }
  return absl::OkStatus();
}

}  // namespace unified::accounts
