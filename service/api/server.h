// The gRPC server shell: listening socket, limits, health checking, server
// reflection and graceful shutdown. It knows nothing of the services it hosts
// beyond their names. Every service it hosts itself (health, reflection) is
// served on gRPC's callback API, like the hosted ones should be: then no
// call waits for a thread of gRPC's synchronous server.
#ifndef SERVICE_API_SERVER_H_
#define SERVICE_API_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"

namespace unified {

// grpc.health.v1 service name answering SERVING while the process runs and
// is not shutting down, whatever the store: for liveness probes
// (deploy/kubernetes). "" and the API's services follow readiness.
inline constexpr char kLivenessService[] = "liveness";
// grpc.health.v1 service name answering SERVING until the server starts to
// drain (SIGTERM), whatever the store: for readiness probes that must not
// take every replica out at once for a shared store's outage, whose calls
// each replica answers itself (UNAVAILABLE, STORE_UNAVAILABLE, RetryInfo).
// docs/operations.md explains the choice.
inline constexpr char kReadinessService[] = "readiness";

struct ServerOptions {
  // host:port to listen on; port 0 picks a free port (see Server::port()).
  std::string listen = "127.0.0.1:50051";

  // Largest request message accepted; larger ones fail RESOURCE_EXHAUSTED.
  // gRPC itself takes up to four times this (bounded by the memory quota) so
  // that the service refuses them with its error details (MESSAGE_TOO_LARGE);
  // beyond that gRPC refuses them without.
  int max_receive_message_bytes = 4 * 1024 * 1024;

  // Memory the gRPC core may use for buffers, in bytes.
  int64_t memory_quota_bytes = 256LL * 1024 * 1024;

  // HTTP/2 streams one connection may have open at once.
  int max_concurrent_streams = 100;

  // Keepalive enforcement: clients pinging more often than this without data
  // are sent GOAWAY after a few strikes.
  absl::Duration min_client_ping_interval = absl::Seconds(10);

  // TLS: PEM certificate chain and private key; both empty = plaintext. With
  // `tls_client_ca_file` clients must present a certificate that CA signed
  // (mTLS). The files are watched and re-read every `tls_reload_interval`, so
  // a rotated certificate is served without a restart.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  absl::Duration tls_reload_interval = absl::Seconds(5);
  // Plaintext on an address other than loopback is refused unless allowed
  // (for meshes whose sidecars terminate TLS).
  bool allow_insecure_listen = false;
};

// Checks the TLS files of `options` (readable PEM, a key that matches the
// certificate, a CA bundle) and whether the listen address may be plaintext.
// INVALID_ARGUMENT or FAILED_PRECONDITION with a message naming the flag.
absl::Status CheckListenSecurity(const ServerOptions& options);

// A service to host and the fully qualified name it reports health under
// (e.g. "unified.v1.UserDirectory").
struct HostedService {
  std::string name;
  grpc::Service* service;  // Not owned; must outlive the Server.
};

class Server {
 public:
  // Starts serving `services` (over TLS when configured; see
  // CheckListenSecurity) with gRPC health checking (grpc.health.v1.Health:
  // "" and every service name report SERVING) and server reflection. Fails with
  // UNAVAILABLE when the address cannot be bound.
  // `interceptors` see every call (metrics, access log).
  static absl::StatusOr<std::unique_ptr<Server>> Start(
      const ServerOptions& options, const std::vector<HostedService>& services,
      std::vector<std::unique_ptr<
          grpc::experimental::ServerInterceptorFactoryInterface>>
          interceptors = {});

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The port actually bound (useful with port 0).
  int port() const { return port_; }

  // Marks every service NOT_SERVING, stops accepting new calls, lets in-flight
  // calls finish for up to `grace`, then cancels what is left. Idempotent and
  // safe to call from any thread.
  void Shutdown(absl::Duration grace);

  // Blocks until the server has shut down.
  void Wait();

  // Health: every service SERVING (`serving`) or NOT_SERVING. Ignored once
  // Shutdown began (it stays NOT_SERVING).
  // (The health service's "liveness" entry stays SERVING until Shutdown,
  // and "readiness" until StartDraining.)
  void SetServing(bool serving);

  // The drain before Shutdown: every service NOT_SERVING ("readiness"
  // included; "liveness" stays SERVING), calls still served.
  void StartDraining();

 private:
  Server(std::unique_ptr<grpc::Server> server,
         std::unique_ptr<grpc::Service> reflection, int port);

  // Declared first: outlives the server that serves it.
  std::unique_ptr<grpc::Service> reflection_;
  std::unique_ptr<grpc::Server> server_;
  const int port_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace unified

#endif  // SERVICE_API_SERVER_H_
