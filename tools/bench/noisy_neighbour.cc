// Benchmark of isolation between tenants on one server process: tenant B's
// GetMe and ListUsers(100) latencies, and the server's resident set, with
// tenant A idle and with tenant A using what its limits allow, in
// alternating rounds of one run: (1) every stream slot holding a StreamUsers
// it never reads; (2) the same and every unary call slot busy with GetMe.
// The baseline of each figure is the same measure in the idle rounds; the
// targets are B's p99 within 3x of idle and the resident set within 2x.
// Each tenant has its own connection and its own Podio user, as two
// customers would.
//
//   bazel run -c opt //tools/bench:noisy_neighbour [-- --rounds=3]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/latent_simulator.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/api_key_channel.h"

ABSL_FLAG(int, users, 20000, "Users in the one organization.");
ABSL_FLAG(int, latency_ms, 20, "Simulated Podio latency per request.");
ABSL_FLAG(int, rounds, 3, "Idle and loaded rounds (each).");
ABSL_FLAG(int, calls, 100, "Tenant B's calls of each kind per round.");
ABSL_FLAG(int, streams, 64, "Tenant A's unread streams (its stream limit).");
ABSL_FLAG(int, busy, 64, "Tenant A's unary calls in flight (its call limit).");
ABSL_FLAG(std::string, server_log, "/dev/null", "Where the server logs.");
ABSL_FLAG(int, stream_jobs, 0,
          "The server's --tenant_max_stream_jobs (0: its default); 12, the "
          "per-key worker cap, is how the server ran before that limit.");

namespace unified {
namespace {

using Stub = v1::UserDirectory::Stub;

// Tenant A at its limits: unread streams and a loop of calls per slot.
class Load {
 public:
  Load(Stub* stub, const std::string& account, int busy) {
    for (int i = 0; i < absl::GetFlag(FLAGS_streams); ++i) {
      auto context = std::make_unique<grpc::ClientContext>();
      v1::ListUsersRequest request;
      request.set_integrated_account_id(account);
      request.set_limit(500);
      readers_.push_back(stub->StreamUsers(context.get(), request));
      contexts_.push_back(std::move(context));
    }
    for (int i = 0; i < busy; ++i) {
      threads_.emplace_back([this, stub, account] {
        while (!stop_.load()) {
          grpc::ClientContext context;
          context.set_deadline(
              absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
          v1::GetMeRequest request;
          request.set_integrated_account_id(account);
          v1::User me;
          (void)stub->GetMe(&context, request, &me);
        }
      });
    }
  }
  ~Load() {
    stop_ = true;
    for (std::thread& t : threads_) t.join();
    for (auto& c : contexts_) c->TryCancel();
    for (auto& r : readers_) (void)r->Finish();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts_;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::ListUsersResponse>>>
      readers_;
  std::vector<std::thread> threads_;
};

struct Samples {
  std::vector<double> get_me_ms, list_ms;
  int64_t max_rss_kib = 0;
  int failures = 0;
  std::string first_failure;
};

// Tenant B's calls, one after another; the server's RSS sampled meanwhile.
void Probe(Stub* stub, const std::string& account, pid_t server, Samples* out) {
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done.load()) {
      out->max_rss_kib =
          std::max(out->max_rss_kib, bench::ProcStatusField(server, "VmRSS"));
      absl::SleepFor(absl::Milliseconds(50));
    }
  });
  for (int i = 0; i < absl::GetFlag(FLAGS_calls); ++i) {
    for (bool list : {false, true}) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      const absl::Time start = absl::Now();
      grpc::Status status;
      if (list) {
        v1::ListUsersRequest request;
        request.set_integrated_account_id(account);
        request.set_limit(100);
        v1::ListUsersResponse response;
        status = stub->ListUsers(&context, request, &response);
      } else {
        v1::GetMeRequest request;
        request.set_integrated_account_id(account);
        v1::User me;
        status = stub->GetMe(&context, request, &me);
      }
      const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
      if (!status.ok() && out->failures++ == 0) {
        out->first_failure =
            absl::StrCat(status.error_code(), " ", status.error_message());
      }
      (list ? out->list_ms : out->get_me_ms).push_back(ms);
    }
  }
  done = true;
  sampler.join();
}

double P99(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

// Tenant B's own upstream identity (another Podio user), as two
// customers' accounts would be: A's load must not reach B through the
// provider's shared rate budget of one identity.
absl::StatusOr<std::string> LinkRegular(const std::string& address,
                                        const std::string& api_key) {
  grpc::ClientContext context;
  v1::LinkWithPasswordRequest link;
  link.set_username("regular@example.com");
  link.set_password("regular-password");
  v1::IntegratedAccount linked;
  grpc::Status s =
      v1::IntegratedAccounts::NewStub(testing::ApiKeyChannel(address, api_key))
          ->LinkWithPassword(&context, link, &linked);
  if (!s.ok()) return absl::UnavailableError(s.error_message());
  return linked.id();
}

// Reports B's figures beside each load against B's idle ones; whether every
// target holds.
bool ReportAll(const Samples& idle, const Samples& streams, const Samples& both,
               int64_t fresh_rss_kib) {
  bool holds = true;
  for (const auto& [loaded, what] :
       {std::pair<const Samples*, std::string>{&streams, "A's unread streams"},
        {&both, "A's unread streams and calls"}}) {
    holds &= bench::Report(bench::Versus(
        "Tenant B GetMe p99 beside " + what, P99(loaded->get_me_ms), "ms",
        P99(idle.get_me_ms), "tenant A idle", bench::Target::kAtMost, 3));
    holds &= bench::Report(bench::Versus(
        "Tenant B ListUsers(100) p99 beside " + what, P99(loaded->list_ms),
        "ms", P99(idle.list_ms), "tenant A idle", bench::Target::kAtMost, 3));
    holds &= bench::Report(
        bench::Versus("Server RSS beside " + what,
                      static_cast<double>(loaded->max_rss_kib) / 1024, "MiB",
                      static_cast<double>(fresh_rss_kib) / 1024,
                      "before any load", bench::Target::kAtMost, 2));
  }
  return holds;
}

int Run(const char* argv0) {
  podio_sim::SimulatorOptions sim_options = bench::LatentSimulator(
      absl::GetFlag(FLAGS_users),
      absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms)), {"*"});
  // A thread per kept-alive connection: tenant A's calls and streams hold
  // about 200, and the simulator must not be what B waits for.
  sim_options.threads = 512;
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  absl::StatusOr<bench::BenchServer> server = bench::StartBenchServer(
      bench::ServerPath(argv0), (*sim)->base_url(),
      {"--rate_limit=1000000000", "--rate_limited_limit=1000000000",
       absl::StrCat("--tenant_max_stream_jobs=",
                    absl::GetFlag(FLAGS_stream_jobs))},
      absl::GetFlag(FLAGS_server_log), {"tenant-a", "tenant-b"});
  if (!server.ok()) {
    std::fprintf(stderr, "server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  const pid_t pid = server->process->pid();
  // Each tenant on a connection of its own, as two customers' services
  // would be (gRPC would otherwise share one TCP connection between the
  // two channels, and B's answers would queue behind A's stream data in
  // this process, not in the server).
  auto own_connection = [] {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return args;
  };
  auto stub_a = v1::UserDirectory::NewStub(testing::ApiKeyChannel(
      server->address, server->api_keys["tenant-a"], own_connection()));
  auto stub_b = v1::UserDirectory::NewStub(testing::ApiKeyChannel(
      server->address, server->api_keys["tenant-b"], own_connection()));
  const std::string account_a = server->accounts["tenant-a"];
  absl::StatusOr<std::string> account_b =
      LinkRegular(server->address, server->api_keys["tenant-b"]);
  if (!account_b.ok()) {
    std::fprintf(stderr, "link: %s\n",
                 std::string(account_b.status().message()).c_str());
    return 1;
  }
  Samples warm, idle, streams, both;
  Probe(stub_b.get(), *account_b, pid, &warm);  // Connections, caches.
  // The resident set before any load: memory the allocator took at a peak
  // stays taken, so later idle rounds would hide a peak.
  int64_t fresh_rss_kib = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    Probe(stub_b.get(), *account_b, pid, &idle);
    if (round == 0) fresh_rss_kib = idle.max_rss_kib;
    for (Samples* loaded : {&streams, &both}) {
      Load load(stub_a.get(), account_a,
                loaded == &both ? absl::GetFlag(FLAGS_busy) : 0);
      // Let the streams start and fill what they will before measuring.
      absl::SleepFor(absl::Seconds(2));
      Probe(stub_b.get(), *account_b, pid, loaded);
    }
    std::fprintf(stderr,
                 "round %d: B's p99 GetMe/ListUsers idle %.1f/%.1f ms, A's "
                 "streams %.1f/%.1f, A's streams and calls %.1f/%.1f\n",
                 round, P99(idle.get_me_ms), P99(idle.list_ms),
                 P99(streams.get_me_ms), P99(streams.list_ms),
                 P99(both.get_me_ms), P99(both.list_ms));
  }
  server->Stop();
  const int failures = idle.failures + streams.failures + both.failures;
  if (failures > 0) {
    std::fprintf(stderr, "tenant B's calls failed: %d (%s%s%s)\n", failures,
                 idle.first_failure.c_str(), streams.first_failure.c_str(),
                 both.first_failure.c_str());
    return 1;
  }
  return ReportAll(idle, streams, both, fresh_rss_kib) ? 0 : 2;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
