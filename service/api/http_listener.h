// The HTTP side listener, for browsers and providers rather than gRPC
// clients. It answers GET /healthz, /readyz and /metrics itself; everything
// else is a route it is given (service/api/http_route.h), e.g. the OAuth
// callback (oauth_callback_route.h) and providers' hook deliveries
// (hook_route.h).
//
// Built on GNU libmicrohttpd's epoll event loop: a connection holds a
// socket, never a thread, while its request trickles in, so slow or abusive
// clients cannot starve hook deliveries or /healthz. Requests that need
// blocking work (the code exchange, storing a delivery) are suspended and
// run on the worker pool; /healthz is answered on the event loop. Limits
// (docs/serving.md): a bounded number of connections, an idle timeout, a
// deadline for each whole request to arrive, bounded headers and bodies.
// Pages never show a token or code; errors are plain and escaped.
#ifndef SERVICE_API_HTTP_LISTENER_H_
#define SERVICE_API_HTTP_LISTENER_H_

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/api/http_route.h"
#include "service/core/worker_pool.h"

struct MHD_Daemon;

namespace unified {

struct HttpListenerOptions {
  // Event-loop threads.
  int threads = 2;
  // Connections open at once; more are refused at accept.
  int max_connections = 1024;
  // Connections one peer address may hold open at once; more from it are
  // closed at accept, so one client cannot take the slots /healthz,
  // /readyz and hook deliveries need. 0: no cap (behind a proxy that is the
  // only peer).
  int max_connections_per_peer = 64;
  // A connection that sends nothing for this long is closed.
  absl::Duration idle_timeout = absl::Seconds(10);
  // A request (headers and body) must arrive within this long of the
  // connection opening or of the previous answer on it.
  absl::Duration request_timeout = absl::Seconds(10);
  // Largest request body (hook deliveries are small).
  size_t max_body_bytes = 64 * 1024;
  // GET /metrics answers this text (Prometheus' exposition format); unset:
  // no /metrics.
  std::function<std::string()> metrics;
  // GET /readyz answers 200 while this says true, 503 otherwise; unset:
  // always ready. GET /healthz (liveness) answers 200 while the process
  // serves.
  std::function<bool()> ready;
  // Serve only /metrics, /healthz and /readyz (a separate metrics port).
  bool metrics_only = false;
  // HTTPS with the pair loaded by LoadHttpTlsPair (service/api/http_tls.h),
  // which may be replaced while serving; false: plain HTTP.
  bool tls = false;
};

// A bound, listening TCP socket, taken before the listener starts so that
// its port is known to what the listener serves (the OAuth redirect URI,
// the hook URLs). Move-only; closed unless a listener takes it.
class ListenSocket {
 public:
  // Binds `host:port` (0 picks a free port) and listens.
  // INVALID_ARGUMENT for an unresolvable address, UNAVAILABLE when it
  // cannot be bound.
  static absl::StatusOr<ListenSocket> Bind(const std::string& host, int port);
  ListenSocket(ListenSocket&& other) noexcept;
  ListenSocket& operator=(ListenSocket&& other) noexcept;
  ~ListenSocket();

  int port() const { return port_; }
  bool ipv6() const { return ipv6_; }
  // Hands the descriptor over (the caller closes it).
  int Release();

 private:
  ListenSocket(int fd, int port, bool ipv6)
      : fd_(fd), port_(port), ipv6_(ipv6) {}
  int fd_ = -1;
  int port_ = 0;
  bool ipv6_ = false;
};

class HttpListener {
 public:
  // Serves `routes` (the first that matches a path serves it) on `socket`.
  // Not owning `pool`, which runs the routes' blocking work and must outlive
  // the listener.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      ListenSocket socket, std::vector<std::unique_ptr<HttpRoute>> routes,
      WorkerPool* pool, HttpListenerOptions options = {});
  // Waits for requests in progress, then stops.
  ~HttpListener();

  int port() const { return port_; }

  // Internal: one request and one connection as the event loop sees them.
  struct Request;
  struct Connection;

 private:
  HttpListener() = default;
  // The event loop's callbacks (defined with the library's types in the
  // .cc).
  friend struct HttpListenerCallbacks;
  void Reap();
  // The listener's own answers (/healthz, /readyz, /metrics, and 404 for
  // the rest on a metrics-only port); nullopt for a path routes serve.
  std::optional<HttpAnswer> OwnAnswer(absl::string_view path,
                                      absl::string_view verb) const;
  // The first route matching `path`, or null.
  HttpRoute* RouteOf(absl::string_view path) const;

  std::vector<std::unique_ptr<HttpRoute>> routes_;
  WorkerPool* pool_ = nullptr;
  HttpListenerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;

  absl::Mutex mu_;
  std::set<Connection*> connections_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread reaper_;
};

}  // namespace unified

#endif  // SERVICE_API_HTTP_LISTENER_H_
