// WatchEngine's hooks (watch_engine.h): registering them at the provider,
// keeping them healthy from the poll, remembering where the provider
// refuses them, and taking their deliveries.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/core/random_token.h"
#include "service/watch/engine_internal.h"
#include "service/watch/watch_engine.h"

namespace unified::watch {
namespace {

// The refusal (HookStore::Refuse) of hooks on `workspace_id`.
std::string HooksRefusal(const std::string& workspace_id) {
  return absl::StrCat("hooks:", workspace_id);
}

}  // namespace

absl::Status WatchEngine::CreateHook(Work& w, const std::string& workspace_id,
                                     const std::string& type) {
  const std::string secret = RandomUrlToken();
  if (secret.empty()) return absl::InternalError("no randomness for a hook");
  HookRow row;
  row.secret_hash = Sha256Hex(secret);
  row.account = w.account;
  row.workspace_id = workspace_id;
  row.event_type = type;
  row.created = clock_->Now();
  // Stored before the provider is asked: its verification may arrive
  // before the answer with the id does.
  RETURN_IF_ERROR(store_->hooks().PutHook(row));
  Remember(row);
  absl::StatusOr<std::string> id =
      w.webhooks->Create(w.ctx, workspace_id,
                         absl::StrCat(options_.hook_base_url, "/hooks/",
                                      w.resolved.provider, "/", secret),
                         type);
  if (!id.ok()) {
    (void)store_->hooks().DeleteHook(row.secret_hash);
    if (absl::IsPermissionDenied(id.status())) {
      // Not an admin of the workspace: not asked again for a while.
      RETURN_IF_ERROR(
          store_->hooks().Refuse(w.account, HooksRefusal(workspace_id),
                                 clock_->Now() + options_.refusal_recheck));
    }
    return id.status();
  }
  return store_->hooks().SetHookId(row.secret_hash, *id);
}

absl::Status WatchEngine::EnsureHooks(Work& w,
                                      const std::string& workspace_id) {
  ASSIGN_OR_RETURN(const bool refused,
                   store_->hooks().Refused(
                       w.account, HooksRefusal(workspace_id), clock_->Now()));
  if (refused) return absl::OkStatus();  // The poll alone, for now.
  ASSIGN_OR_RETURN(std::vector<HookRow> all, store_->hooks().Hooks(w.account));
  std::vector<HookRow> mine;
  for (HookRow& h : all) {
    Remember(h);
    if (h.workspace_id == workspace_id) mine.push_back(std::move(h));
  }
  std::map<std::string, bool> active;  // hook id -> the provider's word
  if (!mine.empty()) {
    ASSIGN_OR_RETURN(std::vector<Webhook> listed,
                     w.webhooks->List(w.ctx, workspace_id));
    for (const Webhook& h : listed) active[h.id] = h.active;
  }
  for (const std::string& type : w.webhooks->MemberEventTypes()) {
    bool healthy = false;
    for (const HookRow& h : mine) {
      if (h.event_type != type) continue;
      auto it = active.find(h.hook_id);
      const bool young = clock_->Now() - h.created < options_.poll_interval;
      if (it != active.end() && (it->second || young)) {
        healthy = true;  // Active, or still within its verification.
        continue;
      }
      // Inactive (deliveries failed), lost by the provider, or never
      // confirmed: replace it.
      if (it != active.end()) {
        RETURN_IF_ERROR(w.webhooks->Delete(w.ctx, h.hook_id));
      }
      RETURN_IF_ERROR(store_->hooks().DeleteHook(h.secret_hash));
    }
    if (!healthy) RETURN_IF_ERROR(CreateHook(w, workspace_id, type));
  }
  return absl::OkStatus();
}

void WatchEngine::Remember(const HookRow& hook) {
  absl::MutexLock lock(&hooks_mu_);
  // Bounded: a process never holds more than this many hooks' rows.
  if (known_hooks_.size() >= 200000) known_hooks_.erase(known_hooks_.begin());
  known_hooks_[hook.secret_hash] = hook;
}

std::optional<HookRow> WatchEngine::Known(const std::string& secret_hash) {
  absl::MutexLock lock(&hooks_mu_);
  auto it = known_hooks_.find(secret_hash);
  if (it == known_hooks_.end()) return std::nullopt;
  return it->second;
}

void WatchEngine::ReconcileHooked(const DirtyWorkspace& d) {
  auto read = [this, d] {
    absl::StatusOr<Work> w = Begin(d.account, Priority::kBulk);
    if (!w.ok()) {
      if (absl::IsNotFound(w.status())) {
        (void)store_->roster().Disable(d.account);
      }
      return;
    }
    if (absl::Status s = ReconcileWorkspace(*w, d.workspace_id, Source::kHook,
                                            false, d.gen, d.users);
        !s.ok()) {
      Log(d.account, "hooked workspace", s);
      // Gone or forbidden: the poll settles the workspace (removes it, or
      // keeps trying within its share); others are retried after the
      // lease.
      if (absl::IsNotFound(s) || absl::IsPermissionDenied(s)) {
        (void)store_->hooks().ClearDirty(d.account, d.workspace_id, d.gen);
      }
    }
  };
  if (hookers_ == nullptr) {
    read();
    return;
  }
  auto key = std::make_pair(d.account, d.workspace_id);
  {
    absl::MutexLock lock(&mu_);
    // Claimed again after its lease while still queued or running: the
    // read under way covers it (it clears the mark only for its own gen).
    if (!hooking_.insert(key).second) return;
  }
  RunApart(*hookers_, d.account.tenant, std::move(read),
           [this, key = std::move(key)]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
             hooking_.erase(key);  // Under mu_ (RunApart).
           });
}

int WatchEngine::HandleDelivery(const std::string& provider,
                                const std::string& secret,
                                absl::string_view body) {
  Provider* p = connectors_->FindProvider(provider);
  WebhookSupport* webhooks = p == nullptr ? nullptr : p->webhooks();
  if (webhooks == nullptr || secret.empty() || secret.size() > 128) {
    return 404;
  }
  const std::string secret_hash = Sha256Hex(secret);
  absl::StatusOr<std::optional<HookRow>> row =
      store_->hooks().FindHook(secret_hash);
  if (row.ok() && row->has_value()) Remember(**row);
  if (!row.ok()) {
    outage_ = true;
    row = Known(secret_hash);  // Checked against what this process saw.
    if (!row->has_value()) {
      LogEvent(
          LogLevel::kError, "watch: hook delivery not read",
          absl::StrCat("\"error\":", JsonQuote("the store does not answer")));
      return 503;
    }
  }
  if (!row->has_value()) return 404;
  const HookRow hook = **row;
  absl::StatusOr<WebhookDelivery> d = webhooks->ParseDelivery(body);
  if (!d.ok()) return 400;
  if (!hook.hook_id.empty() && hook.hook_id != d->hook_id) return 403;
  if (d->verify) {
    absl::StatusOr<Work> w = Begin(hook.account, Priority::kInteractive);
    if (!w.ok()) return 503;
    // The hook was registered for the account's provider only.
    if (w->webhooks != webhooks) return 404;
    if (absl::Status s = webhooks->Confirm(w->ctx, *d); !s.ok()) {
      Log(hook.account, "verifying a hook", s);
      return 503;
    }
    if (hook.hook_id.empty()) {
      (void)store_->hooks().SetHookId(hook.secret_hash, d->hook_id);
    }
    return 200;
  }
  if (!d->workspace_id.empty() && d->workspace_id != hook.workspace_id) {
    return 403;
  }
  const absl::Time now = clock_->Now();
  if (absl::Status s = store_->hooks().MarkDirty(
          hook.account, hook.workspace_id, now, d->user_id);
      !s.ok()) {
    outage_ = true;
    absl::Status spooled =
        options_.spool == nullptr
            ? s
            : options_.spool->Add(
                  {hook.account, hook.workspace_id, d->user_id, now});
    if (!spooled.ok()) {
      Log(hook.account, "storing a hook delivery", spooled);
      return 503;  // Not stored: the provider tries again.
    }
  }
  absl::MutexLock lock(&mu_);
  wake_ = true;
  return 200;
}

}  // namespace unified::watch
