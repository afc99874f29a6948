// The HTTP side listener, for browsers and providers rather than gRPC
// clients: GET /oauth/callback completes the OAuth code flow (the provider
// redirects the customer's browser here), POST /podio/hooks/<secret> takes
// Podio's hook deliveries (service/watch/watch_engine.h), GET /healthz
// answers "ok".
// Pages never show a token or code; errors are plain and escaped.
#ifndef SERVICE_HTTP_LISTENER_H_
#define SERVICE_HTTP_LISTENER_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "service/integrated_accounts_service.h"
#include "service/watch/watch_engine.h"

namespace httplib {
class Server;
}

namespace unified {

class HttpListener {
 public:
  // Listens on `host:port` (0 picks a free port). Not owning `accounts`.
  // `watch` may be null: no hook route.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(
      const std::string& host, int port, IntegratedAccountsService* accounts,
      watch::WatchEngine* watch = nullptr);
  ~HttpListener();

  int port() const { return port_; }

 private:
  HttpListener() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> returned_{false};
  int port_ = 0;
};

}  // namespace unified

#endif  // SERVICE_HTTP_LISTENER_H_
