// Benchmark of BatchGetUsers: 500 user ids in one call against the same
// users read by 500 GetUser calls one after another (what a client without
// the batch does), through the real server process, with 50 ms of simulated
// Podio latency on every request. Equal work on both sides: both ask for
// the fields a batch answers (the read mask below; a batch leaves workspace
// roles to ListRoleAssignments, and GetUser reads them only when its mask
// keeps them), and both must return the same users, field for field. The
// Podio calls each made are counted from the simulator's request log.
//
//   bazel run -c opt //tools/bench:batch_get [-- --ids=500 --users=20000]
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/testing/api_key_channel.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/latent_simulator.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 20000, "Users in the one organization.");
ABSL_FLAG(int, ids, 500, "User ids asked for (at most 500).");
ABSL_FLAG(int, latency_ms, 50, "Simulated Podio latency per request.");

namespace unified {
namespace {

// What both sides ask for: every field a batch fills.
void SetMask(google::protobuf::FieldMask* mask) {
  for (const char* path : {"id", "identifiers", "name", "first_name",
                           "last_name", "emails", "status", "organizations"}) {
    mask->add_paths(path);
  }
}

int Run(const char* argv0) {
  const podio_sim::SimulatorOptions sim_options = bench::LatentSimulator(
      absl::GetFlag(FLAGS_users),
      absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms)), {"/org/", "/org/*"});
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  absl::StatusOr<bench::BenchServer> server =
      bench::StartBenchServer(bench::ServerPath(argv0), (*sim)->base_url(),
                              {"--rate_limit=1000000000"}, "/dev/null");
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  auto stub = v1::UserDirectory::NewStub(
      testing::ApiKeyChannel(server->address, server->api_key));

  // Ids spread over the organization, as assignees on items would be.
  const podio_sim::Directory generated =
      podio_sim::GenerateDirectory(sim_options.data);
  const std::vector<int64_t>& members =
      generated.orgs.begin()->second.member_order;
  const int n = std::min(absl::GetFlag(FLAGS_ids), 500);
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(absl::StrCat(members[(i * 7919) % members.size()]));
  }

  int64_t since = (*sim)->request_log().next_seq();
  absl::Time start = absl::Now();
  v1::BatchGetUsersRequest batch;
  batch.set_integrated_account_id(server->account);
  SetMask(batch.mutable_read_mask());
  for (const std::string& id : ids) batch.add_user_ids(id);
  v1::BatchGetUsersResponse batched;
  grpc::ClientContext batch_context;
  if (!stub->BatchGetUsers(&batch_context, batch, &batched).ok()) return 1;
  const absl::Duration batch_time = absl::Now() - start;
  const size_t batch_calls = (*sim)->request_log().Since(since).size();

  since = (*sim)->request_log().next_seq();
  start = absl::Now();
  v1::BatchGetUsersResponse one_by_one;
  for (const std::string& id : ids) {
    grpc::ClientContext context;
    v1::GetUserRequest get;
    get.set_integrated_account_id(server->account);
    get.set_user_id(id);
    SetMask(get.mutable_read_mask());
    if (!stub->GetUser(&context, get, one_by_one.add_users()).ok()) return 1;
  }
  const absl::Duration loop_time = absl::Now() - start;
  const size_t loop_calls = (*sim)->request_log().Since(since).size();
  server->Stop();

  if (!google::protobuf::util::MessageDifferencer::Equals(batched,
                                                          one_by_one)) {
    std::printf("the batch and the loop returned different users\n");
    return 1;
  }
  std::printf(
      "BatchGetUsers of %d ids (%d users, %d ms per Podio request):\n"
      "  batch: %zu Podio calls (%.1f per 100 ids), %.2f s\n"
      "  %d GetUser calls: %zu Podio calls, %.2f s\n",
      n, absl::GetFlag(FLAGS_users), absl::GetFlag(FLAGS_latency_ms),
      batch_calls, batch_calls * 100.0 / n, absl::ToDoubleSeconds(batch_time),
      n, loop_calls, absl::ToDoubleSeconds(loop_time));
  const std::string loop_name = absl::StrCat(n, " GetUser calls, same fields");
  bench::Report(bench::Versus("BatchGetUsers, Podio calls",
                              static_cast<double>(batch_calls), "calls",
                              static_cast<double>(loop_calls), loop_name));
  bench::Report(bench::Versus("BatchGetUsers, time",
                              absl::ToDoubleSeconds(batch_time), "s",
                              absl::ToDoubleSeconds(loop_time), loop_name));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
