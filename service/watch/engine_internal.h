// What watch_engine.cc and reconcile.cc share inside WatchEngine: the unit
// of work on one account, and the engine's log line. Not for other users.
#ifndef SERVICE_WATCH_ENGINE_INTERNAL_H_
#define SERVICE_WATCH_ENGINE_INTERNAL_H_

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
