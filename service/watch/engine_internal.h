// What watch_engine.cc and reconcile.cc share inside WatchEngine: the unit
// of work on one account, and the engine's log line. Not for other users.
#ifndef SERVICE_WATCH_ENGINE_INTERNAL_H_
#define SERVICE_WATCH_ENGINE_INTERNAL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "connectors/common/log_line.h"
#include "connectors/webhooks.h"
#include "service/core/account_resolver.h"
#include "service/watch/watch_engine.h"

namespace unified::watch {

struct WatchEngine::Work {
  AccountRef account;
  ResolvedAccount resolved;
  DirectoryConnector* connector = nullptr;
  // The provider's webhooks; null when it has none (the poll alone).
  WebhookSupport* webhooks = nullptr;
  // The provider calls' context: the engine's own (background work), or a
  // copy of the caller's (the baseline taken in WatchDirectory).
  CallContext ctx;
  // What the provider refused the account, kept in the store (the
  // context's `refusals`; kept apart so that a Work can move).
  std::shared_ptr<RefusalMemory> refusals;
};

// The account's refusals (HookStore::Refuse), asked again after `recheck`.
class StoredRefusals final : public RefusalMemory {
 public:
  StoredRefusals(HookStore* store, AccountRef account, Clock* clock,
                 absl::Duration recheck)
      : store_(store),
        account_(std::move(account)),
        clock_(clock),
        recheck_(recheck) {}
  // A store that cannot answer forgets nothing: the provider is asked.
  bool Refused(const std::string& what) override {
    return store_->Refused(account_, what, clock_->Now()).value_or(false);
  }
  void Refuse(const std::string& what) override {
    (void)store_->Refuse(account_, what, clock_->Now() + recheck_);
  }

 private:
  HookStore* const store_;
  const AccountRef account_;
  Clock* const clock_;
  const absl::Duration recheck_;
};

inline void Log(const AccountRef& a, absl::string_view what,
                const absl::Status& status) {
  // Statuses from the connector and the store never carry secrets.
  LogEvent(LogLevel::kWarning, absl::StrCat("watch: ", what),
           absl::StrCat("\"tenant\":", JsonQuote(a.tenant),
                        ",\"account\":", JsonQuote(a.account_id),
                        ",\"error\":", JsonQuote(status.ToString())));
}

}  // namespace unified::watch

#endif  // SERVICE_WATCH_ENGINE_INTERNAL_H_
