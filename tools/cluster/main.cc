// Runs a cluster of the service on this machine until Ctrl-C
// (docs/cluster.md): PostgreSQL, the Podio simulator, N replicas sharing the
// database, and HAProxy balancing gRPC across them. Prints the load
// balancer's address, an API key and a linked account.
//
//   bazel run //tools/cluster -- [--replicas=3 --users=200 --seed=1]
#include <signal.h>

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "tools/cluster/cluster.h"

ABSL_FLAG(int, replicas, 3, "Replicas of the service.");
ABSL_FLAG(int, users, 200, "Users in the simulated directory.");
ABSL_FLAG(int64_t, seed, 1, "Seed of the simulated directory.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs PostgreSQL, the Podio simulator, N replicas and HAProxy.");
  absl::ParseCommandLine(argc, argv);
  // The stop signals wait in a mask until the cluster is up.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  unified::cluster::ClusterOptions options;
  options.replicas = absl::GetFlag(FLAGS_replicas);
  options.fixture.users = absl::GetFlag(FLAGS_users);
  options.fixture.seed = absl::GetFlag(FLAGS_seed);
  auto cluster = unified::cluster::Cluster::Start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "cluster: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 1;
  }
  unified::fixture::Fixture& f = (*cluster)->fixture();
  std::printf("cluster: HAProxy at %s balancing %d replicas:\n",
              (*cluster)->address().c_str(), f.replicas());
  for (int i = 0; i < f.replicas(); ++i) {
    std::printf("  r%d gRPC %s, HTTP %s\n", i, f.replica_address(i).c_str(),
                f.replica_http_address(i).c_str());
  }
  std::printf("hooks: %s (the replicas' side listeners)\n",
              (*cluster)->http_url().c_str());
  std::printf("store: PostgreSQL, files and logs in %s\n",
              (*cluster)->dir().c_str());
  // The API key is for the person at this terminal.
  std::printf("\nexport KEY=%s ACCOUNT=%s\n", f.api_key().c_str(),
              f.account().c_str());
  std::printf(
      "grpcurl -plaintext -H \"authorization: Bearer $KEY\" -d "
      "\"{\\\"integrated_account_id\\\": \\\"$ACCOUNT\\\"}\" %s "
      "unified.v1.UserDirectory/GetMe\n",
      (*cluster)->address().c_str());
  std::printf("Ctrl-C stops it all.\n");
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop, &signal);
  std::printf("cluster: stopping\n");
  return 0;
}
