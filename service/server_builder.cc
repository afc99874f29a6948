#include "service/server_builder.h"

#include <errno.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "connectors/builtin.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/log_line.h"
#include "connectors/common/secrets.h"
#include "connectors/common/status_macros.h"
#include "connectors/common/url_host.h"
#include "connectors/plugin.h"
#include "connectors/registry.h"
#include "service/accounts/config.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/rate_limit_events.h"
#include "service/api/config_reload.h"
#include "service/api/hook_route.h"
#include "service/api/http_listener.h"
#include "service/api/http_tls.h"
#include "service/api/integrated_accounts_service.h"
#include "service/api/link_flow.h"
#include "service/api/link_route.h"
#include "service/api/oauth_callback_route.h"
#include "service/api/oauth_flow.h"
#include "service/api/proxy_service.h"
#include "service/api/user_directory_service.h"
#include "service/core/cursor.h"
#include "service/core/tenants.h"
#include "service/link/link_store.h"
#include "service/store/sql_rate_ledger.h"
#include "service/watch/hook_spool.h"
#include "service/watch/watch_store.h"
#include "service/webhooks/webhook_store.h"

namespace unified {
namespace {

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

// The unsafe flags set: a --testing_* one is refused unless every provider's
// upstream is on loopback (a simulator: against a real provider it would
// overspend its budget or drop a refreshed token); each is logged as a
// warning, at start and by --check_config.
absl::Status CheckUnsafeFlags(const std::vector<UnsafeFlag>& unsafe,
                              const ConnectorRegistry& connectors) {
  for (const UnsafeFlag& u : unsafe) {
    if (!u.testing) continue;
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
  for (const UnsafeFlag& u : unsafe) {
    LogEvent(LogLevel::kWarning, "unsafe flag",
             absl::StrCat("\"flag\":", JsonQuote(u.flag),
                          ",\"effect\":", JsonQuote(u.effect)));
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

absl::StatusOr<TenantAuthenticator> LoadTenants(const ServerConfig& config) {
  ASSIGN_OR_RETURN(
      std::string api_keys,
      ReadSecret(config.api_keys_file, "UNIFIED_API_KEYS", "API keys"));
  ASSIGN_OR_RETURN(TenantAuthenticator tenants,
                   TenantAuthenticator::Parse(api_keys));
  if (tenants.size() == 0) {
    return absl::FailedPreconditionError("the API keys file is empty");
  }
  return tenants;
}

absl::StatusOr<std::unique_ptr<accounts::CredentialStore>> OpenStore(
    const ServerConfig& config) {
  std::string store_url = config.store_url;
  if (store_url.empty()) {
    ASSIGN_OR_RETURN(std::string dir,
                     accounts::ResolveDataDir(config.data_dir));
    store_url = accounts::ResolveStoreUrl("", dir);
  }
  RETURN_IF_ERROR(accounts::MakeStoreFilesPrivate(store_url));
  return accounts::CredentialStore::OpenUrl(store_url);
}

// The cursor key: --cursor_key_file's, else the one kept in the data
// directory (made there on first start; `keep` false, as --check_config
// runs, creates nothing and gives a random key).
absl::StatusOr<std::string> CursorKey(const ServerConfig& config, bool keep) {
  const std::string& path = config.cursor_key_file;
  if (path.empty() && !keep) return RandomCursorKey();
  if (path.empty()) {
    ASSIGN_OR_RETURN(std::string dir,
                     accounts::ResolveDataDir(config.data_dir));
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

// The files re-read on change and on SIGHUP: API keys, the key ring, and
// the side listeners' certificate (the gRPC listener watches its own).
std::vector<ConfigReloader::File> ReloadableFiles(const ServerConfig& config,
                                                  TenantAuthenticator* tenants,
                                                  accounts::Sealer* sealer,
                                                  bool side_listeners) {
  std::vector<ConfigReloader::File> files;
  if (const std::string path = config.api_keys_file; !path.empty()) {
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
  if (const std::string path = config.encryption_keys_file; !path.empty()) {
    files.push_back({"encryption_keys", path, [path, sealer]() -> absl::Status {
                       ASSIGN_OR_RETURN(accounts::Sealer fresh,
                                        accounts::LoadSealer(path));
                       sealer->Replace(fresh);
                       return absl::OkStatus();
                     }});
  }
  const ServerOptions& server = config.server;
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
bool StoreAnswers(store::SqlDatabase* database, Observability* observability) {
  const absl::Time start = absl::Now();
  bool ok = false;
  if (absl::StatusOr<store::SqlDatabase::Lease> lease = database->Acquire();
      lease.ok()) {
    ok = (*lease)->Query("SELECT 1").ok();
  }
  observability->OnStoreOperation(absl::Now() - start, ok);
  return ok;
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

}  // namespace

absl::Status CheckConfig(const ServerConfig& config) {
  SetGroupReadableSecretsAllowed(config.secret_files_group_readable);
  RETURN_IF_ERROR(accounts::LoadSealer(config.encryption_keys_file).status());
  RETURN_IF_ERROR(LoadTenants(config).status());
  for (const std::string& listen :
       {config.http_listen, config.metrics_listen}) {
    HttpListenerOptions unused;
    if (listen.empty()) continue;  // No such listener.
    RETURN_IF_ERROR(ListenerTls(listen, config.server, &unused));
  }
  if (!config.store_url.empty()) {
    RETURN_IF_ERROR(accounts::CredentialStore::CheckUrl(config.store_url));
  }
  RETURN_IF_ERROR(CursorKey(config, /*keep=*/false).status());
  // The connectors read their own flags and files (client secrets) when
  // started; nothing is sent until a call.
  ConnectorHost host;
  host.clock = RealClock::Get();
  ConnectorRegistry connectors;
  RETURN_IF_ERROR(StartProviders(host, &connectors));
  return CheckUnsafeFlags(config.unsafe, connectors);
}

// Every part of a running server, in the order they are built (and the
// reverse of the order they go).
struct DirectoryServer::Parts {
  explicit Parts(const ServerConfig& c) : config(c) {}
  const ServerConfig config;
  std::unique_ptr<Observability> observability;
  std::unique_ptr<accounts::Sealer> sealer;
  std::unique_ptr<TenantAuthenticator> tenants;
  std::unique_ptr<accounts::CredentialStore> store;
  std::unique_ptr<CursorCodec> cursors;
  ConnectorHost connector_host;
  ConnectorRegistry connectors;
  std::unique_ptr<RateLedger> ledger;
  std::unique_ptr<accounts::RateLimitEvents> rate_limit_events;
  std::unique_ptr<RateBudget> budget;
  std::unique_ptr<accounts::AccountManager> accounts;
  std::optional<SideListener> http;
  std::optional<SideListener> metrics_side;
  std::unique_ptr<watch::HookSpool> spool;
  std::unique_ptr<watch::WatchStore> watch_store;
  std::unique_ptr<watch::WatchEngine> watch_engine;
  std::unique_ptr<webhooks::WebhookStore> webhook_store;
  std::unique_ptr<HttpClient> webhook_http;
  std::unique_ptr<webhooks::WebhookDeliverer> deliverer;
  std::unique_ptr<WorkerPool> pool;
  std::unique_ptr<Serving> serving;
  std::unique_ptr<UserDirectoryService> user_directory;
  std::unique_ptr<ProxyService> proxy;
  std::unique_ptr<OAuthFlow> oauth;
  std::unique_ptr<link::LinkSessionStore> link_sessions;
  std::unique_ptr<LinkFlow> link;  // Null without the HTTP side listener.
  std::unique_ptr<IntegratedAccountsService> integrated_accounts;
  std::atomic<bool> ready{false};
  std::unique_ptr<HttpListener> http_listener;
  std::unique_ptr<HttpListener> metrics_listener;
  std::unique_ptr<Server> server;

  absl::Status BuildCore();
  absl::Status BuildWatchAndWebhooks();
  absl::Status BuildServices();
  absl::StatusOr<std::unique_ptr<HttpListener>> StartSideListener(
      std::optional<SideListener>& side, bool with_handlers, bool metrics);
};

// Secrets, the store and what stands on it: the connectors, the rate
// budget and the accounts.
absl::Status DirectoryServer::Parts::BuildCore() {
  observability = std::make_unique<Observability>(config.observability);
  SetLogSink(observability.get());
  ASSIGN_OR_RETURN(accounts::Sealer loaded,
                   accounts::LoadSealer(config.encryption_keys_file));
  sealer = std::make_unique<accounts::Sealer>(std::move(loaded));
  ASSIGN_OR_RETURN(TenantAuthenticator keys, LoadTenants(config));
  tenants = std::make_unique<TenantAuthenticator>(std::move(keys));
  ASSIGN_OR_RETURN(store, OpenStore(config));
  ASSIGN_OR_RETURN(std::string cursor_key, CursorKey(config, /*keep=*/true));
  cursors = std::make_unique<CursorCodec>(cursor_key);
  if (store->backend() == "postgresql" && config.cursor_key_file.empty()) {
    LogEvent(LogLevel::kWarning,
             "replicas sharing this store need one --cursor_key_file: each "
             "keeps its own key in its data directory, and the others refuse "
             "its cursors (CURSOR_KEY_UNKNOWN)");
  }
  // Every upstream exchange is counted (metrics), whoever sends it.
  connector_host.clock = RealClock::Get();
  connector_host.observer = config.metrics ? observability.get() : nullptr;
  RETURN_IF_ERROR(StartProviders(connector_host, &connectors));
  RETURN_IF_ERROR(CheckUnsafeFlags(config.unsafe, connectors));
  const RateBudgetOptions budget_options = config.BudgetFor(connectors);
  // Replicas sharing PostgreSQL share the budget too; one process keeps it
  // in memory.
  ledger = store->backend() == "postgresql"
               ? store::NewSqlRateLedger(store->database(), budget_options)
               : NewMemoryRateLedger(budget_options);
  rate_limit_events = std::make_unique<accounts::RateLimitEvents>(store.get());
  budget = std::make_unique<RateBudget>(
      ledger.get(), RealClock::Get(), budget_options,
      config.metrics ? observability.get() : nullptr, rate_limit_events.get());
  accounts::AccountManagerOptions manager = config.accounts;
  Observability* obs = observability.get();
  manager.on_refresh = [obs](absl::string_view outcome) {
    obs->OnRefresh(outcome);
  };
  manager.rate_limit_events = rate_limit_events.get();
  accounts = std::make_unique<accounts::AccountManager>(
      store.get(), sealer.get(), connectors.Auths(), RealClock::Get(), manager,
      budget.get());
  return absl::OkStatus();
}

// The side listeners' sockets first (the redirect URI and the hook URLs
// name their ports), then watch and webhooks.
absl::Status DirectoryServer::Parts::BuildWatchAndWebhooks() {
  ASSIGN_OR_RETURN(http, BindSideListener(config.http_listen, "--http_listen",
                                          config.server));
  ASSIGN_OR_RETURN(metrics_side,
                   BindSideListener(config.metrics_listen, "--metrics_listen",
                                    config.server));
  watch::WatchOptions options = config.watch;
  if (options.hook_base_url == "local") options.hook_base_url = http->Url();
  observability->Observe(options);
  // Hook deliveries the store cannot take (an outage) wait here, so the
  // provider never sees errors that would switch the hooks off.
  ASSIGN_OR_RETURN(std::string data_dir,
                   accounts::ResolveDataDir(config.data_dir));
  ASSIGN_OR_RETURN(spool, watch::HookSpool::Open(data_dir + "/hook_spool"));
  options.spool = spool.get();
  watch_store = std::make_unique<watch::WatchStore>(store->database());
  watch_engine = std::make_unique<watch::WatchEngine>(
      watch_store.get(), accounts.get(), &connectors, budget.get(),
      RealClock::Get(), options);
  webhook_store = std::make_unique<webhooks::WebhookStore>(store->database());
  webhook_http = NewCurlHttpClient({});
  deliverer = std::make_unique<webhooks::WebhookDeliverer>(
      webhook_store.get(), store.get(), &watch_store->events(), sealer.get(),
      webhook_http.get(), RealClock::Get(), config.deliverer);
  return absl::OkStatus();
}

// Starts a bound side listener (none when `side` is empty). The metrics
// port serves only /metrics and health; the HTTP side listener also the
// OAuth callback and hook deliveries (`with_handlers`).
absl::StatusOr<std::unique_ptr<HttpListener>>
DirectoryServer::Parts::StartSideListener(std::optional<SideListener>& side,
                                          bool with_handlers, bool metrics) {
  if (!side) return nullptr;
  HttpListenerOptions& options = side->options;
  options.ready = [this] { return ready.load(); };
  options.max_connections_per_peer = config.http_max_connections_per_peer;
  Observability* obs = observability.get();
  if (metrics) options.metrics = [obs] { return obs->MetricsText(); };
  std::vector<std::unique_ptr<HttpRoute>> routes;
  if (!with_handlers) {
    options.metrics_only = true;
  } else {
    options.max_connections = config.http_max_connections;
    options.request_timeout = config.http_request_timeout;
    routes.push_back(NewOAuthCallbackRoute(integrated_accounts.get(),
                                           oauth.get(), link.get()));
    if (link) routes.push_back(NewLinkRoute(link.get()));
    routes.push_back(NewHookRoute(watch_engine.get(), [obs](int status) {
      obs->OnHookDelivery(status == 200   ? "stored"
                          : status >= 500 ? "failed"
                                          : "refused");
    }));
  }
  return HttpListener::Start(std::move(*side->socket), std::move(routes),
                             pool.get(), options);
}

// The gRPC services, the side listeners and the server.
absl::Status DirectoryServer::Parts::BuildServices() {
  pool = std::make_unique<WorkerPool>(config.pool);
  // Call records (the access log's fields, the oversize check) with or
  // without metrics.
  serving = std::make_unique<Serving>(tenants.get(), pool.get(), config.serving,
                                      observability.get());
  user_directory = std::make_unique<UserDirectoryService>(
      serving.get(), accounts.get(), &connectors, cursors.get(), budget.get(),
      watch_engine.get());
  proxy = std::make_unique<ProxyService>(serving.get(), accounts.get(),
                                         &connectors, budget.get());
  OAuthFlowOptions oauth_options;
  oauth_options.default_provider = connectors.names().front();
  oauth_options.state_ttl = config.state_ttl;
  oauth_options.default_redirect_uri = config.oauth_redirect_uri;
  if (oauth_options.default_redirect_uri.empty() && http) {
    oauth_options.default_redirect_uri =
        absl::StrCat(http->Url(), "/oauth/callback");
  }
  oauth =
      std::make_unique<OAuthFlow>(accounts.get(), store.get(), cursors.get(),
                                  RealClock::Get(), oauth_options);
  link_sessions = std::make_unique<link::LinkSessionStore>(store->database());
  if (http) {
    link = std::make_unique<LinkFlow>(
        oauth.get(), accounts.get(), link_sessions.get(),
        LinkFlowOptions{
            LinkPageUrl(oauth_options.default_redirect_uri, http->Url()),
            connectors.names()});
  }
  integrated_accounts = std::make_unique<IntegratedAccountsService>(
      serving.get(), accounts.get(), store.get(), cursors.get(),
      RealClock::Get(), oauth.get(), link.get(), budget.get(),
      watch_engine.get(),
      WebhookSettings{webhook_store.get(), sealer.get(),
                      config.deliverer.url_policy,
                      config.webhook_secret_overlap});
  // Ready once the store answers (checked here, then every
  // --readiness_interval).
  ready = StoreAnswers(store->database(), observability.get());
  observability->SetReady(ready);
  ASSIGN_OR_RETURN(http_listener,
                   StartSideListener(http, /*with_handlers=*/true,
                                     config.metrics && !metrics_side));
  ASSIGN_OR_RETURN(metrics_listener,
                   StartSideListener(metrics_side, /*with_handlers=*/false,
                                     /*metrics=*/true));
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  // Request ids, the access log and the request checks of the error model
  // (docs/serving.md) hold with --metrics=false too.
  interceptors.push_back(observability->InterceptorFactory());
  ASSIGN_OR_RETURN(
      server, Server::Start(config.server,
                            {{v1::UserDirectory::service_full_name(),
                              user_directory.get()},
                             {v1::IntegratedAccounts::service_full_name(),
                              integrated_accounts.get()},
                             {v1::Proxy::service_full_name(), proxy.get()}},
                            std::move(interceptors)));
  server->SetServing(ready);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DirectoryServer>> DirectoryServer::Build(
    const ServerConfig& config) {
  RETURN_IF_ERROR(config.Validate());
  SetGroupReadableSecretsAllowed(config.secret_files_group_readable);
  auto parts = std::make_unique<Parts>(config);
  RETURN_IF_ERROR(parts->BuildCore());
  RETURN_IF_ERROR(parts->BuildWatchAndWebhooks());
  RETURN_IF_ERROR(parts->BuildServices());
  return std::unique_ptr<DirectoryServer>(
      new DirectoryServer(std::move(parts)));
}

DirectoryServer::DirectoryServer(std::unique_ptr<Parts> parts)
    : parts_(std::move(parts)) {}

DirectoryServer::~DirectoryServer() = default;

void DirectoryServer::PrintAddresses() const {
  const Parts& p = *parts_;
  const std::string& listen = p.config.server.listen;
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%d\n", host.c_str(), p.server->port());
  if (p.http_listener != nullptr) {
    std::printf("http listening on %s:%d\n", p.http->host.c_str(),
                p.http_listener->port());
  }
  if (p.metrics_listener != nullptr) {
    std::printf("metrics listening on %s:%d\n", p.metrics_side->host.c_str(),
                p.metrics_listener->port());
  }
  std::printf("store: %s\n", p.store->backend().c_str());
  std::fflush(stdout);
}

void DirectoryServer::Serve(const sigset_t& stop_signals) {
  Parts& p = *parts_;
  ConfigReloader reloader(
      ReloadableFiles(
          p.config, p.tenants.get(), p.sealer.get(),
          p.http_listener != nullptr || p.metrics_listener != nullptr),
      p.observability.get(), p.config.config_reload_interval);
  p.watch_engine->Start();
  p.deliverer->Start();
  // Meanwhile the store is checked every --readiness_interval (readiness
  // follows it) and SIGHUP re-reads the configuration files.
  absl::Notification stopping;
  std::thread readiness([&] {
    while (
        !stopping.WaitForNotificationWithTimeout(p.config.readiness_interval)) {
      const bool now = StoreAnswers(p.store->database(), p.observability.get());
      if (now != p.ready.exchange(now)) {
        p.observability->Log(now ? LogLevel::kInfo : LogLevel::kError,
                             now ? "store answers again: serving"
                                 : "store does not answer: not serving");
      }
      p.observability->SetReady(now);
      p.server->SetServing(now);
    }
  });
  const absl::Duration grace = p.config.shutdown_grace;
  const absl::Duration drain = p.config.shutdown_drain;
  std::thread waiter([&] {
    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) == 0 &&
           signal_number == SIGHUP) {
      reloader.ReloadAll();
    }
    p.observability->Log(
        LogLevel::kInfo, "shutting down: not ready, draining, then stopping",
        absl::StrCat("\"signal\":", signal_number,
                     ",\"drain_ms\":", absl::ToInt64Milliseconds(drain),
                     ",\"grace_ms\":", absl::ToInt64Milliseconds(grace)));
    // Readiness stops following the store: it is not ready from now on.
    stopping.Notify();
    readiness.join();
    p.ready.store(false);
    p.observability->SetReady(false);
    p.server->StartDraining();
    WaitForSignal(stop_signals, drain);
    // Watch streams end now; listings and calls still running halfway
    // through the grace are ended then, each with ErrorInfo, so that gRPC's
    // own cancel at the end finds nothing to cut (the second half leaves
    // room for a loaded machine to wind them down).
    p.serving->BeginStopping(absl::Now() + grace / 2);
    p.server->Shutdown(grace);
  });
  p.server->Wait();
  waiter.join();
  p.deliverer->Stop();
  p.watch_engine->Stop();
}

}  // namespace unified
