// Benchmark 3 of the directory: peak resident memory of the real server
// process streaming 1,000,000 users against streaming 1,000, with a client
// reading as fast as it can and with one reading a page every 100 ms. The
// server runs as its own process (//service:server) so that its peak RSS
// (VmHWM) and its CPU time are its alone; the simulator runs in this
// process, with no added latency. The fast client's large run is also the
// end-to-end figure: users per second, and server CPU seconds per 100,000
// users.
//
//   bazel run -c opt //tools/bench:stream_rss [-- --slow_pages=2000]

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "grpcpp/grpcpp.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/subprocess.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, small, 1000, "Users in the small directory.");
ABSL_FLAG(int, large, 1000000, "Users in the large directory.");
ABSL_FLAG(int, slow_pages, 2000,
          "Pages the slow client reads (one per 100 ms) before it stops.");

namespace unified {
namespace {

struct Result {
  // The stream ended OK with every member (a fast client), or read what
  // it asked for (a slow one, which stops early): a figure of a wrong
  // stream is not reported.
  bool whole = false;
  std::string problem;
  int64_t users = 0;
  int64_t peak_kib = 0;
  double seconds = 0;      // From the call to the last message.
  double cpu_seconds = 0;  // The server's, over the same span.
};

// Starts a fresh server on the simulator, links the demo principal,
// streams, and reads the server's peak RSS.
Result Measure(const std::string& server_path, const std::string& sim_url,
               bool slow, int slow_pages, int64_t members) {
  Result result;
  absl::StatusOr<bench::BenchServer> server =
      bench::StartBenchServer(server_path, sim_url);
  if (!server.ok()) {
    result.problem = server.status().ToString();
    return result;
  }
  auto channel = testing::ApiKeyChannel(server->address, server->api_key);
  const std::string account = server->account;
  auto stub = v1::UserDirectory::NewStub(channel);
  const double cpu_before = bench::ProcCpuSeconds(server->process->pid());
  const absl::Time start = absl::Now();
  grpc::ClientContext context;
  v1::ListUsersRequest request;
  request.set_integrated_account_id(account);
  request.set_limit(500);
  auto reader = stub->StreamUsers(&context, request);
  v1::ListUsersResponse message;
  int pages = 0;
  while (reader->Read(&message)) {
    result.users += message.result_size();
    if (slow) {
      absl::SleepFor(absl::Milliseconds(100));  // The slow client's pace.
      if (++pages >= slow_pages) break;
    }
  }
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  result.cpu_seconds =
      bench::ProcCpuSeconds(server->process->pid()) - cpu_before;
  result.peak_kib = bench::ProcStatusField(server->process->pid(), "VmHWM");
  // A slow client stops after its pages; a stream that ended first (or a
  // fast client's) must end OK with every member.
  const bool stopped_early = slow && pages >= slow_pages;
  if (stopped_early) context.TryCancel();
  const grpc::Status status = reader->Finish();
  result.whole = stopped_early || (status.ok() && result.users == members);
  if (!result.whole) {
    result.problem = absl::StrCat("status ", status.error_code(), " ",
                                  status.error_message(), ", ", result.users,
                                  " of ", members, " members");
  }
  server->Stop();
  return result;
}

int Run(const char* argv0) {
  const std::string server_path = bench::ServerPath(argv0);
  Result small_fast, small_slow, large_fast, large_slow;
  for (bool large : {false, true}) {
    podio_sim::SimulatorOptions options;
    options.data.users =
        large ? absl::GetFlag(FLAGS_large) : absl::GetFlag(FLAGS_small);
    options.data.orgs = 1;
    options.rate.limit = 1LL << 40;
    // A thread per kept-alive connection: pages are read ahead in parallel.
    options.threads = 64;
    auto sim = podio_sim::Simulator::Start(options);
    if (!sim.ok()) return 1;
    int64_t members = 0;
    (*sim)->ReadDirectory([&](const podio_sim::Directory& d) {
      for (const auto& [id, org] : d.orgs) members += org.member_order.size();
    });
    const int slow_pages = absl::GetFlag(FLAGS_slow_pages);
    (large ? large_fast : small_fast) =
        Measure(server_path, (*sim)->base_url(), false, slow_pages, members);
    (large ? large_slow : small_slow) =
        Measure(server_path, (*sim)->base_url(), true, slow_pages, members);
  }
  for (const Result* r : {&small_fast, &large_fast, &small_slow, &large_slow}) {
    if (!r->whole) {
      std::printf("a stream was not whole (%s): no figure\n",
                  r->problem.c_str());
      return 1;
    }
  }
  auto row = [](const char* name, const Result& r) {
    std::printf("  %-28s %9lld users  peak RSS %7.1f MiB\n", name,
                static_cast<long long>(r.users), r.peak_kib / 1024.0);
  };
  std::printf("server peak RSS while streaming (pages of 500):\n");
  row("small, fast client", small_fast);
  row("large, fast client", large_fast);
  row("small, slow client", small_slow);
  row("large, slow client", large_slow);
  std::printf("  ratio large/small, fast      %.2f (target <= 1.2)\n",
              static_cast<double>(large_fast.peak_kib) / small_fast.peak_kib);
  std::printf("  ratio large/small, slow      %.2f (target <= 1.2)\n",
              static_cast<double>(large_slow.peak_kib) / small_slow.peak_kib);
  std::printf(
      "end to end, %lld users, no added latency: %.0f users/s, server CPU "
      "%.2f s per 100,000 users\n",
      static_cast<long long>(large_fast.users),
      large_fast.users / large_fast.seconds,
      large_fast.cpu_seconds * 100000.0 / large_fast.users);
  const std::string small_name =
      absl::StrCat(small_fast.users, " users, the same client");
  bench::Report(bench::Versus(
      absl::StrCat("B3 server peak RSS, ", large_fast.users,
                   " users, fast client"),
      large_fast.peak_kib / 1024.0, "MiB", small_fast.peak_kib / 1024.0,
      small_name, bench::Target::kAtMost, 1.2));
  bench::Report(bench::Versus("B3 server peak RSS, large, slow client",
                              large_slow.peak_kib / 1024.0, "MiB",
                              small_slow.peak_kib / 1024.0, small_name,
                              bench::Target::kAtMost, 1.2));
  bench::Report(
      bench::Alone("end to end: server CPU per 100,000 users",
                   large_fast.cpu_seconds * 100000.0 / large_fast.users, "s"));
  bench::Report(bench::Alone("end to end: users streamed per second",
                             large_fast.users / large_fast.seconds, "users/s"));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
