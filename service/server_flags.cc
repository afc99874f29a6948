// The server's flags, and the configuration they give
// (service/server_config.h). Every flag has a documented default; the defaults
// run the embedded configuration on 127.0.0.1:50051. `--help` lists them.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/server_config.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address host:port; port 0 picks a free port, printed "
          "on stdout as 'listening on HOST:PORT'.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain the gRPC listener serves TLS with (with "
          "--tls_key_file). Re-read when it changes on disk.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: clients must present a certificate it signed "
          "(mTLS); their identity is logged.");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(5),
          "How often the TLS files are checked for changes.");
ABSL_FLAG(bool, allow_insecure_listen, false,
          "Serve plaintext on a non-loopback --listen (only behind a sidecar "
          "or mesh that terminates TLS).");
ABSL_FLAG(std::string, log_level, "info",
          "Least severe log lines written: debug, info, warning or error. "
          "Logs are JSON lines on stderr.");
ABSL_FLAG(bool, access_log, true, "One JSON log line per RPC.");
ABSL_FLAG(bool, metrics, true,
          "Count upstream calls and serve /metrics. Off: neither; RPCs keep "
          "their request ids, access log and checks.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port serving only GET /metrics, /healthz and /readyz; empty "
          "= /metrics is on the HTTP side listener (--http_listen).");
ABSL_FLAG(absl::Duration, readiness_interval, absl::Seconds(2),
          "How often the store is checked; while it does not answer, "
          "grpc.health.v1 says NOT_SERVING and /readyz 503.");
ABSL_FLAG(absl::Duration, config_reload_interval, absl::Seconds(1),
          "How often --api_keys_file and --encryption_keys_file are checked "
          "for changes (they are also re-read on SIGHUP).");
ABSL_FLAG(absl::Duration, shutdown_drain, absl::Seconds(5),
          "On SIGINT/SIGTERM, how long the server goes on serving, new calls "
          "included, with grpc.health.v1 NOT_SERVING and /readyz 503, so that "
          "load balancers take it out before it stops accepting; a second "
          "signal ends it early.");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "After the drain, how long in-flight calls may run. Watch streams "
          "end at once, and listings and calls still running halfway "
          "through it are ended with SERVER_SHUTTING_DOWN (retried by "
          "clients).");
ABSL_FLAG(int, max_receive_message_bytes, 4 * 1024 * 1024,
          "Largest request message accepted, in bytes.");
ABSL_FLAG(int, workers, 16,
          "Worker threads running blocking work (provider calls, the store), "
          "scheduled fairly across API keys.");
ABSL_FLAG(int, tenant_max_running, 0,
          "Worker threads one API key may occupy at once; 0 = three quarters "
          "of --workers.");
ABSL_FLAG(int, tenant_max_stream_jobs, 0,
          "Stream steps (a listing's next pages: parsing, mapping) one API "
          "key may run at once over all its streams; 0 = half the machine's "
          "cores (at least 1). Its streams share that much CPU, and other "
          "keys' calls keep the rest.");
ABSL_FLAG(int, tenant_max_read_ahead, 128,
          "Provider pages one API key's listings may hold read ahead at "
          "once, over all its calls (requests in flight and answers not yet "
          "used); past it, pages are read when needed.");
ABSL_FLAG(int, tenant_max_calls, 64,
          "Unary calls one API key may have in flight; more are refused with "
          "RESOURCE_EXHAUSTED (TENANT_CONCURRENCY_EXHAUSTED).");
ABSL_FLAG(int, tenant_max_streams, 64,
          "Listing and proxy streams one API key may have open; more are "
          "refused with RESOURCE_EXHAUSTED (TENANT_STREAMS_EXHAUSTED).");
ABSL_FLAG(int, tenant_max_watch_streams, 1000,
          "WatchDirectory streams one API key may have open; more are "
          "refused with RESOURCE_EXHAUSTED (TENANT_WATCH_STREAMS_EXHAUSTED).");
ABSL_FLAG(absl::Duration, stream_stall_timeout, absl::Seconds(30),
          "A stream whose client accepted no message for this long is ended "
          "with ABORTED (STREAM_STALLED) and its buffers freed.");
ABSL_FLAG(absl::Duration, watch_heartbeat, absl::Seconds(15),
          "An idle WatchDirectory stream sends a HEARTBEAT event this often.");
ABSL_FLAG(int64_t, memory_quota_bytes, 256LL * 1024 * 1024,
          "Memory gRPC may use for connection and message buffers, in bytes.");
ABSL_FLAG(int, max_concurrent_streams, 100,
          "Concurrent RPCs one client connection may have open.");
ABSL_FLAG(std::string, hook_base_url, "",
          "Public base URL at which providers reach the HTTP side listener "
          "(some allow ports 80 and 443 only), e.g. https://hooks.example.com; "
          "WatchDirectory registers hooks at "
          "<url>/hooks/<provider>/<secret>. \"local\": the side listener's "
          "own http://HOST:PORT (for simulators; providers cannot reach "
          "it). Empty: no hooks, the reconciliation poll alone.");
ABSL_FLAG(absl::Duration, watch_poll_interval, absl::Minutes(5),
          "How often WatchDirectory's reconciliation poll re-reads a watched "
          "account's workspaces and rosters.");
ABSL_FLAG(int, max_watch_streams, 10000,
          "Open WatchDirectory streams served at once, all API keys "
          "together; more are refused with RESOURCE_EXHAUSTED "
          "(WATCH_STREAMS_EXHAUSTED).");
ABSL_FLAG(absl::Duration, watch_account_scan, absl::Seconds(10),
          "How often a tenant watched as a whole (WatchDirectory with "
          "all_accounts) is searched for accounts linked since");
ABSL_FLAG(bool, webhook_allow_http_loopback, false,
          "Let webhook endpoints be http:// URLs of loopback hosts (local "
          "receivers and tests); otherwise only https.");
ABSL_FLAG(bool, webhook_allow_private, false,
          "Let webhook endpoints resolve to private, loopback or link-local "
          "addresses (refused by default: SSRF).");
ABSL_FLAG(absl::Duration, webhook_retry_base, absl::Seconds(5),
          "First wait before a failed webhook delivery is tried again; it "
          "doubles per failure (with jitter) up to an hour.");
ABSL_FLAG(absl::Duration, webhook_secret_overlap, absl::Hours(24),
          "After SetWebhookEndpoint replaces a secret, how long deliveries "
          "carry a signature under the old one too (Standard Webhooks' "
          "several signatures), so receivers can switch at their own pace.");
ABSL_FLAG(absl::Duration, webhook_give_up_after, absl::Hours(24),
          "How long failed deliveries are retried before the endpoint is "
          "marked FAILING.");
ABSL_FLAG(absl::Duration, webhook_lease, absl::Seconds(30),
          "How long one replica holds a tenant's deliveries; a replica that "
          "dies hands them on after this.");
ABSL_FLAG(absl::Duration, webhook_tick, absl::Seconds(1),
          "How often the webhook worker looks for events to send.");
ABSL_FLAG(int, watch_poll_concurrency, 32,
          "Reconciliation polls run at once (threads of their own, fair "
          "across tenants); 0 runs them one after another on the watch "
          "loop.");
ABSL_FLAG(int, watch_hook_concurrency, 4,
          "Workspaces marked by provider hooks read at once (threads of "
          "their own, with --watch_poll_concurrency above 0); 0 reads them "
          "one after another on the watch loop.");
ABSL_FLAG(double, watch_poll_share, 0.2,
          "Fraction (0 to 1) of an account's hourly rate limit the "
          "reconciliation poll may spend in any hour.");
ABSL_FLAG(absl::Duration, watch_retention, absl::Hours(24 * 7),
          "How long WatchDirectory events are kept for resuming.");
ABSL_FLAG(int64_t, watch_retention_events, 100000,
          "How many WatchDirectory events are kept per account.");
ABSL_FLAG(std::string, cursor_key_file, "",
          "File with at least 32 secret bytes signing listing cursors, "
          "resume tokens and OAuth states; empty = cursor.key in --data_dir, "
          "made on first start (0600) and kept. Replicas share one file.");
ABSL_FLAG(bool, secret_files_group_readable, false,
          "Accept secret files (keys, API keys, client secrets) that their "
          "group may read too, when that group is one of this process's own "
          "and no one else can: how Kubernetes mounts Secret volumes for a "
          "pod's fsGroup, which keeps them live for reloads.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the embedded store; empty = "
          "$XDG_DATA_HOME/unified-directory or "
          "~/.local/share/unified-directory (created 0700).");
ABSL_FLAG(std::string, store, "",
          "Credential store: sqlite:PATH, or postgresql://... (shared by "
          "replicas); empty = $UNIFIED_STORE (so that a URL holding a "
          "password stays out of the command line), else the SQLite file "
          "accounts.db in --data_dir.");
ABSL_FLAG(bool, check_config, false,
          "Check the flags and the files they name (keys, API keys, cursor "
          "key, TLS) and the store URL's form, print 'configuration ok' and "
          "exit without serving, binding a port or opening the store; exit "
          "1 with the reason otherwise.");
ABSL_FLAG(std::string, encryption_keys_file, "",
          "Key ring sealing stored credentials: KEY_ID:BASE64 lines of 32 "
          "random bytes, oldest first, the last one used for new writes; "
          "empty = $UNIFIED_ENCRYPTION_KEYS. Required.");
ABSL_FLAG(std::string, api_keys_file, "",
          "Caller API keys: 'TENANT_ID sha256:HEX' lines (the hash of each "
          "key); empty = $UNIFIED_API_KEYS. Required.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "HTTP side listener (OAuth callback, /healthz) host:port; port 0 "
          "picks a free one, printed as 'http listening on HOST:PORT'; empty "
          "= none.");
ABSL_FLAG(int, http_max_connections, 1024,
          "Connections the HTTP side listener keeps open at once.");
ABSL_FLAG(int, http_max_connections_per_peer, 64,
          "Connections one peer address may keep open on the HTTP side "
          "listener (and the metrics listener); 0 = no cap, for a listener "
          "that only a reverse proxy reaches.");
ABSL_FLAG(absl::Duration, http_request_timeout, absl::Seconds(10),
          "A request to the HTTP side listener (headers and body) must "
          "arrive within this long of its connection opening or of the "
          "previous answer on it, or the connection is closed.");
ABSL_FLAG(std::string, oauth_redirect_uri, "",
          "Redirect URI sent to the provider by default; empty = "
          "http://<http_listen>/oauth/callback.");
ABSL_FLAG(absl::Duration, refresh_margin, absl::Minutes(5),
          "Refresh access tokens this long (plus up to as much again of "
          "jitter) before they expire.");
ABSL_FLAG(absl::Duration, refresh_timeout, absl::Seconds(30),
          "Upper bound of one token refresh at the provider; the account's "
          "refresh lock is released by then at the latest.");
ABSL_FLAG(int, refresh_threads, 4,
          "Threads running token refreshes apart from the calls that need "
          "them, so a call leaves at its deadline while the refresh goes "
          "on. 0: the first caller refreshes on its own thread.");
ABSL_FLAG(absl::Duration, account_cache_ttl, absl::Seconds(1),
          "How long a resolved account's row (never its credentials) is "
          "reused before the store is read again; a replica's changes show "
          "within it. 0 = read the store on every call.");
ABSL_FLAG(absl::Duration, state_ttl, absl::Minutes(10),
          "How long an authorization URL's state is accepted.");
ABSL_FLAG(int64_t, rate_limit, 0,
          "Provider calls per hour per upstream identity (user or app, per "
          "client id) until the provider's answers say otherwise. 0 = each "
          "connector's documented limit (Podio: 1000), or 1000 for one that "
          "documents none; a value here applies to every provider.");
ABSL_FLAG(int64_t, rate_limited_limit, 0,
          "The same for a provider's restricted class of calls (which calls "
          "are in it is the connector's flag). 0 = each connector's "
          "documented limit (Podio: 250), or 250.");
ABSL_FLAG(absl::Duration, testing_rate_window, absl::Hours(1),
          "Tests only: the provider's rate window (Podio's is an hour), "
          "shorter to compress hours of load into seconds against a "
          "simulator with the same --rate_window.");
ABSL_FLAG(bool, testing_crash_after_refresh, false,
          "Tests only: exit after a refresh answer arrives, before it is "
          "persisted.");

namespace unified {
namespace {

absl::Status Invalid(const char* message) {
  return absl::InvalidArgumentError(message);
}

absl::Status ServerFromFlags(ServerConfig& c) {
  ServerOptions& o = c.server;
  o.listen = absl::GetFlag(FLAGS_listen);
  o.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  o.memory_quota_bytes = absl::GetFlag(FLAGS_memory_quota_bytes);
  o.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  o.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  o.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  o.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  o.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  o.allow_insecure_listen = absl::GetFlag(FLAGS_allow_insecure_listen);
  // Before anything is opened: a listener that would leak secrets, or TLS
  // files that cannot work, stop the start.
  RETURN_IF_ERROR(CheckListenSecurity(o));
  ObservabilityOptions& obs = c.observability;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &obs.level)) {
    return Invalid("--log_level must be debug, info, warning or error");
  }
  obs.access_log = absl::GetFlag(FLAGS_access_log);
  obs.version = kServerVersion;
  obs.max_request_bytes =
      static_cast<size_t>(std::max(0, o.max_receive_message_bytes));
  c.metrics = absl::GetFlag(FLAGS_metrics);
  c.check_config = absl::GetFlag(FLAGS_check_config);
  c.readiness_interval = absl::GetFlag(FLAGS_readiness_interval);
  c.config_reload_interval = absl::GetFlag(FLAGS_config_reload_interval);
  c.shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain);
  c.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  return absl::OkStatus();
}

void StoreFromFlags(ServerConfig& c) {
  c.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  c.encryption_keys_file = absl::GetFlag(FLAGS_encryption_keys_file);
  c.secret_files_group_readable =
      absl::GetFlag(FLAGS_secret_files_group_readable);
  // --store, else $UNIFIED_STORE, else "" (SQLite in the data directory).
  c.store_url = absl::GetFlag(FLAGS_store);
  if (c.store_url.empty()) {
    const char* env = std::getenv("UNIFIED_STORE");
    if (env != nullptr) c.store_url = env;
  }
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.cursor_key_file = absl::GetFlag(FLAGS_cursor_key_file);
}

absl::Status AccountsFromFlags(ServerConfig& c) {
  accounts::AccountManagerOptions& o = c.accounts;
  o.refresh_margin = absl::GetFlag(FLAGS_refresh_margin);
  o.refresh_jitter = o.refresh_margin;
  o.record_cache_ttl = absl::GetFlag(FLAGS_account_cache_ttl);
  o.refresh_timeout = absl::GetFlag(FLAGS_refresh_timeout);
  o.refresh_threads = absl::GetFlag(FLAGS_refresh_threads);
  o.crash_after_refresh_for_testing =
      absl::GetFlag(FLAGS_testing_crash_after_refresh);
  c.budget_override.limit = absl::GetFlag(FLAGS_rate_limit);
  c.budget_override.restricted_limit = absl::GetFlag(FLAGS_rate_limited_limit);
  c.budget.window = absl::GetFlag(FLAGS_testing_rate_window);
  c.budget.window_margin = 0.02;
  c.state_ttl = absl::GetFlag(FLAGS_state_ttl);
  c.oauth_redirect_uri = absl::GetFlag(FLAGS_oauth_redirect_uri);
  return absl::OkStatus();
}

absl::Status SideListenersFromFlags(ServerConfig& c) {
  c.http_listen = absl::GetFlag(FLAGS_http_listen);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  c.http_max_connections_per_peer =
      absl::GetFlag(FLAGS_http_max_connections_per_peer);
  c.http_max_connections = absl::GetFlag(FLAGS_http_max_connections);
  c.http_request_timeout = absl::GetFlag(FLAGS_http_request_timeout);
  return absl::OkStatus();
}

absl::Status WebhooksFromFlags(ServerConfig& c) {
  webhooks::DelivererOptions& o = c.deliverer;
  o.url_policy.allow_http_loopback =
      absl::GetFlag(FLAGS_webhook_allow_http_loopback);
  o.url_policy.allow_private = absl::GetFlag(FLAGS_webhook_allow_private);
  o.retry_base = absl::GetFlag(FLAGS_webhook_retry_base);
  o.give_up_after = absl::GetFlag(FLAGS_webhook_give_up_after);
  o.lease = absl::GetFlag(FLAGS_webhook_lease);
  o.tick = absl::GetFlag(FLAGS_webhook_tick);
  c.webhook_secret_overlap = absl::GetFlag(FLAGS_webhook_secret_overlap);
  return absl::OkStatus();
}

absl::Status WatchFromFlags(ServerConfig& c) {
  watch::WatchOptions& o = c.watch;
  o.hook_base_url = absl::GetFlag(FLAGS_hook_base_url);
  while (absl::EndsWith(o.hook_base_url, "/")) o.hook_base_url.pop_back();
  o.poll_interval = absl::GetFlag(FLAGS_watch_poll_interval);
  o.poll_share = absl::GetFlag(FLAGS_watch_poll_share);
  o.poll_concurrency = absl::GetFlag(FLAGS_watch_poll_concurrency);
  o.hook_concurrency = absl::GetFlag(FLAGS_watch_hook_concurrency);
  o.retention = absl::GetFlag(FLAGS_watch_retention);
  o.retention_events = absl::GetFlag(FLAGS_watch_retention_events);
  o.account_scan = absl::GetFlag(FLAGS_watch_account_scan);
  return absl::OkStatus();
}

absl::Status ServingFromFlags(ServerConfig& c) {
  WorkerPoolOptions& pool = c.pool;
  ServingOptions& serving = c.serving;
  pool.threads = absl::GetFlag(FLAGS_workers);
  pool.max_running_per_tenant = absl::GetFlag(FLAGS_tenant_max_running);
  pool.max_bulk_per_tenant = absl::GetFlag(FLAGS_tenant_max_stream_jobs);
  serving.tenant_max_calls = absl::GetFlag(FLAGS_tenant_max_calls);
  serving.tenant_max_read_ahead = absl::GetFlag(FLAGS_tenant_max_read_ahead);
  serving.tenant_max_streams = absl::GetFlag(FLAGS_tenant_max_streams);
  serving.tenant_max_watch_streams =
      absl::GetFlag(FLAGS_tenant_max_watch_streams);
  serving.max_watch_streams = absl::GetFlag(FLAGS_max_watch_streams);
  serving.stream_stall_timeout = absl::GetFlag(FLAGS_stream_stall_timeout);
  serving.watch_heartbeat = absl::GetFlag(FLAGS_watch_heartbeat);
  return absl::OkStatus();
}

// Flags that weaken the service, when set.
std::vector<UnsafeFlag> UnsafeFromFlags() {
  std::vector<UnsafeFlag> out;
  if (absl::GetFlag(FLAGS_testing_rate_window) != absl::Hours(1)) {
    out.push_back({"--testing_rate_window", true,
                   "the provider's rate window is not its real one"});
  }
  if (absl::GetFlag(FLAGS_testing_crash_after_refresh)) {
    out.push_back({"--testing_crash_after_refresh", true,
                   "the process exits after a token refresh, before storing "
                   "it"});
  }
  if (absl::GetFlag(FLAGS_webhook_allow_private)) {
    out.push_back({"--webhook_allow_private", false,
                   "webhooks may be sent to private and internal addresses"});
  }
  if (absl::GetFlag(FLAGS_webhook_allow_http_loopback)) {
    out.push_back({"--webhook_allow_http_loopback", false,
                   "webhooks may be sent in plain http to loopback "
                   "addresses"});
  }
  return out;
}

}  // namespace

absl::StatusOr<ServerConfig> ServerConfigFromFlags() {
  ServerConfig c;
  RETURN_IF_ERROR(ServerFromFlags(c));
  StoreFromFlags(c);
  RETURN_IF_ERROR(AccountsFromFlags(c));
  RETURN_IF_ERROR(SideListenersFromFlags(c));
  RETURN_IF_ERROR(WebhooksFromFlags(c));
  RETURN_IF_ERROR(WatchFromFlags(c));
  RETURN_IF_ERROR(ServingFromFlags(c));
  c.unsafe = UnsafeFromFlags();
  RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace unified
