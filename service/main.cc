// The unified User Directory server. Every flag has a documented default; the
// defaults run the embedded configuration on 127.0.0.1:50051.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "connectors/builtin.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/log_line.h"
#include "connectors/common/rate_budget.h"
#include "connectors/common/secrets.h"
#include "connectors/common/status_macros.h"
#include "connectors/common/upstream_observer.h"
#include "connectors/common/url_host.h"
#include "connectors/plugin.h"
#include "connectors/registry.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/config.h"
#include "service/accounts/credential_store.h"
#include "service/store/sql_rate_ledger.h"
#include "service/api/config_reload.h"
#include "service/core/cursor.h"
#include "service/api/http_listener.h"
#include "service/api/http_tls.h"
#include "service/api/integrated_accounts_service.h"
#include "service/api/observability.h"
#include "service/api/proxy_service.h"
#include "service/api/server.h"
#include "service/api/serving.h"
#include "service/core/tenants.h"
#include "service/api/user_directory_service.h"
#include "service/watch/hook_spool.h"
#include "service/watch/watch_engine.h"
#include "service/watch/watch_store.h"
#include "service/webhooks/webhook_deliverer.h"
#include "service/webhooks/webhook_store.h"
#include "service/core/worker_pool.h"

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
          "end at once, and listings and calls still running shortly before "
          "it ends are ended with SERVER_SHUTTING_DOWN (retried by clients).");
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
          "on.");
ABSL_FLAG(absl::Duration, account_cache_ttl, absl::Seconds(1),
          "How long a resolved account's row (never its credentials) is "
          "reused before the store is read again; a replica's changes show "
          "within it. 0 = read the store on every call.");
ABSL_FLAG(absl::Duration, state_ttl, absl::Minutes(10),
          "How long an authorization URL's state is accepted.");
ABSL_FLAG(int64_t, rate_limit, 1000,
          "Provider calls per hour per upstream identity (user or app, per "
          "client id) when the provider has not said otherwise.");
ABSL_FLAG(int64_t, rate_limited_limit, 250,
          "The same for a provider's restricted class of calls (which calls "
          "are in it is the connector's flag).");
ABSL_FLAG(absl::Duration, testing_rate_window, absl::Hours(1),
          "Tests only: the provider's rate window (Podio's is an hour), "
          "shorter to compress hours of load into seconds against a "
          "simulator with the same --rate_window.");
ABSL_FLAG(bool, testing_crash_after_refresh, false,
          "Tests only: exit after a refresh answer arrives, before it is "
          "persisted.");

namespace unified {
namespace {

constexpr char kVersion[] = "2.0.0-dev";

// Starts every built-in connector the flags configure; FAILED_PRECONDITION
// when none is.
absl::Status StartProviders(const ConnectorHost& host,
                            ConnectorRegistry* registry) {
  std::vector<std::string> names;
  for (std::unique_ptr<ConnectorPlugin>& plugin : BuiltinConnectors()) {
    names.push_back(plugin->name());
    ASSIGN_OR_RETURN(std::unique_ptr<Provider> provider, plugin->Start(host));
    if (provider != nullptr) {
      RETURN_IF_ERROR(registry->Register(std::move(provider)));
    }
  }
  if (registry->names().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no connector is configured (built in: ", absl::StrJoin(names, ", "),
        "); each connector's flags are listed by --help"));
  }
  return absl::OkStatus();
}

// Flags that weaken the service. The --testing_* ones are refused unless
// every provider's upstream is on loopback (a simulator): against a real
// provider they would overspend its budget or drop a refreshed token.
// Each one set, and each of the webhook exceptions, is logged as a warning
// at start and by --check_config.
absl::Status CheckUnsafeFlags(const ConnectorRegistry& connectors) {
  struct Unsafe {
    const char* flag;
    bool set;
    bool testing;
    const char* what;
  };
  const Unsafe flags[] = {
      {"--testing_rate_window",
       absl::GetFlag(FLAGS_testing_rate_window) != absl::Hours(1), true,
       "the provider's rate window is not its real one"},
      {"--testing_crash_after_refresh",
       absl::GetFlag(FLAGS_testing_crash_after_refresh), true,
       "the process exits after a token refresh, before storing it"},
      {"--webhook_allow_private", absl::GetFlag(FLAGS_webhook_allow_private),
       false, "webhooks may be sent to private and internal addresses"},
      {"--webhook_allow_http_loopback",
       absl::GetFlag(FLAGS_webhook_allow_http_loopback), false,
       "webhooks may be sent in plain http to loopback addresses"},
  };
  for (const Unsafe& u : flags) {
    if (!u.set || !u.testing) continue;
    for (const std::string& name : connectors.names()) {
      for (const std::string& url :
           connectors.FindProvider(name)->upstreams()) {
        absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
        if (!parsed.ok() || !IsLoopbackHost(parsed->host)) {
          return absl::InvalidArgumentError(absl::StrCat(
              u.flag, " is for tests against a simulator: the ", name,
              " connector's upstream must then be a loopback address"));
        }
      }
    }
  }
  for (const Unsafe& u : flags) {
    if (!u.set) continue;
    LogEvent(LogLevel::kWarning, "unsafe flag",
             absl::StrCat("\"flag\":", JsonQuote(u.flag),
                          ",\"effect\":", JsonQuote(u.what)));
  }
  return absl::OkStatus();
}

// The side listeners take the gRPC listener's certificate (re-read with it
// when it changes) and its rule: plaintext on loopback only, unless allowed.
absl::Status ListenerTls(const std::string& listen,
                         const ServerOptions& options,
                         HttpListenerOptions* listener) {
  if (options.tls_cert_file.empty()) {
    ServerOptions check;
    check.listen = listen;
    check.allow_insecure_listen = options.allow_insecure_listen;
    return CheckListenSecurity(check);
  }
  listener->tls = true;
  return LoadHttpTlsPair(options.tls_cert_file, options.tls_key_file);
}

absl::StatusOr<ServerOptions> ServerOptionsFromFlags() {
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_receive_message_bytes =
      absl::GetFlag(FLAGS_max_receive_message_bytes);
  options.memory_quota_bytes = absl::GetFlag(FLAGS_memory_quota_bytes);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  options.allow_insecure_listen = absl::GetFlag(FLAGS_allow_insecure_listen);
  // Before anything is opened: a listener that would leak secrets, or TLS
  // files that cannot work, stop the start.
  RETURN_IF_ERROR(CheckListenSecurity(options));
  return options;
}

absl::StatusOr<ObservabilityOptions> ObservabilityFromFlags(
    const ServerOptions& server) {
  ObservabilityOptions options;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &options.level)) {
    return absl::InvalidArgumentError(
        "--log_level must be debug, info, warning or error");
  }
  options.access_log = absl::GetFlag(FLAGS_access_log);
  options.version = kVersion;
  options.max_request_bytes =
      static_cast<size_t>(std::max(0, server.max_receive_message_bytes));
  return options;
}

absl::StatusOr<TenantAuthenticator> TenantsFromFlags() {
  ASSIGN_OR_RETURN(std::string api_keys,
                   ReadSecret(absl::GetFlag(FLAGS_api_keys_file),
                              "UNIFIED_API_KEYS", "API keys"));
  ASSIGN_OR_RETURN(TenantAuthenticator tenants,
                   TenantAuthenticator::Parse(api_keys));
  if (tenants.size() == 0) {
    return absl::FailedPreconditionError("the API keys file is empty");
  }
  return tenants;
}

// --store, else $UNIFIED_STORE, else "" (SQLite in the data directory).
std::string StoreUrlFromFlags() {
  std::string store_url = absl::GetFlag(FLAGS_store);
  if (store_url.empty()) {
    const char* env = std::getenv("UNIFIED_STORE");
    if (env != nullptr) store_url = env;
  }
  return store_url;
}

absl::StatusOr<std::unique_ptr<accounts::CredentialStore>> OpenStore() {
  std::string store_url = StoreUrlFromFlags();
  if (store_url.empty()) {
    ASSIGN_OR_RETURN(std::string dir,
                     accounts::ResolveDataDir(absl::GetFlag(FLAGS_data_dir)));
    store_url = accounts::ResolveStoreUrl("", dir);
  }
  RETURN_IF_ERROR(accounts::MakeStoreFilesPrivate(store_url));
  return accounts::CredentialStore::OpenUrl(store_url);
}

// The cursor key: --cursor_key_file's, else the one kept in the data
// directory (made there on first start; `keep` false, as --check_config
// runs, creates nothing and gives a random key).
absl::StatusOr<std::string> CursorKeyFromFlags(bool keep) {
  const std::string path = absl::GetFlag(FLAGS_cursor_key_file);
  if (path.empty() && !keep) return RandomCursorKey();
  if (path.empty()) {
    ASSIGN_OR_RETURN(std::string dir,
                     accounts::ResolveDataDir(absl::GetFlag(FLAGS_data_dir)));
    return KeptCursorKey(dir);
  }
  std::ifstream in(path, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if ((!in.good() && !in.eof()) || key.size() < 32) {
    return absl::InvalidArgumentError(
        "--cursor_key_file must hold at least 32 bytes");
  }
  return key;
}

absl::StatusOr<accounts::AccountManagerOptions> AccountOptionsFromFlags(
    Observability* observability) {
  accounts::AccountManagerOptions options;
  options.refresh_margin = absl::GetFlag(FLAGS_refresh_margin);
  options.refresh_jitter = options.refresh_margin;
  options.record_cache_ttl = absl::GetFlag(FLAGS_account_cache_ttl);
  options.refresh_timeout = absl::GetFlag(FLAGS_refresh_timeout);
  options.refresh_threads = absl::GetFlag(FLAGS_refresh_threads);
  if (options.refresh_timeout <= absl::ZeroDuration() ||
      options.refresh_threads < 1 || options.refresh_threads > 64) {
    return absl::InvalidArgumentError(
        "--refresh_timeout must be positive and --refresh_threads 1 to 64");
  }
  options.on_refresh = [observability](absl::string_view outcome) {
    observability->OnRefresh(outcome);
  };
  options.crash_after_refresh_for_testing =
      absl::GetFlag(FLAGS_testing_crash_after_refresh);
  return options;
}

// A side listener's flag value, bound: its socket (so the port is known
// before anything that names it is built), host and TLS.
struct SideListener {
  std::string host;
  std::optional<ListenSocket> socket;
  HttpListenerOptions options;
  // "http(s)://HOST:PORT".
  std::string Url() const {
    return absl::StrCat(options.tls ? "https" : "http", "://", host, ":",
                        socket->port());
  }
};

// Binds `listen` (HOST:PORT); none when it is empty.
absl::StatusOr<std::optional<SideListener>> BindSideListener(
    const std::string& listen, const char* flag, const ServerOptions& server) {
  if (listen.empty()) return std::nullopt;
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " must be HOST:PORT"));
  }
  SideListener side;
  side.host = listen.substr(0, colon);
  RETURN_IF_ERROR(ListenerTls(listen, server, &side.options));
  ASSIGN_OR_RETURN(ListenSocket socket, ListenSocket::Bind(side.host, port));
  side.socket = std::move(socket);
  return side;
}

absl::StatusOr<webhooks::DelivererOptions> DelivererOptionsFromFlags() {
  webhooks::DelivererOptions options;
  options.url_policy.allow_http_loopback =
      absl::GetFlag(FLAGS_webhook_allow_http_loopback);
  options.url_policy.allow_private = absl::GetFlag(FLAGS_webhook_allow_private);
  options.retry_base = absl::GetFlag(FLAGS_webhook_retry_base);
  options.give_up_after = absl::GetFlag(FLAGS_webhook_give_up_after);
  options.lease = absl::GetFlag(FLAGS_webhook_lease);
  options.tick = absl::GetFlag(FLAGS_webhook_tick);
  if (options.retry_base <= absl::ZeroDuration() ||
      options.give_up_after <= absl::ZeroDuration() ||
      options.lease <= absl::ZeroDuration() ||
      options.tick <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--webhook_retry_base, --webhook_give_up_after, --webhook_lease and "
        "--webhook_tick must be positive");
  }
  return options;
}

absl::StatusOr<watch::WatchOptions> WatchOptionsFromFlags(
    Observability* observability, const std::optional<SideListener>& http) {
  watch::WatchOptions options;
  options.hook_base_url =
      WithoutTrailingSlashes(absl::GetFlag(FLAGS_hook_base_url));
  options.poll_interval = absl::GetFlag(FLAGS_watch_poll_interval);
  options.poll_share = absl::GetFlag(FLAGS_watch_poll_share);
  options.retention = absl::GetFlag(FLAGS_watch_retention);
  options.retention_events = absl::GetFlag(FLAGS_watch_retention_events);
  options.account_scan = absl::GetFlag(FLAGS_watch_account_scan);
  options.on_events = [observability](int64_t events) {
    observability->OnWatchEvents(events);
  };
  options.on_poll_lag = [observability](absl::Duration lag) {
    observability->OnPollLag(lag);
  };
  options.on_rereads = [observability](int64_t rereads) {
    observability->OnWatchRereads(rereads);
  };
  if (!(options.poll_share > 0 && options.poll_share <= 1) ||
      options.poll_interval <= absl::ZeroDuration() ||
      options.account_scan <= absl::ZeroDuration() ||
      options.retention_events < 1) {
    return absl::InvalidArgumentError(
        "--watch_poll_share must be in (0, 1], --watch_poll_interval and "
        "--watch_account_scan positive and --watch_retention_events at "
        "least 1");
  }
  if (options.hook_base_url == "local") {
    if (!http) {
      return absl::InvalidArgumentError(
          "--hook_base_url=local needs the side listener (--http_listen)");
    }
    options.hook_base_url = http->Url();
  } else if (!options.hook_base_url.empty() &&
             !absl::StartsWith(options.hook_base_url, "https://") &&
             !absl::StartsWith(options.hook_base_url, "http://")) {
    return absl::InvalidArgumentError("--hook_base_url must be an http(s) URL");
  }
  return options;
}

absl::Status ServingFromFlags(WorkerPoolOptions* pool,
                              ServingOptions* serving) {
  pool->threads = absl::GetFlag(FLAGS_workers);
  pool->max_running_per_tenant = absl::GetFlag(FLAGS_tenant_max_running);
  pool->max_bulk_per_tenant = absl::GetFlag(FLAGS_tenant_max_stream_jobs);
  serving->tenant_max_calls = absl::GetFlag(FLAGS_tenant_max_calls);
  serving->tenant_max_read_ahead = absl::GetFlag(FLAGS_tenant_max_read_ahead);
  serving->tenant_max_streams = absl::GetFlag(FLAGS_tenant_max_streams);
  serving->tenant_max_watch_streams =
      absl::GetFlag(FLAGS_tenant_max_watch_streams);
  serving->max_watch_streams = absl::GetFlag(FLAGS_max_watch_streams);
  serving->stream_stall_timeout = absl::GetFlag(FLAGS_stream_stall_timeout);
  serving->watch_heartbeat = absl::GetFlag(FLAGS_watch_heartbeat);
  if (pool->threads < 1 || pool->threads > 1024 ||
      pool->max_running_per_tenant < 0 || pool->max_bulk_per_tenant < 0 ||
      serving->tenant_max_calls < 1 || serving->tenant_max_read_ahead < 0 ||
      serving->tenant_max_streams < 1 ||
      serving->tenant_max_watch_streams < 1 || serving->max_watch_streams < 1 ||
      serving->stream_stall_timeout <= absl::ZeroDuration() ||
      serving->watch_heartbeat <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--workers must be 1 to 1024, --tenant_max_running, "
        "--tenant_max_stream_jobs and --tenant_max_read_ahead at least 0, "
        "the "
        "stream and call limits at least 1, --stream_stall_timeout and "
        "--watch_heartbeat positive");
  }
  return absl::OkStatus();
}

// The files re-read on change and on SIGHUP: API keys, the key ring, and
// the side listeners' certificate (the gRPC listener watches its own).
std::vector<ConfigReloader::File> ReloadableFiles(TenantAuthenticator* tenants,
                                                  accounts::Sealer* sealer,
                                                  const ServerOptions& server,
                                                  bool side_listeners) {
  std::vector<ConfigReloader::File> files;
  if (const std::string path = absl::GetFlag(FLAGS_api_keys_file);
      !path.empty()) {
    files.push_back(
        {"api_keys", path, [path, tenants]() -> absl::Status {
           ASSIGN_OR_RETURN(std::string text, ReadSecret(path, "", "API keys"));
           ASSIGN_OR_RETURN(TenantAuthenticator fresh,
                            TenantAuthenticator::Parse(text));
           if (fresh.size() == 0) {
             return absl::FailedPreconditionError("the API keys file is empty");
           }
           tenants->Replace(fresh);
           return absl::OkStatus();
         }});
  }
  if (const std::string path = absl::GetFlag(FLAGS_encryption_keys_file);
      !path.empty()) {
    files.push_back({"encryption_keys", path, [path, sealer]() -> absl::Status {
                       ASSIGN_OR_RETURN(accounts::Sealer fresh,
                                        accounts::LoadSealer(path));
                       sealer->Replace(fresh);
                       return absl::OkStatus();
                     }});
  }
  if (!server.tls_cert_file.empty() && side_listeners) {
    for (const std::string& path :
         {server.tls_cert_file, server.tls_key_file}) {
      files.push_back(
          {"tls_certificate", path,
           [cert = server.tls_cert_file, key = server.tls_key_file] {
             return LoadHttpTlsPair(cert, key);
           }});
    }
  }
  return files;
}

// Whether the store answers a trivial query (readiness).
bool StoreAnswers(store::SqlDatabase* database,
                  Observability* observability) {
  const absl::Time start = absl::Now();
  bool ok = false;
  if (absl::StatusOr<store::SqlDatabase::Lease> lease = database->Acquire();
      lease.ok()) {
    ok = (*lease)->Query("SELECT 1").ok();
  }
  observability->OnStoreOperation(absl::Now() - start, ok);
  return ok;
}

// Starts a bound side listener (none when `side` is empty). The metrics
// port serves only /metrics and health; the HTTP side listener also the
// OAuth callback and, with `watch`, hook deliveries.
absl::StatusOr<std::unique_ptr<HttpListener>> StartSideListener(
    std::optional<SideListener>& side, IntegratedAccountsService* accounts,
    watch::WatchEngine* watch, WorkerPool* pool, Observability* observability,
    bool metrics, std::function<bool()> ready) {
  if (!side) return nullptr;
  HttpListenerOptions& options = side->options;
  options.ready = std::move(ready);
  options.max_connections_per_peer =
      absl::GetFlag(FLAGS_http_max_connections_per_peer);
  if (options.max_connections_per_peer < 0) {
    return absl::InvalidArgumentError(
        "--http_max_connections_per_peer must be 0 (no cap) or more");
  }
  if (metrics) {
    options.metrics = [observability] { return observability->MetricsText(); };
  }
  if (watch == nullptr) {
    options.metrics_only = true;
  } else {
    options.max_connections = absl::GetFlag(FLAGS_http_max_connections);
    options.request_timeout = absl::GetFlag(FLAGS_http_request_timeout);
    if (options.max_connections < 1 ||
        options.request_timeout <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          "--http_max_connections must be at least 1 and "
          "--http_request_timeout positive");
    }
    options.on_hook_delivery = [observability](int status) {
      observability->OnHookDelivery(status == 200   ? "stored"
                                    : status >= 500 ? "failed"
                                                    : "refused");
    };
  }
  return HttpListener::Start(std::move(*side->socket), accounts, watch, pool,
                             options);
}

// Waits `timeout` for one of `signals` (blocked in every thread).
void WaitForSignal(const sigset_t& signals, absl::Duration timeout) {
  const absl::Time until = absl::Now() + timeout;
  for (absl::Duration left = timeout; left > absl::ZeroDuration();
       left = until - absl::Now()) {
    const timespec wait = absl::ToTimespec(left);
    const int got = sigtimedwait(&signals, nullptr, &wait);
    if (got == SIGINT || got == SIGTERM) return;
    if (got < 0 && errno != EINTR) return;  // Timed out.
  }
}

// Serves until SIGINT or SIGTERM. Then: not ready (health NOT_SERVING,
// /readyz 503) while still serving for --shutdown_drain, so balancers stop
// sending calls here before any is refused; then stops accepting, and
// in-flight calls have --shutdown_grace to finish (Serving::BeginStopping
// ends what still runs just before, with ErrorInfo).
// Meanwhile the store is checked every --readiness_interval (readiness
// follows it) and SIGHUP re-reads the configuration files.
void ServeUntilStopped(Server* server, Serving* serving,
                       const sigset_t& stop_signals, ConfigReloader* reloader,
                       store::SqlDatabase* database,
                       Observability* observability, std::atomic<bool>* ready) {
  absl::Notification stopping;
  std::thread readiness([&] {
    const absl::Duration interval = absl::GetFlag(FLAGS_readiness_interval);
    while (!stopping.WaitForNotificationWithTimeout(interval)) {
      const bool now = StoreAnswers(database, observability);
      if (now != ready->exchange(now)) {
        observability->Log(now ? LogLevel::kInfo : LogLevel::kError,
                           now ? "store answers again: serving"
                               : "store does not answer: not serving");
      }
      observability->SetReady(now);
      server->SetServing(now);
    }
  });
  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  const absl::Duration drain = absl::GetFlag(FLAGS_shutdown_drain);
  std::thread waiter([&] {
    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) == 0 &&
           signal_number == SIGHUP) {
      reloader->ReloadAll();
    }
    observability->Log(
        LogLevel::kInfo, "shutting down: not ready, draining, then stopping",
        absl::StrCat("\"signal\":", signal_number,
                     ",\"drain_ms\":", absl::ToInt64Milliseconds(drain),
                     ",\"grace_ms\":", absl::ToInt64Milliseconds(grace)));
    // Readiness stops following the store: it is not ready from now on.
    stopping.Notify();
    readiness.join();
    ready->store(false);
    observability->SetReady(false);
    server->StartDraining();
    WaitForSignal(stop_signals, drain);
    // Watch streams end now; listings and calls still running a little
    // before the grace ends are ended then, each with ErrorInfo, so that
    // gRPC's own cancel at the end finds nothing to cut.
    serving->BeginStopping(absl::Now() + grace -
                           std::min(grace / 2, absl::Seconds(1)));
    server->Shutdown(grace);
  });
  server->Wait();
  waiter.join();
}

int Fail(const absl::Status& status) {
  LogEvent(LogLevel::kError, "server",
           absl::StrCat("\"error\":", JsonQuote(status.message())));
  return 1;
}

// --check_config, once the server options, the key ring and the API keys
// have been read: the rest of what start-up reads, without binding a port,
// opening the store or creating a directory (deploy/README.md).
int CheckConfig(const ServerOptions& server) {
  for (const auto& listen : {absl::GetFlag(FLAGS_http_listen),
                             absl::GetFlag(FLAGS_metrics_listen)}) {
    HttpListenerOptions unused;
    if (listen.empty()) continue;  // No such listener.
    if (absl::Status s = ListenerTls(listen, server, &unused); !s.ok()) {
      return Fail(s);
    }
  }
  const std::string store_url = StoreUrlFromFlags();
  if (!store_url.empty()) {
    if (absl::Status s = accounts::CredentialStore::CheckUrl(store_url);
        !s.ok()) {
      return Fail(s);
    }
  }
  absl::StatusOr<std::string> cursor_key = CursorKeyFromFlags(false);
  if (!cursor_key.ok()) return Fail(cursor_key.status());
  // Nothing is observed: the options' callbacks are never called here.
  absl::StatusOr<accounts::AccountManagerOptions> accounts =
      AccountOptionsFromFlags(nullptr);
  if (!accounts.ok()) return Fail(accounts.status());
  absl::StatusOr<webhooks::DelivererOptions> deliverer =
      DelivererOptionsFromFlags();
  if (!deliverer.ok()) return Fail(deliverer.status());
  // The connectors read their own flags and files (client secrets) when
  // started; nothing is sent until a call.
  ConnectorHost host;
  host.clock = RealClock::Get();
  ConnectorRegistry connectors;
  if (absl::Status s = StartProviders(host, &connectors); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = CheckUnsafeFlags(connectors); !s.ok()) return Fail(s);
  std::printf("configuration ok\n");
  return 0;
}

// Everything is built in dependency order, each piece complete when made:
// no setter runs after construction.
int Run() {
  // Pages are received on the async client's thread and decoded on the
  // workers; glibc would give each thread an arena of its own, each keeping
  // its freed memory at the peak it reached. One arena keeps the resident
  // set flat (benchmark: tools/bench/stream_rss) at no cost seen in
  // tools/bench/stream_vs_loop or proxy_overhead.
  mallopt(M_ARENA_MAX, 1);
  // Abseil's mutex deadlock detection (on in the system library's build)
  // costs a graph update per lock on the hot path; tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals before any thread exists so that only the waiter
  // below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // Reload the configuration files.
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Whatever the service creates (the store's files, its directory) is the
  // owner's alone.
  umask(077);

  SetGroupReadableSecretsAllowed(
      absl::GetFlag(FLAGS_secret_files_group_readable));
  absl::StatusOr<ServerOptions> options = ServerOptionsFromFlags();
  if (!options.ok()) return Fail(options.status());
  absl::StatusOr<ObservabilityOptions> observability_options =
      ObservabilityFromFlags(*options);
  if (!observability_options.ok()) return Fail(observability_options.status());
  Observability observability(*observability_options);
  SetLogSink(&observability);
  const bool metrics = absl::GetFlag(FLAGS_metrics);
  absl::StatusOr<accounts::Sealer> sealer =
      accounts::LoadSealer(absl::GetFlag(FLAGS_encryption_keys_file));
  if (!sealer.ok()) return Fail(sealer.status());
  absl::StatusOr<TenantAuthenticator> tenants = TenantsFromFlags();
  if (!tenants.ok()) return Fail(tenants.status());
  if (absl::GetFlag(FLAGS_check_config)) return CheckConfig(*options);
  absl::StatusOr<std::unique_ptr<accounts::CredentialStore>> store =
      OpenStore();
  if (!store.ok()) return Fail(store.status());
  absl::StatusOr<std::string> cursor_key = CursorKeyFromFlags(true);
  if (!cursor_key.ok()) return Fail(cursor_key.status());
  const CursorCodec cursors(*cursor_key);
  if ((*store)->backend() == "postgresql" &&
      absl::GetFlag(FLAGS_cursor_key_file).empty()) {
    LogEvent(LogLevel::kWarning,
             "replicas sharing this store need one --cursor_key_file: each "
             "keeps its own key in its data directory, and the others refuse "
             "its cursors (CURSOR_KEY_UNKNOWN)");
  }

  // Every upstream exchange is counted (metrics), whoever sends it.
  ConnectorHost connector_host;
  connector_host.clock = RealClock::Get();
  connector_host.observer = metrics ? &observability : nullptr;
  ConnectorRegistry connectors;
  if (absl::Status s = StartProviders(connector_host, &connectors); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = CheckUnsafeFlags(connectors); !s.ok()) return Fail(s);
  RateBudgetOptions budget_options;
  budget_options.limit = absl::GetFlag(FLAGS_rate_limit);
  budget_options.restricted_limit = absl::GetFlag(FLAGS_rate_limited_limit);
  budget_options.window = absl::GetFlag(FLAGS_testing_rate_window);
  budget_options.window_margin = 0.02;
  if (budget_options.window <= absl::ZeroDuration()) {
    return Fail(
        absl::InvalidArgumentError("--testing_rate_window must be positive"));
  }
  // Replicas sharing PostgreSQL share the budget too; one process keeps it
  // in memory.
  std::unique_ptr<RateLedger> ledger =
      (*store)->backend() == "postgresql"
          ? store::NewSqlRateLedger((*store)->database(), budget_options)
          : NewMemoryRateLedger(budget_options);
  accounts::RateLimitEvents rate_limit_events(store->get());
  RateBudget budget(ledger.get(), RealClock::Get(), budget_options,
                    metrics ? &observability : nullptr, &rate_limit_events);
  absl::StatusOr<accounts::AccountManagerOptions> manager_options =
      AccountOptionsFromFlags(&observability);
  if (!manager_options.ok()) return Fail(manager_options.status());
  manager_options->rate_limit_events = &rate_limit_events;
  accounts::AccountManager accounts(store->get(), &*sealer, connectors.Auths(),
                                    RealClock::Get(), *manager_options,
                                    &budget);

  // The side listeners' sockets first: the redirect URI and the hook URLs
  // name their ports.
  absl::StatusOr<std::optional<SideListener>> http = BindSideListener(
      absl::GetFlag(FLAGS_http_listen), "--http_listen", *options);
  if (!http.ok()) return Fail(http.status());
  absl::StatusOr<std::optional<SideListener>> metrics_side = BindSideListener(
      absl::GetFlag(FLAGS_metrics_listen), "--metrics_listen", *options);
  if (!metrics_side.ok()) return Fail(metrics_side.status());

  absl::StatusOr<watch::WatchOptions> watch_options =
      WatchOptionsFromFlags(&observability, *http);
  if (!watch_options.ok()) return Fail(watch_options.status());
  // Hook deliveries the store cannot take (an outage) wait here, so the
  // provider never sees errors that would switch the hooks off.
  absl::StatusOr<std::string> data_dir =
      accounts::ResolveDataDir(absl::GetFlag(FLAGS_data_dir));
  if (!data_dir.ok()) return Fail(data_dir.status());
  absl::StatusOr<std::unique_ptr<watch::HookSpool>> spool =
      watch::HookSpool::Open(*data_dir + "/hook_spool");
  if (!spool.ok()) return Fail(spool.status());
  watch_options->spool = spool->get();
  watch::WatchStore watch_store((*store)->database());
  watch::WatchEngine watch_engine(&watch_store, &accounts, &connectors, &budget,
                                  RealClock::Get(), *watch_options);
  absl::StatusOr<webhooks::DelivererOptions> deliverer_options =
      DelivererOptionsFromFlags();
  if (!deliverer_options.ok()) return Fail(deliverer_options.status());
  webhooks::WebhookStore webhook_store((*store)->database());
  std::unique_ptr<HttpClient> webhook_http = NewCurlHttpClient({});
  webhooks::WebhookDeliverer deliverer(
      &webhook_store, store->get(), &watch_store, &*sealer, webhook_http.get(),
      RealClock::Get(), *deliverer_options);

  WorkerPoolOptions pool_options;
  ServingOptions serving_options;
  if (absl::Status s = ServingFromFlags(&pool_options, &serving_options);
      !s.ok()) {
    return Fail(s);
  }
  WorkerPool pool(pool_options);
  // Call records (the access log's fields, the oversize check) with or
  // without metrics.
  Serving serving(&*tenants, &pool, serving_options, &observability);

  UserDirectoryService user_directory(&serving, &accounts, &connectors,
                                      &cursors, &budget, &watch_engine);
  ProxyService proxy(&serving, &accounts, &connectors, &budget);
  IntegratedAccountsOptions accounts_options;
  accounts_options.default_provider = connectors.names().front();
  accounts_options.state_ttl = absl::GetFlag(FLAGS_state_ttl);
  accounts_options.default_redirect_uri =
      absl::GetFlag(FLAGS_oauth_redirect_uri);
  if (accounts_options.default_redirect_uri.empty() && *http) {
    accounts_options.default_redirect_uri =
        absl::StrCat((*http)->Url(), "/oauth/callback");
  }
  IntegratedAccountsService integrated_accounts(
      &serving, &accounts, store->get(), &cursors, RealClock::Get(),
      accounts_options, &budget, &watch_engine,
      WebhookSettings{&webhook_store, &*sealer, deliverer_options->url_policy,
                      absl::GetFlag(FLAGS_webhook_secret_overlap)});

  // Ready once the store answers (checked here, then every
  // --readiness_interval).
  store::SqlDatabase* database = (*store)->database();
  std::atomic<bool> ready{StoreAnswers(database, &observability)};
  observability.SetReady(ready);
  auto is_ready = [&ready] { return ready.load(); };

  absl::StatusOr<std::unique_ptr<HttpListener>> http_listener =
      StartSideListener(*http, &integrated_accounts, &watch_engine, &pool,
                        &observability, metrics && !*metrics_side, is_ready);
  if (!http_listener.ok()) return Fail(http_listener.status());
  absl::StatusOr<std::unique_ptr<HttpListener>> metrics_listener =
      StartSideListener(*metrics_side, &integrated_accounts, nullptr, &pool,
                        &observability, /*metrics=*/true, is_ready);
  if (!metrics_listener.ok()) return Fail(metrics_listener.status());

  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // Request ids, the access log and the request checks of the error model
  // (docs/serving.md) hold with --metrics=false too.
  interceptors.push_back(observability.InterceptorFactory());
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(
      *options,
      {{v1::UserDirectory::service_full_name(), &user_directory},
       {v1::IntegratedAccounts::service_full_name(), &integrated_accounts},
       {v1::Proxy::service_full_name(), &proxy}},
      std::move(interceptors));
  if (!server.ok()) return Fail(server.status());
  (*server)->SetServing(ready);
  const std::string host =
      options->listen.substr(0, options->listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), (*server)->port());
  if (*http_listener != nullptr) {
    std::printf("http listening on %s:%d\n", (*http)->host.c_str(),
                (*http_listener)->port());
  }
  if (*metrics_listener != nullptr) {
    std::printf("metrics listening on %s:%d\n", (*metrics_side)->host.c_str(),
                (*metrics_listener)->port());
  }
  std::printf("store: %s\n", (*store)->backend().c_str());
  std::fflush(stdout);

  ConfigReloader reloader(ReloadableFiles(&*tenants, &*sealer, *options,
                                          *http_listener != nullptr ||
                                              *metrics_listener != nullptr),
                          &observability,
                          absl::GetFlag(FLAGS_config_reload_interval));
  watch_engine.Start();
  deliverer.Start();
  ServeUntilStopped(server->get(), &serving, stop_signals, &reloader, database,
                    &observability, &ready);
  deliverer.Stop();
  watch_engine.Stop();
  LogEvent(LogLevel::kInfo, "server stopped");
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Serves the unified User Directory gRPC API (unified.v1).");
  // --help lists the service's own flags (absl would look for files named
  // after the binary, and find none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StartsWith(file, "service/") ||
           absl::StartsWith(file, "connectors/");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  // gRPC's own log lines (a malformed request's header values among them)
  // are JSON lines like the service's (connectors/common/log_line.h).
  unified::RouteGrpcLogs();
  return unified::Run();
}
