// Benchmark of BatchGetUsers: 500 user ids in one call against the same
// users read by 500 GetUser calls one after another (what a client without
// the batch does), with 50 ms of simulated Podio latency on every request.
// Both run side by side in this one process against one in-process
// simulator; the Podio calls each made are counted from the simulator's
// request log, and both must return the same users.
//
//   bazel run -c opt //tools/bench:batch_get [-- --ids=500 --users=20000]
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "tools/bench/in_process_directory.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 20000, "Users in the one organization.");
ABSL_FLAG(int, ids, 500, "User ids asked for (at most 500).");
ABSL_FLAG(int, latency_ms, 50, "Simulated Podio latency per request.");

namespace unified {
namespace {

int Run() {
  const podio_sim::SimulatorOptions sim_options = bench::LatentSimulator(
      absl::GetFlag(FLAGS_users),
      absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms)), {"/org/", "/org/*"});
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  const std::string base = (*sim)->base_url();
  absl::StatusOr<std::unique_ptr<bench::InProcessDirectory>> directory =
      bench::InProcessDirectory::Start(base);
  if (!directory.ok()) return 1;
  v1::UserDirectory::Stub* stub = &(*directory)->stub();

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
  batch.set_integrated_account_id("acct");
  for (const std::string& id : ids) batch.add_user_ids(id);
  v1::BatchGetUsersResponse batched;
  grpc::ClientContext batch_context;
  if (!stub->BatchGetUsers(&batch_context, batch, &batched).ok()) return 1;
  const absl::Duration batch_time = absl::Now() - start;
  const size_t batch_calls = (*sim)->request_log().Since(since).size();

  since = (*sim)->request_log().next_seq();
  start = absl::Now();
  std::vector<std::string> one_by_one;
  for (const std::string& id : ids) {
    grpc::ClientContext context;
    v1::GetUserRequest get;
    get.set_integrated_account_id("acct");
    get.set_user_id(id);
    v1::User user;
    if (!stub->GetUser(&context, get, &user).ok()) return 1;
    one_by_one.push_back(user.id());
  }
  const absl::Duration loop_time = absl::Now() - start;
  const size_t loop_calls = (*sim)->request_log().Since(since).size();

  std::vector<std::string> batched_ids;
  for (const v1::User& u : batched.users()) batched_ids.push_back(u.id());
  if (batched_ids != one_by_one || batched.not_found_ids_size() != 0) {
    std::printf("the batch and the loop returned different users\n");
    return 1;
  }
  std::printf(
      "BatchGetUsers of %d ids (%d users, %d ms per Podio request):\n"
      "  batch: %zu Podio calls (%.1f per 100 ids), %.2f s\n"
      "  %d GetUser calls: %zu Podio calls, %.2f s\n"
      "  ratio: calls %.3f, time %.3f\n",
      n, absl::GetFlag(FLAGS_users), absl::GetFlag(FLAGS_latency_ms),
      batch_calls, batch_calls * 100.0 / n, absl::ToDoubleSeconds(batch_time),
      n, loop_calls, absl::ToDoubleSeconds(loop_time),
      static_cast<double>(batch_calls) / loop_calls,
      absl::ToDoubleSeconds(batch_time) / absl::ToDoubleSeconds(loop_time));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
