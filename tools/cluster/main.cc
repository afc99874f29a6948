// Runs a cluster of the service on this machine (docs/cluster.md):
// PostgreSQL, the Podio simulator, N replicas sharing the database, and
// HAProxy balancing gRPC across them.
//
//   bazel run //tools/cluster -- [--replicas=3 --users=200 --seed=1]
//       prints the balancer's address, an API key and a linked account, and
//       serves until Ctrl-C;
//   cluster [flags] -- COMMAND [ARGS...]
//       runs COMMAND with UNIFIED_ADDR (the balancer), UNIFIED_REPLICAS (the
//       replicas' addresses, comma-separated), UNIFIED_REPLICAS_HTTP (their
//       side listeners: /metrics, /readyz), UNIFIED_API_KEY,
//       UNIFIED_ACCOUNT, UNIFIED_SIM_ADMIN_URL and UNIFIED_CLUSTER_DIR set,
//       and exits with its exit code.
//
// Signals to the process (UNIFIED_FIXTURE_PID names it): SIGUSR1 kills
// replica r0 (SIGKILL); SIGUSR2 stops PostgreSQL, or starts it again.
#include <signal.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "tools/cluster/cluster.h"
#include "tools/fixture/command.h"
#include "tools/flags/help.h"

ABSL_FLAG(int, replicas, 3, "Replicas of the service.");
ABSL_FLAG(int, users, 200, "Users in the simulated directory.");
ABSL_FLAG(int64_t, seed, 1, "Seed of the simulated directory.");
ABSL_FLAG(std::vector<std::string>, server_flags, {},
          "Further flags for every replica, comma-separated (e.g. "
          "--server_flags=--watch_poll_interval=10s,--workers=8); the store "
          "is the cluster's.");

namespace unified::cluster {
namespace {

std::map<std::string, std::string> Environment(Cluster& cluster) {
  fixture::Fixture& f = cluster.fixture();
  std::string replicas, sides;
  for (int i = 0; i < f.replicas(); ++i) {
    absl::StrAppend(&replicas, i > 0 ? "," : "", f.replica_address(i));
    absl::StrAppend(&sides, i > 0 ? "," : "", f.replica_http_address(i));
  }
  return {{"UNIFIED_ADDR", cluster.address()},
          {"UNIFIED_REPLICAS", replicas},
          {"UNIFIED_REPLICAS_HTTP", sides},
          {"UNIFIED_API_KEY", f.api_key()},
          {"UNIFIED_ACCOUNT", f.account()},
          {"UNIFIED_SIM_ADMIN_URL", f.sim_admin_url()},
          {"UNIFIED_CLUSTER_DIR", cluster.dir()}};
}

int Run(const std::vector<char*>& command) {
  fixture::BlockLauncherSignals();
  ClusterOptions options;
  options.replicas = absl::GetFlag(FLAGS_replicas);
  options.fixture.users = absl::GetFlag(FLAGS_users);
  options.fixture.seed = absl::GetFlag(FLAGS_seed);
  options.fixture.server_flags = absl::GetFlag(FLAGS_server_flags);
  absl::StatusOr<std::unique_ptr<Cluster>> cluster = Cluster::Start(options);
  if (!cluster.ok()) {
    std::fprintf(stderr, "cluster: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 1;
  }
  bool database_up = true;
  auto on_signal = [&](int signal) {
    if (signal == SIGUSR1) {
      (*cluster)->fixture().KillReplica(0);
      std::fprintf(stderr, "cluster: replica r0 killed\n");
    } else if (database_up) {
      const absl::Status s = (*cluster)->postgres().Stop();
      database_up = !s.ok();
      std::fprintf(stderr, "cluster: PostgreSQL stopped: %s\n",
                   s.ToString().c_str());
    } else {
      const absl::Status s = (*cluster)->postgres().Resume();
      database_up = s.ok();
      std::fprintf(stderr, "cluster: PostgreSQL started: %s\n",
                   s.ToString().c_str());
    }
  };
  if (!command.empty()) {
    return fixture::RunCommand(command, Environment(**cluster), on_signal);
  }
  fixture::Fixture& f = (*cluster)->fixture();
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
  std::printf("simulator admin: %s (faults, hooks, roster changes)\n",
              f.sim_admin_url().c_str());
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
  fixture::ServeUntilStopped(on_signal);
  std::printf("cluster: stopping\n");
  return 0;
}

}  // namespace
}  // namespace unified::cluster

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "cluster [flags] [-- COMMAND ARGS...]: PostgreSQL, the Podio "
      "simulator, N replicas and HAProxy (tools/cluster/main.cc)");
  unified::tools::HelpListsFlagsUnder({"tools/cluster/"});
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<char*> command(positional.begin() + 1, positional.end());
  return unified::cluster::Run(command);
}
