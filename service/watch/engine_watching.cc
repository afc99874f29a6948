// Starting, pausing, resuming and ending an account's watch
// (watch_engine.h).
#include <memory>
#include <optional>
#include <vector>

#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/watch/engine_internal.h"
#include "service/watch/watch_engine.h"

namespace unified::watch {

absl::Status WatchPaused() {
  return WithErrorInfo(
      absl::FailedPreconditionError(
          "watching this account is paused; resume it with SetWatching"),
      "WATCH_PAUSED");
}

std::shared_ptr<absl::Mutex> WatchEngine::AccountLock(const AccountRef& a) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<absl::Mutex>& m = baseline_mu_[a];
  if (m == nullptr) m = std::make_shared<absl::Mutex>();
  return m;
}

absl::Status WatchEngine::EnsureWatching(const AccountRef& a,
                                         const ResolvedAccount& account,
                                         CallContext& ctx) {
  std::shared_ptr<absl::Mutex> account_mu = AccountLock(a);
  absl::MutexLock lock(account_mu.get());
  return EnsureWatchingLocked(a, account, ctx);
}

absl::Status WatchEngine::EnsureWatchingLocked(const AccountRef& a,
                                               const ResolvedAccount& account,
                                               CallContext& ctx) {
  ASSIGN_OR_RETURN(WatchState state, store_->roster().Enable(a, clock_->Now()));
  if (state.paused) return WatchPaused();
  if (state.baseline_done) return absl::OkStatus();
  ASSIGN_OR_RETURN(Work w, WorkFor(a, account, ctx.priority));
  w.ctx = ctx;  // The caller's deadline, cancellation and budget.
  w.ctx.refusals = w.refusals.get();
  RETURN_IF_ERROR(Reconcile(w, Source::kPoll, /*baseline=*/true));
  return store_->roster().MarkBaselineDone(
      a, clock_->Now() + options_.poll_interval);
}

absl::Status WatchEngine::SetWatching(const AccountRef& a, bool watching,
                                      const ResolvedAccount& account,
                                      CallContext& ctx) {
  std::shared_ptr<absl::Mutex> account_mu = AccountLock(a);
  absl::MutexLock lock(account_mu.get());
  if (watching) {
    ASSIGN_OR_RETURN(std::optional<WatchState> state,
                     store_->roster().State(a));
    if (state && state->paused) {
      ASSIGN_OR_RETURN(std::vector<StoredEvent> events,
                       store_->roster().SetPaused(a, false, clock_->Now()));
      Notify(a, events);
      absl::MutexLock wake(&mu_);
      wake_ = true;  // Its poll is due now.
    }
    if (state && state->baseline_done) return absl::OkStatus();
    return EnsureWatchingLocked(a, account, ctx);
  }
  ASSIGN_OR_RETURN(WatchState state, store_->roster().Enable(a, clock_->Now()));
  if (state.paused) return absl::OkStatus();
  RETURN_IF_ERROR(HoldPolls(a));
  absl::Status removed = RemoveHooks(a, /*forget=*/true);
  absl::StatusOr<std::vector<StoredEvent>> events =
      removed.ok() ? store_->roster().SetPaused(a, true, clock_->Now())
                   : removed;
  // The lease goes back either way (a paused account is not polled).
  (void)store_->polls().FinishPoll(a, clock_->Now() + options_.poll_interval);
  RETURN_IF_ERROR(events.status());
  Notify(a, *events);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<WatchState>> WatchEngine::State(
    const AccountRef& a) const {
  return store_->roster().State(a);
}

absl::Status WatchEngine::HoldPolls(const AccountRef& a) {
  // No poll may run meanwhile (it could register a hook after the hooks
  // were read): wait for one in flight to end, within reason.
  const absl::Time give_up = clock_->Now() + absl::Seconds(30);
  while (true) {
    ASSIGN_OR_RETURN(bool taken, store_->polls().TakePollLease(
                                     a, clock_->Now(), options_.poll_lease));
    if (taken || clock_->Now() >= give_up) return absl::OkStatus();
    clock_->SleepUntil(clock_->Now() + absl::Milliseconds(50), nullptr);
  }
}

absl::Status WatchEngine::RemoveHooks(const AccountRef& a, bool forget) {
  ASSIGN_OR_RETURN(std::vector<HookRow> hooks, store_->hooks().Hooks(a));
  if (hooks.empty()) return absl::OkStatus();
  absl::StatusOr<Work> w = Begin(a, Priority::kInteractive);
  for (const HookRow& h : hooks) {
    if (w.ok() && w->webhooks != nullptr && !h.hook_id.empty()) {
      if (absl::Status s = w->webhooks->Delete(w->ctx, h.hook_id); !s.ok()) {
        // The provider disables a hook whose deliveries fail.
        Log(a, "removing a hook", s);
      }
    }
    if (forget) RETURN_IF_ERROR(store_->hooks().DeleteHook(h.secret_hash));
  }
  return absl::OkStatus();
}

absl::Status WatchEngine::Unwatch(const AccountRef& a) {
  ASSIGN_OR_RETURN(std::optional<WatchState> state, store_->roster().State(a));
  if (!state) return absl::OkStatus();
  RETURN_IF_ERROR(HoldPolls(a));
  RETURN_IF_ERROR(RemoveHooks(a, /*forget=*/false));
  return store_->roster().Disable(a);
}

}  // namespace unified::watch
