// Builds the whole server from a ServerConfig (service/server_config.h):
// secrets, the store, the connectors, the rate budget, accounts, watch and
// webhooks, the gRPC services and the side listeners, in the one order that
// works (docs/architecture.md). main.cc is flags, this, and the signals.
#ifndef SERVICE_SERVER_BUILDER_H_
#define SERVICE_SERVER_BUILDER_H_

#include <signal.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "service/server_config.h"

namespace unified {

// --check_config: what a start reads (TLS files, secrets, the store URL, the
// cursor key file, the connectors' own flags and files), without binding a
// port, opening the store or creating a directory.
absl::Status CheckConfig(const ServerConfig& config);

class DirectoryServer {
 public:
  // Everything built and serving (the workers start in Serve). FAILED
  // PRECONDITION, INVALID_ARGUMENT or UNAVAILABLE naming what is wrong.
  static absl::StatusOr<std::unique_ptr<DirectoryServer>> Build(
      const ServerConfig& config);
  ~DirectoryServer();

  // Prints the "listening on HOST:PORT" lines (gRPC, HTTP side listener,
  // metrics) and the store's backend on stdout.
  void PrintAddresses() const;

  // Serves until SIGINT or SIGTERM among `stop_signals` (blocked in every
  // thread; SIGHUP re-reads the configuration files). Then: not ready while
  // still serving for the drain, then stops accepting and gives in-flight
  // calls the grace (Serving::BeginStopping ends what still runs just
  // before, with ErrorInfo).
  void Serve(const sigset_t& stop_signals);

 private:
  struct Parts;
  explicit DirectoryServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace unified

#endif  // SERVICE_SERVER_BUILDER_H_
