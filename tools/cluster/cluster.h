// A cluster of the service on one machine (docs/cluster.md): a PostgreSQL
// server of its own, the Podio simulator, N replicas sharing that database,
// and HAProxy in front balancing gRPC over HTTP/2 and health-checking each
// replica's /readyz. What tools/cluster's binary runs, and what
// //tests/integration:cluster_failover_test fails over.
#ifndef TOOLS_CLUSTER_CLUSTER_H_
#define TOOLS_CLUSTER_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/testing/postgres.h"
#include "tools/testing/subprocess.h"
#include "tools/fixture/fixture.h"

namespace unified::cluster {

struct ClusterOptions {
  int replicas = 3;
  // The simulated directory, faults and further service flags; the store
  // flag is the cluster's (its PostgreSQL).
  fixture::FixtureOptions fixture;
  std::string haproxy = "/usr/sbin/haproxy";
};

// One replica as HAProxy sees it.
struct BackendState {
  std::string name;      // "r0", "r1", ...
  std::string status;    // "UP", "DOWN", "MAINT", ...
  int64_t sessions = 0;  // Requests it has been given (stot).
  int64_t current = 0;   // Requests it serves now (scur): open streams.
};

class Cluster {
 public:
  // Starts PostgreSQL, the simulator and the first replica (which links the
  // demo account), the other replicas, then HAProxy; returns once HAProxy
  // sees every replica UP.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(
      const ClusterOptions& options);

  // Stops HAProxy, the replicas and the simulator, then PostgreSQL.
  ~Cluster();

  // The load balancer's gRPC address, host:port (plaintext), and its HTTP
  // side (Podio's hooks, balanced over the replicas' side listeners).
  const std::string& address() const { return address_; }
  const std::string& http_url() const { return http_url_; }
  // The replicas, the simulator, the API key and the account.
  fixture::Fixture& fixture() { return *fixture_; }
  testing::TestPostgres& postgres() { return *postgres_; }
  const std::string& store_url() const { return store_url_; }
  const std::string& dir() const { return dir_; }

  // HAProxy's view of the replicas (as ready servers), from its stats
  // socket.
  absl::StatusOr<std::vector<BackendState>> Backends();
  // Takes replica `i` out of HAProxy's rotation (MAINT), or puts it back.
  absl::Status SetInRotation(int i, bool in_rotation);
  // Waits until HAProxy's health checks count exactly `up` replicas UP.
  absl::Status WaitForUp(int up, absl::Duration timeout);

 private:
  Cluster() = default;
  absl::Status StartHaproxy(const std::string& haproxy);
  void CloseListeners();

  // Destroyed in reverse: HAProxy, then the replicas, then PostgreSQL.
  std::unique_ptr<testing::TestPostgres> postgres_;
  std::unique_ptr<fixture::Fixture> fixture_;
  std::unique_ptr<testing::Subprocess> haproxy_;
  int grpc_fd_ = -1, http_fd_ = -1;  // HAProxy's sockets, until it starts.
  std::string address_, http_url_, store_url_, dir_, socket_dir_, stats_socket_;
};

}  // namespace unified::cluster

#endif  // TOOLS_CLUSTER_CLUSTER_H_
