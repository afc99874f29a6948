// The unified User Directory server. Every flag has a documented default; the
// defaults run the embedded configuration on 127.0.0.1:50051.
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
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
#include "connectors/common/rate_budget.h"
#include "connectors/common/secrets.h"
#include "connectors/common/status_macros.h"
#include "connectors/common/upstream_observer.h"
#include "connectors/plugin.h"
#include "connectors/registry.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/config.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sql_rate_ledger.h"
#include "service/config_reload.h"
#include "service/cursor.h"
#include "service/http_listener.h"
#include "service/http_tls.h"
#include "service/integrated_accounts_service.h"
#include "service/observability.h"
#include "service/proxy_service.h"
#include "service/server.h"
#include "service/serving.h"
#include "service/tenants.h"
#include "service/user_directory_service.h"
#include "service/watch/watch_engine.h"
#include "service/watch/watch_store.h"
#include "service/worker_pool.h"

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
          "Count RPCs and upstream calls (a gRPC interceptor, which also "
          "gives request ids and the access log) and serve /metrics. Off: "
          "none of these.");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port serving only GET /metrics, /healthz and /readyz; empty "
          "= /metrics is on the HTTP side listener (--http_listen).");
ABSL_FLAG(absl::Duration, readiness_interval, absl::Seconds(2),
          "How often the store is checked; while it does not answer, "
          "grpc.health.v1 says NOT_SERVING and /readyz 503.");
ABSL_FLAG(absl::Duration, config_reload_interval, absl::Seconds(1),
          "How often --api_keys_file and --encryption_keys_file are checked "
          "for changes (they are also re-read on SIGHUP).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGINT/SIGTERM, how long in-flight calls may run before they "
          "are cancelled.");
ABSL_FLAG(int, max_receive_message_bytes, 4 * 1024 * 1024,
          "Largest request message accepted, in bytes.");
ABSL_FLAG(int, workers, 16,
          "Worker threads running blocking work (provider calls, the store), "
          "scheduled fairly across API keys.");
ABSL_FLAG(int, tenant_max_running, 0,
          "Worker threads one API key may occupy at once; 0 = three quarters "
          "of --workers.");
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
ABSL_FLAG(double, watch_poll_share, 0.2,
          "Fraction (0 to 1) of an account's hourly rate limit the "
          "reconciliation poll may spend in any hour.");
ABSL_FLAG(absl::Duration, watch_retention, absl::Hours(24 * 7),
          "How long WatchDirectory events are kept for resuming.");
ABSL_FLAG(int64_t, watch_retention_events, 100000,
          "How many WatchDirectory events are kept per account.");
ABSL_FLAG(std::string, cursor_key_file, "",
          "File with at least 32 secret bytes signing listing cursors and "
          "OAuth states; empty = a random key per process (cursors and "
          "pending authorizations then end with it). Replicas share one.");
ABSL_FLAG(std::string, data_dir, "",
          "Directory of the embedded store; empty = "
          "$XDG_DATA_HOME/unified-directory or "
          "~/.local/share/unified-directory (created 0700).");
ABSL_FLAG(std::string, store, "",
          "Credential store: empty = SQLite file accounts.db in --data_dir; "
          "sqlite:PATH; or postgresql://... (shared by replicas).");
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

int Run() {
  // Workers decode pages on many threads; glibc would give them arenas of
  // their own, each keeping its freed memory at the peak it reached. One
  // arena keeps the resident set flat (benchmark: tools/bench/stream_rss)
  // at no cost seen in tools/bench/stream_vs_loop or proxy_overhead.
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

  auto fail = [](const absl::Status& status) {
    std::fprintf(stderr, "server: %s\n", std::string(status.message()).c_str());
    return 1;
  };
  // Before anything is opened: a listener that would leak secrets, or TLS
  // files that cannot work, stop the start.
  if (absl::Status s = CheckListenSecurity(options); !s.ok()) return fail(s);
  ObservabilityOptions observability_options;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level),
                     &observability_options.level)) {
    return fail(absl::InvalidArgumentError(
        "--log_level must be debug, info, warning or error"));
  }
  observability_options.access_log = absl::GetFlag(FLAGS_access_log);
  observability_options.version = kVersion;
  observability_options.max_request_bytes =
      static_cast<size_t>(std::max(0, options.max_receive_message_bytes));
  Observability observability(observability_options);
  // Ready once the store answers (checked below, then every
  // --readiness_interval).
  std::atomic<bool> ready{false};
  absl::StatusOr<accounts::Sealer> sealer =
      accounts::LoadSealer(absl::GetFlag(FLAGS_encryption_keys_file));
  if (!sealer.ok()) return fail(sealer.status());
  absl::StatusOr<std::string> api_keys = ReadSecret(
      absl::GetFlag(FLAGS_api_keys_file), "UNIFIED_API_KEYS", "API keys");
  if (!api_keys.ok()) return fail(api_keys.status());
  absl::StatusOr<TenantAuthenticator> tenants =
      TenantAuthenticator::Parse(*api_keys);
  if (!tenants.ok()) return fail(tenants.status());
  if (tenants->size() == 0) {
    return fail(absl::FailedPreconditionError("the API keys file is empty"));
  }
  std::string store_url = absl::GetFlag(FLAGS_store);
  if (store_url.empty()) {
    absl::StatusOr<std::string> dir =
        accounts::ResolveDataDir(absl::GetFlag(FLAGS_data_dir));
    if (!dir.ok()) return fail(dir.status());
    store_url = accounts::ResolveStoreUrl("", *dir);
  }
  if (absl::Status s = accounts::MakeStoreFilesPrivate(store_url); !s.ok()) {
    return fail(s);
  }
  absl::StatusOr<std::unique_ptr<accounts::CredentialStore>> store =
      accounts::CredentialStore::OpenUrl(store_url);
  if (!store.ok()) return fail(store.status());

  std::string cursor_key = RandomCursorKey();
  if (const std::string path = absl::GetFlag(FLAGS_cursor_key_file);
      !path.empty()) {
    std::ifstream in(path, std::ios::binary);
    std::string key((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) key.clear();
    if (key.size() < 32) {
      std::fprintf(stderr,
                   "server: --cursor_key_file must hold at least 32 bytes\n");
      return 1;
    }
    cursor_key = key;
  }
  CursorCodec cursors(cursor_key);

  // Every upstream exchange is counted (metrics), whoever sends it.
  const bool metrics = absl::GetFlag(FLAGS_metrics);
  ConnectorHost connector_host;
  connector_host.clock = RealClock::Get();
  connector_host.observer = metrics ? &observability : nullptr;
  ConnectorRegistry connectors;
  if (absl::Status s = StartProviders(connector_host, &connectors); !s.ok()) {
    return fail(s);
  }
  RateBudgetOptions budget_options;
  budget_options.limit = absl::GetFlag(FLAGS_rate_limit);
  budget_options.restricted_limit = absl::GetFlag(FLAGS_rate_limited_limit);
  // Replicas sharing PostgreSQL share the budget too; one process keeps it
  // in memory.
  std::unique_ptr<RateLedger> ledger =
      (*store)->backend() == "postgresql"
          ? accounts::NewSqlRateLedger((*store)->database(), budget_options)
          : NewMemoryRateLedger(budget_options);
  RateBudget budget(ledger.get(), RealClock::Get(), budget_options);
  if (metrics) budget.set_observer(&observability);
  accounts::AccountManagerOptions manager_options;
  manager_options.refresh_margin = absl::GetFlag(FLAGS_refresh_margin);
  manager_options.refresh_jitter = manager_options.refresh_margin;
  manager_options.record_cache_ttl = absl::GetFlag(FLAGS_account_cache_ttl);
  manager_options.refresh_timeout = absl::GetFlag(FLAGS_refresh_timeout);
  manager_options.refresh_threads = absl::GetFlag(FLAGS_refresh_threads);
  if (manager_options.refresh_timeout <= absl::ZeroDuration() ||
      manager_options.refresh_threads < 1 ||
      manager_options.refresh_threads > 64) {
    return fail(absl::InvalidArgumentError(
        "--refresh_timeout must be positive and --refresh_threads 1 to 64"));
  }
  manager_options.on_refresh = [&observability](absl::string_view outcome) {
    observability.OnRefresh(outcome);
  };
  manager_options.crash_after_refresh_for_testing =
      absl::GetFlag(FLAGS_testing_crash_after_refresh);
  accounts::AccountManager accounts(store->get(), &*sealer, connectors.Auths(),
                                    RealClock::Get(), manager_options, &budget);
  watch::WatchOptions watch_options;
  watch_options.hook_base_url =
      WithoutTrailingSlashes(absl::GetFlag(FLAGS_hook_base_url));
  watch_options.poll_interval = absl::GetFlag(FLAGS_watch_poll_interval);
  watch_options.poll_share = absl::GetFlag(FLAGS_watch_poll_share);
  watch_options.retention = absl::GetFlag(FLAGS_watch_retention);
  watch_options.retention_events = absl::GetFlag(FLAGS_watch_retention_events);
  watch_options.on_events = [&observability](int64_t events) {
    observability.OnWatchEvents(events);
  };
  watch_options.on_poll_lag = [&observability](absl::Duration lag) {
    observability.OnPollLag(lag);
  };
  if (!(watch_options.poll_share > 0 && watch_options.poll_share <= 1) ||
      watch_options.poll_interval <= absl::ZeroDuration() ||
      watch_options.retention_events < 1) {
    return fail(absl::InvalidArgumentError(
        "--watch_poll_share must be in (0, 1], --watch_poll_interval "
        "positive and --watch_retention_events at least 1"));
  }
  const bool local_hooks = watch_options.hook_base_url == "local";
  if (local_hooks) {
    if (absl::GetFlag(FLAGS_http_listen).empty()) {
      return fail(absl::InvalidArgumentError(
          "--hook_base_url=local needs the side listener (--http_listen)"));
    }
    watch_options.hook_base_url.clear();  // Set once the port is known.
  } else if (!watch_options.hook_base_url.empty() &&
             !absl::StartsWith(watch_options.hook_base_url, "https://") &&
             !absl::StartsWith(watch_options.hook_base_url, "http://")) {
    return fail(
        absl::InvalidArgumentError("--hook_base_url must be an http(s) URL"));
  }
  watch::WatchStore watch_store((*store)->database());
  watch::WatchEngine watch_engine(&watch_store, &accounts, &connectors, &budget,
                                  RealClock::Get(), watch_options);

  WorkerPoolOptions pool_options;
  pool_options.threads = absl::GetFlag(FLAGS_workers);
  pool_options.max_running_per_tenant = absl::GetFlag(FLAGS_tenant_max_running);
  ServingOptions serving_options;
  serving_options.tenant_max_calls = absl::GetFlag(FLAGS_tenant_max_calls);
  serving_options.tenant_max_streams = absl::GetFlag(FLAGS_tenant_max_streams);
  serving_options.tenant_max_watch_streams =
      absl::GetFlag(FLAGS_tenant_max_watch_streams);
  serving_options.max_watch_streams = absl::GetFlag(FLAGS_max_watch_streams);
  serving_options.stream_stall_timeout =
      absl::GetFlag(FLAGS_stream_stall_timeout);
  serving_options.watch_heartbeat = absl::GetFlag(FLAGS_watch_heartbeat);
  if (pool_options.threads < 1 || pool_options.threads > 1024 ||
      pool_options.max_running_per_tenant < 0 ||
      serving_options.tenant_max_calls < 1 ||
      serving_options.tenant_max_streams < 1 ||
      serving_options.tenant_max_watch_streams < 1 ||
      serving_options.max_watch_streams < 1 ||
      serving_options.stream_stall_timeout <= absl::ZeroDuration() ||
      serving_options.watch_heartbeat <= absl::ZeroDuration()) {
    return fail(absl::InvalidArgumentError(
        "--workers must be 1 to 1024, --tenant_max_running at least 0, the "
        "stream and call limits at least 1, --stream_stall_timeout and "
        "--watch_heartbeat positive"));
  }
  WorkerPool pool(pool_options);
  Serving serving(&*tenants, &pool, serving_options);
  if (metrics) serving.set_observability(&observability);

  UserDirectoryService user_directory(&serving, &accounts, &connectors,
                                      &cursors, &budget);
  user_directory.set_watch_engine(&watch_engine);
  ProxyService proxy(&serving, &accounts, &connectors, &budget);
  IntegratedAccountsOptions accounts_options;
  accounts_options.default_provider = connectors.names().front();
  accounts_options.state_ttl = absl::GetFlag(FLAGS_state_ttl);
  IntegratedAccountsService integrated_accounts(
      &serving, &accounts, store->get(), &cursors, RealClock::Get(),
      accounts_options, &budget);

  // The side listener first: the default redirect URI needs its port.
  std::unique_ptr<HttpListener> http_listener;
  std::string http_host;
  std::string redirect_uri = absl::GetFlag(FLAGS_oauth_redirect_uri);
  if (const std::string http_listen = absl::GetFlag(FLAGS_http_listen);
      !http_listen.empty()) {
    const size_t colon = http_listen.rfind(':');
    int http_port = -1;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(http_listen.substr(colon + 1), &http_port)) {
      return fail(
          absl::InvalidArgumentError("--http_listen must be HOST:PORT"));
    }
    http_host = http_listen.substr(0, colon);
    HttpListenerOptions listener_options;
    listener_options.max_connections =
        absl::GetFlag(FLAGS_http_max_connections);
    listener_options.request_timeout =
        absl::GetFlag(FLAGS_http_request_timeout);
    if (metrics && absl::GetFlag(FLAGS_metrics_listen).empty()) {
      listener_options.metrics = [&observability] {
        return observability.MetricsText();
      };
    }
    listener_options.ready = [&ready] { return ready.load(); };
    listener_options.on_hook_delivery = [&observability](int status) {
      observability.OnHookDelivery(status == 200   ? "stored"
                                   : status >= 500 ? "failed"
                                                   : "refused");
    };
    if (absl::Status s = ListenerTls(http_listen, options, &listener_options);
        !s.ok()) {
      return fail(s);
    }
    if (listener_options.max_connections < 1 ||
        listener_options.request_timeout <= absl::ZeroDuration()) {
      return fail(absl::InvalidArgumentError(
          "--http_max_connections must be at least 1 and "
          "--http_request_timeout positive"));
    }
    absl::StatusOr<std::unique_ptr<HttpListener>> started =
        HttpListener::Start(http_host, http_port, &integrated_accounts,
                            &watch_engine, &pool, listener_options);
    if (!started.ok()) return fail(started.status());
    http_listener = std::move(*started);
    if (redirect_uri.empty()) {
      redirect_uri = absl::StrCat(listener_options.tls ? "https" : "http",
                                  "://", http_host, ":", http_listener->port(),
                                  "/oauth/callback");
    }
    if (local_hooks) {
      watch_engine.set_hook_base_url(
          absl::StrCat(listener_options.tls ? "https" : "http", "://",
                       http_host, ":", http_listener->port()));
    }
  }
  integrated_accounts.set_default_redirect_uri(redirect_uri);
  integrated_accounts.set_watch_engine(&watch_engine);

  // A port of its own for metrics and health, when asked for.
  std::unique_ptr<HttpListener> metrics_listener;
  std::string metrics_host;
  if (const std::string listen = absl::GetFlag(FLAGS_metrics_listen);
      !listen.empty()) {
    const size_t colon = listen.rfind(':');
    int port = -1;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(listen.substr(colon + 1), &port)) {
      return fail(
          absl::InvalidArgumentError("--metrics_listen must be HOST:PORT"));
    }
    metrics_host = listen.substr(0, colon);
    HttpListenerOptions metrics_options;
    metrics_options.metrics_only = true;
    metrics_options.metrics = [&observability] {
      return observability.MetricsText();
    };
    metrics_options.ready = [&ready] { return ready.load(); };
    if (absl::Status s = ListenerTls(listen, options, &metrics_options);
        !s.ok()) {
      return fail(s);
    }
    absl::StatusOr<std::unique_ptr<HttpListener>> started =
        HttpListener::Start(metrics_host, port, &integrated_accounts, nullptr,
                            &pool, metrics_options);
    if (!started.ok()) return fail(started.status());
    metrics_listener = std::move(*started);
  }

  // Readiness: the store answers a trivial query.
  accounts::SqlDatabase* database = (*store)->database();
  auto check_store = [&] {
    const absl::Time start = absl::Now();
    bool ok = false;
    if (absl::StatusOr<accounts::SqlDatabase::Lease> lease =
            database->Acquire();
        lease.ok()) {
      ok = (*lease)->Query("SELECT 1").ok();
    }
    observability.OnStoreOperation(absl::Now() - start, ok);
    return ok;
  };
  ready = check_store();
  observability.SetReady(ready);

  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  if (metrics) interceptors.push_back(observability.InterceptorFactory());
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(
      options,
      {{v1::UserDirectory::service_full_name(), &user_directory},
       {v1::IntegratedAccounts::service_full_name(), &integrated_accounts},
       {v1::Proxy::service_full_name(), &proxy}},
      std::move(interceptors));
  if (!server.ok()) return fail(server.status());
  (*server)->SetServing(ready);
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), (*server)->port());
  if (http_listener != nullptr) {
    std::printf("http listening on %s:%d\n", http_host.c_str(),
                http_listener->port());
  }
  if (metrics_listener != nullptr) {
    std::printf("metrics listening on %s:%d\n", metrics_host.c_str(),
                metrics_listener->port());
  }
  std::printf("store: %s\n", (*store)->backend().c_str());
  std::fflush(stdout);

  absl::Notification stopping;
  std::thread readiness([&] {
    const absl::Duration interval = absl::GetFlag(FLAGS_readiness_interval);
    while (!stopping.WaitForNotificationWithTimeout(interval)) {
      const bool now = check_store();
      if (now != ready.exchange(now)) {
        observability.Log(now ? LogLevel::kInfo : LogLevel::kError,
                          now ? "store answers again: serving"
                              : "store does not answer: not serving");
      }
      observability.SetReady(now);
      (*server)->SetServing(now);
    }
  });

  const absl::Duration grace = absl::GetFlag(FLAGS_shutdown_grace);
  // Live reload of the files that hold API keys and encryption keys (those
  // given by environment variables are read once).
  std::vector<ConfigReloader::File> reloadable;
  if (const std::string path = absl::GetFlag(FLAGS_api_keys_file);
      !path.empty()) {
    reloadable.push_back(
        {"api_keys", path, [path, &tenants]() -> absl::Status {
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
    reloadable.push_back(
        {"encryption_keys", path, [path, &sealer]() -> absl::Status {
           ASSIGN_OR_RETURN(accounts::Sealer fresh, accounts::LoadSealer(path));
           sealer->Replace(fresh);
           return absl::OkStatus();
         }});
  }
  if (!options.tls_cert_file.empty() &&
      (http_listener != nullptr || metrics_listener != nullptr)) {
    // The side listeners' certificate follows the files (the gRPC
    // listener's own watcher re-reads them for gRPC).
    for (const std::string& path :
         {options.tls_cert_file, options.tls_key_file}) {
      reloadable.push_back({"tls_certificate", path, [&options] {
                              return LoadHttpTlsPair(options.tls_cert_file,
                                                     options.tls_key_file);
                            }});
    }
  }
  ConfigReloader reloader(std::move(reloadable), &observability,
                          absl::GetFlag(FLAGS_config_reload_interval));

  std::thread waiter([&] {
    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) == 0 &&
           signal_number == SIGHUP) {
      reloader.ReloadAll();
    }
    observability.Log(
        LogLevel::kInfo, "shutting down: not serving, then draining",
        absl::StrCat("\"signal\":", signal_number,
                     ",\"grace_ms\":", absl::ToInt64Milliseconds(grace)));
    stopping.Notify();
    (*server)->Shutdown(grace);
  });
  watch_engine.Start();
  (*server)->Wait();
  waiter.join();
  readiness.join();
  watch_engine.Stop();
  std::fprintf(stderr, "server: stopped\n");
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
  return unified::Run();
}
