// AccountManager's token refresh: single flight in the process, the
// refresh itself under the store's row lock, and what a refusal means for
// the account (docs/architecture.md, "Invariants").
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/accounts/account_entry.h"
#include "service/accounts/account_manager.h"

namespace unified::accounts {

namespace account_internal {

SealContext Context(const std::string& tenant, const std::string& id,
                    const char* field) {
  return SealContext{tenant, id, field};
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

}  // namespace account_internal

using account_internal::Context;
using account_internal::kAccessField;
using account_internal::kRefreshField;
using account_internal::NeedsReauth;
using account_internal::RefreshHeld;
using account_internal::RefreshOutlivedDeadline;

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

}  // namespace unified::accounts
