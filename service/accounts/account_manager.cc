#include "service/accounts/account_manager.h"

#include <openssl/rand.h>
#include <unistd.h>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"

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

namespace {

constexpr char kAccessField[] = "access_token";
constexpr char kRefreshField[] = "refresh_token";

SealContext Context(const std::string& tenant, const std::string& id,
                    const char* field) {
  return SealContext{tenant, id, field};
}

std::string NewAccountId() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::StrCat(
      "ia_", absl::BytesToHexString(absl::string_view(
                 reinterpret_cast<const char*>(bytes), sizeof(bytes))));
}

absl::Status NeedsReauth(const AccountRecord& record) {
  return WithErrorInfo(absl::FailedPreconditionError(absl::StrCat(
                           "integrated account '", record.id,
                           "' needs re-authorization: ", record.status_reason)),
                       "NEEDS_REAUTH", {{"integrated_account_id", record.id}});
}

// A caller's deadline passed while it waited for a refresh.
absl::Status RefreshOutlivedDeadline() {
  return WithErrorInfo(
      absl::DeadlineExceededError(
          "the call's deadline passed while the account's credentials were "
          "being refreshed; the refresh goes on"),
      "REFRESH_IN_PROGRESS");
}

// A refresh is held back until a rate limit's wait ends (`left` from now).
absl::Status RefreshHeld(absl::Duration left) {
  return WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError(
                        "this account's token refresh is rate limited; its "
                        "credentials are kept and the refresh is tried again "
                        "after the delay"),
                    "REFRESH_RATE_LIMITED"),
      absl::Ceil(left, absl::Seconds(1)));
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

absl::StatusOr<std::string> AccountManager::Refresh(Entry& entry,
                                                    const std::string& rejected,
                                                    bool force,
                                                    absl::Time deadline) {
  // In-process single flight: the first caller starts the refresh; the
  // others wait for it (until their deadlines), except those whose token is
  // still valid, which go ahead with it meanwhile.
  absl::MutexLock lock(&entry.mu);
  const int64_t seen = entry.refreshes;
  bool read_store = false;
  while (true) {
    const bool usable = !entry.token.empty() && entry.token != rejected;
    if (entry.refreshes != seen) {
      // A refresh ended while we waited: its outcome is ours.
      if (usable) return entry.token;
      if (!entry.refresh_error.ok()) return entry.refresh_error;
    }
    if (!force && usable && !NearExpiry(entry, entry.expires_at)) {
      return entry.token;
    }
    if (!entry.refreshing) break;
    if (!force && usable && clock_->Now() < entry.expires_at) {
      return entry.token;
    }
    if (!force && !usable && !read_store) {
      // Not opened in this process yet: the stored token may well be valid.
      read_store = true;
      entry.mu.Unlock();
      absl::StatusOr<std::string> stored = StoredToken(entry, rejected);
      entry.mu.Lock();
      if (stored.ok()) return stored;
      continue;
    }
    auto idle = [&entry]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu) {
      return !entry.refreshing;
    };
    if (!entry.mu.AwaitWithDeadline(absl::Condition(&idle), deadline)) {
      return RefreshOutlivedDeadline();
    }
  }
  if (const absl::Time now = clock_->Now(); now < entry.refresh_held_until) {
    // The last refresh was refused for a wait (the token endpoint's rate
    // limit): nothing is asked before it ends, the credentials are kept, and
    // a token still valid goes ahead meanwhile.
    if (!force && !entry.token.empty() && entry.token != rejected &&
        now < entry.expires_at) {
      return entry.token;
    }
    if (!force && entry.token.empty()) {
      const std::string refused = entry.refused;
      entry.mu.Unlock();
      absl::StatusOr<std::string> stored = StoredToken(entry, rejected);
      entry.mu.Lock();
      if (stored.ok() && *stored != refused) return stored;
    }
    return RefreshHeld(entry.refresh_held_until - clock_->Now());
  }
  StartRefresh(entry, rejected, force);
  auto ended = [&entry, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu) {
    return entry.refreshes != seen && !entry.refreshing;
  };
  if (!entry.mu.AwaitWithDeadline(absl::Condition(&ended), deadline)) {
    return RefreshOutlivedDeadline();
  }
  if (!entry.refresh_error.ok()) return entry.refresh_error;
  return entry.token;
}

void AccountManager::StartRefresh(Entry& entry, const std::string& rejected,
                                  bool force) {
  entry.refreshing = true;
  std::shared_ptr<Entry> self = entry.shared_from_this();
  auto run = [this, self, rejected, force] {
    absl::StatusOr<std::string> done = RefreshNow(*self, rejected, force);
    const std::optional<absl::Duration> wait =
        done.status().code() == absl::StatusCode::kResourceExhausted
            ? GetRetryDelay(done.status())
            : std::nullopt;
    if (options_.on_refresh) {
      options_.on_refresh(done.ok() ? "ok"
                          : wait    ? "rate_limited"
                          : done.status().code() ==
                                  absl::StatusCode::kFailedPrecondition
                              ? "needs_reauth"
                              : "failed");
    }
    absl::MutexLock lock(&self->mu);
    self->refreshing = false;
    ++self->refreshes;
    self->refresh_error = wait ? RefreshHeld(*wait) : done.status();
    if (wait) {
      self->refresh_held_until = clock_->Now() + *wait;
      if (!rejected.empty()) self->refused = rejected;
    }
  };
  if (refresher_ == nullptr) {
    entry.mu.Unlock();
    run();
    entry.mu.Lock();
  } else {
    refresher_->Submit(entry.tenant(), WorkerPool::Lane::kInteractive, run);
  }
}

absl::StatusOr<std::string> AccountManager::StoredToken(
    const Entry& entry, const std::string& rejected) {
  ASSIGN_OR_RETURN(AccountRecord current,
                   store_->Get(entry.tenant(), entry.id()));
  if (current.status != AccountStatus::kActive ||
      clock_->Now() >= current.access_expires_at) {
    return absl::UnavailableError("no valid stored token");
  }
  ASSIGN_OR_RETURN(
      std::string access,
      sealer_->Open(Context(current.tenant, current.id, kAccessField),
                    current.sealed_access_token));
  if (access == rejected) return absl::UnavailableError("refused token");
  return access;
}

void AccountManager::Refreshed::Keep(const AccountRecord& record,
                                     std::string access) {
  token = std::move(access);
  expires_at = record.access_expires_at;
  version = record.version;
}

absl::StatusOr<std::string> AccountManager::RefreshNow(
    Entry& entry, const std::string& rejected, bool force) {
  Refreshed out;
  absl::Status stored = store_->WithLockedAccount(
      entry.tenant(), entry.id(), options_.lock_timeout,
      [&](const AccountRecord& current) {
        return RefreshLocked(entry, current, rejected, force, &out);
      });
  Forget(entry.tenant(), entry.id());
  absl::MutexLock lock(&entry.mu);
  if (!stored.ok()) {
    // Nothing is known of the credentials: a token still valid (and not
    // the one the provider refused) stays in use.
    if (entry.token == rejected) entry.token.clear();
    return stored;
  }
  if (!out.needs_reauth.ok()) {
    entry.token.clear();
    return out.needs_reauth;
  }
  // Persisted (or read back) before anyone uses it.
  entry.token = out.token;
  entry.expires_at = out.expires_at;
  entry.version = out.version;
  return out.token;
}

absl::StatusOr<std::optional<AccountRecord>> AccountManager::RefreshLocked(
    const Entry& entry, const AccountRecord& current,
    const std::string& rejected, bool force, Refreshed* out) {
  if (current.status != AccountStatus::kActive) return NeedsReauth(current);
  ASSIGN_OR_RETURN(
      std::string access,
      sealer_->Open(Context(current.tenant, current.id, kAccessField),
                    current.sealed_access_token));
  if (!force && access != rejected &&
      !NearExpiry(entry, current.access_expires_at)) {
    // A peer refreshed while we waited, or the store simply has a good
    // token: use it.
    out->Keep(current, std::move(access));
    return std::nullopt;
  }
  ProviderAuth* provider_auth = auth(current.provider);
  if (provider_auth == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no auth scheme for '", current.provider, "'"));
  }
  std::string refresh_token;
  if (!current.sealed_refresh_token.empty()) {
    ASSIGN_OR_RETURN(
        refresh_token,
        sealer_->Open(Context(current.tenant, current.id, kRefreshField),
                      current.sealed_refresh_token));
  }
  const absl::Time deadline = clock_->Now() + options_.refresh_timeout;
  if (refresh_token.empty()) {
    return KeepImported(current, access, rejected, provider_auth, deadline,
                        out);
  }
  return Redeem(current, refresh_token, provider_auth, deadline, out);
}

absl::StatusOr<std::optional<AccountRecord>> AccountManager::KeepImported(
    const AccountRecord& current, const std::string& access,
    const std::string& rejected, ProviderAuth* provider_auth,
    absl::Time deadline, Refreshed* out) {
  // Until it expires, one refusal may be the provider's hiccup: the token
  // is checked on the provider's identity read first, and only a refusal
  // there (UNAUTHENTICATED, connectors/auth.h) needs a new one.
  if (clock_->Now() < current.access_expires_at) {
    absl::Status refused = absl::UnauthenticatedError("refused");
    if (access == rejected) {
      refused = provider_auth->Identify(access, deadline).status();
    }
    if (refused.ok() || access != rejected) {
      out->Keep(current, access);
      return std::nullopt;
    }
    if (!absl::IsUnauthenticated(refused)) return refused;
  }
  AccountRecord next = current;
  next.status = AccountStatus::kNeedsReauth;
  next.status_reason =
      clock_->Now() < current.access_expires_at
          ? "the provider refused the access token and there is no "
            "refresh token"
          : "the access token expired and there is no refresh token";
  next.updated_at = clock_->Now();
  out->needs_reauth = NeedsReauth(next);
  return next;
}

absl::StatusOr<std::optional<AccountRecord>> AccountManager::Redeem(
    const AccountRecord& current, const std::string& refresh_token,
    ProviderAuth* provider_auth, absl::Time deadline, Refreshed* out) {
  if (budget_ != nullptr) {
    // Token requests spend the identity's budget too.
    RETURN_IF_ERROR(budget_->Acquire(BudgetKey(current), RateClass::kNormal,
                                     Priority::kInteractive, deadline,
                                     nullptr));
  }
  absl::StatusOr<Grant> grant = provider_auth->Refresh(refresh_token, deadline);
  AccountRecord next = current;
  if (!grant.ok()) {
    if (AuthRefusalOf(grant.status()) != AuthRefusal::kGrantRefused) {
      // Transport, 5xx, rate limit, client misconfiguration: nothing is
      // known about the credentials; keep them as they are.
      return grant.status();
    }
    std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(grant.status());
    // The provider refused the refresh token: only a new consent helps.
    // The old credentials stay (sealed) for the record.
    next.status = AccountStatus::kNeedsReauth;
    next.status_reason = absl::StrCat(
        "the provider refused the refresh token (",
        info.has_value() && info->metadata().count("upstream_error")
            ? info->metadata().at("upstream_error")
            : "invalid_grant",
        ")");
    next.updated_at = clock_->Now();
    out->needs_reauth = NeedsReauth(next);
    return next;
  }
  if (options_.crash_after_refresh_for_testing) {
    LogEvent(LogLevel::kWarning, "accounts: crashing before persisting");
    _exit(86);
  }
  if (grant->refresh_token.empty()) grant->refresh_token = refresh_token;
  ASSIGN_OR_RETURN(next, Sealed(std::move(next), *grant));
  next.status = AccountStatus::kActive;
  next.status_reason.clear();
  out->token = grant->access_token;
  out->expires_at = grant->expires_at;
  out->version = current.version + 1;
  return next;
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
    const std::string& link_method, const std::string& existing_id) {
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
    const std::string& tenant, const std::string& provider, Grant tokens) {
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
    return Link(tenant, provider, fresh, "import");
  }
  tokens.ref_type = who->ref_type;
  tokens.ref_id = who->ref_id;
  if (tokens.expires_at == absl::InfinitePast()) {
    tokens.expires_at =
        clock_->Now() + provider_auth->default_access_lifetime();
  }
  return Link(tenant, provider, tokens, "import");
}

absl::StatusOr<AccountRecord> AccountManager::Get(const std::string& tenant,
                                                  const std::string& id) {
  return store_->Get(tenant, id);
}

absl::StatusOr<std::vector<AccountRecord>> AccountManager::List(
    const std::string& tenant, const std::string& after_id, int limit) {
  return store_->List(tenant, after_id, limit);
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

}  // namespace unified::accounts
