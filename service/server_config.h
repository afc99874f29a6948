// What the server is built from (service/server_builder.h): every option,
// read from the flags by ServerConfigFromFlags (service/server_flags.cc) and
// checked by Validate, which each options struct helps with its own
// Validate; DirectoryServer::Build checks it again, for a config made in
// code. Plain values: what needs the running server
// (metrics callbacks, a bound port) is added by the builder.
#ifndef SERVICE_SERVER_CONFIG_H_
#define SERVICE_SERVER_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/rate_budget.h"
#include "connectors/registry.h"
#include "service/accounts/account_manager.h"
#include "service/api/observability.h"
#include "service/api/server.h"
#include "service/api/serving.h"
#include "service/core/worker_pool.h"
#include "service/watch/watch_engine.h"
#include "service/webhooks/webhook_deliverer.h"

namespace unified {

inline constexpr char kServerVersion[] = "2.0.0-dev";

// A flag set that weakens the service (named in a warning at start).
struct UnsafeFlag {
  std::string flag;
  // A --testing_* flag: refused unless every provider's upstream is on
  // loopback (a simulator).
  bool testing = false;
  std::string effect;
};

struct ServerConfig {
  ServerOptions server;
  ObservabilityOptions observability;
  bool metrics = true;
  bool check_config = false;

  // Secrets: files, else the environment (connectors/common/secrets.h).
  std::string api_keys_file;
  std::string encryption_keys_file;
  bool secret_files_group_readable = false;

  // "" = SQLite in `data_dir`.
  std::string store_url;
  std::string data_dir;
  // "" = the key kept in `data_dir`.
  std::string cursor_key_file;

  // Its per-provider limits are filled once the connectors start, from
  // each one's documented limits (Provider::rate_limits) unless
  // `budget_override` sets them (a field of 0: not set).
  RateBudgetOptions budget;
  RateLimits budget_override;
  // Without its callbacks.
  accounts::AccountManagerOptions accounts;

  // HOST:PORT, or "" for none.
  std::string http_listen;
  std::string metrics_listen;
  int http_max_connections_per_peer = 64;
  int http_max_connections = 1024;
  absl::Duration http_request_timeout = absl::Seconds(10);

  // Without its callbacks and spool; hook_base_url may be "local" (the
  // HTTP side listener's own URL, once bound).
  watch::WatchOptions watch;
  webhooks::DelivererOptions deliverer;
  absl::Duration webhook_secret_overlap = absl::Hours(24);

  WorkerPoolOptions pool;
  ServingOptions serving;

  absl::Duration state_ttl = absl::Minutes(10);
  std::string oauth_redirect_uri;

  absl::Duration readiness_interval = absl::Seconds(2);
  absl::Duration config_reload_interval = absl::Seconds(1);
  absl::Duration shutdown_drain = absl::Seconds(5);
  absl::Duration shutdown_grace = absl::Seconds(10);

  std::vector<UnsafeFlag> unsafe;

  // INVALID_ARGUMENT naming the flag of the first value out of range, or of
  // options that do not go together.
  absl::Status Validate() const;

  // The budget's options with each started provider's limits: the
  // operator's (`budget_override`) where set, else what the provider
  // documents (Provider::rate_limits), else the budget's defaults.
  RateBudgetOptions BudgetFor(const ConnectorRegistry& connectors) const;
};

// The configuration the flags give (INVALID_ARGUMENT naming the flag when
// one is out of range). Reads no file.
absl::StatusOr<ServerConfig> ServerConfigFromFlags();

}  // namespace unified

#endif  // SERVICE_SERVER_CONFIG_H_
