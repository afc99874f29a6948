// What the proxy adds to a Podio call: the same GET /user/status sent
// straight to the simulator with libcurl (kept-alive connection) and through
// unified.v1.Proxy/Call of a running server (gRPC over loopback, API key,
// account resolution, budget, credential injection), alternated in one run
// with a bare gRPC health check on the same channel (the floor any gRPC
// hop costs on this machine), and with a second server that counts no
// upstream calls and writes no access log (--metrics=false
// --access_log=false; its interceptor still gives request ids and checks
// requests, which the error model needs): what that observability costs a
// call.
//
//   bazel run -c opt //tools/bench:proxy_overhead
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/http_client.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/bench/bench_server.h"
#include "tools/bench/report.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/subprocess.h"

ABSL_FLAG(int, calls, 3000, "Calls of each kind.");

namespace unified {
namespace {

double Percentile(std::vector<absl::Duration> v, double p) {
  std::sort(v.begin(), v.end());
  return absl::ToDoubleMicroseconds(
      v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]);
}

// The contenders, each timing one call.
struct Timers {
  std::function<absl::Duration()> via_proxy, via_quiet_proxy, straight,
      bare_grpc, resolve_only;
};

Timers MakeTimers(const std::string& base, const std::string& token,
                  const bench::BenchServer& server,
                  const bench::BenchServer& quiet,
                  const std::shared_ptr<grpc::Channel>& channel,
                  HttpClient* http, v1::Proxy::Stub* proxy,
                  v1::Proxy::Stub* quiet_proxy) {
  Timers t;
  v1::ProxyRequest request;
  request.set_integrated_account_id(server.account);
  request.set_method("GET");
  request.set_path("/user/status");
  HttpRequest direct;
  direct.url = base + "/user/status";
  direct.headers = {{"Authorization", "OAuth2 " + token},
                    {"Accept", "application/json"}};
  t.via_proxy = [proxy, request]() -> absl::Duration {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ProxyResponse response;
    if (!proxy->Call(&context, request, &response).ok() ||
        response.status() != 200) {
      std::fprintf(stderr, "proxy call failed\n");
      std::exit(1);
    }
    return absl::Now() - start;
  };
  v1::ProxyRequest quiet_request = request;
  quiet_request.set_integrated_account_id(quiet.account);
  t.via_quiet_proxy = [quiet_proxy, quiet_request]() -> absl::Duration {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ProxyResponse response;
    if (!quiet_proxy->Call(&context, quiet_request, &response).ok() ||
        response.status() != 200) {
      std::fprintf(stderr, "proxy call (metrics off) failed\n");
      std::exit(1);
    }
    return absl::Now() - start;
  };
  t.straight = [http, direct]() -> absl::Duration {
    const absl::Time start = absl::Now();
    auto r = http->Send(direct);
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "direct call failed\n");
      std::exit(1);
    }
    return absl::Now() - start;
  };
  std::shared_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel);
  t.bare_grpc = [health]() -> absl::Duration {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    grpc::health::v1::HealthCheckResponse response;
    if (!health
             ->Check(&context, grpc::health::v1::HealthCheckRequest(),
                     &response)
             .ok()) {
      std::exit(1);
    }
    return absl::Now() - start;
  };
  std::shared_ptr<v1::UserDirectory::Stub> directory =
      v1::UserDirectory::NewStub(channel);
  t.resolve_only = [directory, account = server.account]() -> absl::Duration {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ListRolesRequest roles;
    roles.set_integrated_account_id(account);
    v1::ListRolesResponse response;
    if (!directory->ListRoles(&context, roles, &response).ok()) std::exit(1);
    return absl::Now() - start;
  };
  return t;
}

void PrintAndReport(int calls, const std::vector<absl::Duration>& proxied,
                    const std::vector<absl::Duration>& quiet_proxied,
                    const std::vector<absl::Duration>& plain,
                    const std::vector<absl::Duration>& floor,
                    const std::vector<absl::Duration>& resolved) {
  const double p50_proxy = Percentile(proxied, 0.5);
  const double p99_proxy = Percentile(proxied, 0.99);
  const double p50_direct = Percentile(plain, 0.5);
  const double p99_direct = Percentile(plain, 0.99);
  std::printf(
      "GET /user/status, %d calls each, alternated\n"
      "  direct libcurl          p50 %7.1f us   p99 %7.1f us\n"
      "  through Proxy/Call      p50 %7.1f us   p99 %7.1f us\n"
      "  added by the proxy      p50 %7.1f us   p99 %7.1f us  (target: p50 "
      "<= 300 us)\n"
      "  for reference, on the same channel:\n"
      "  bare gRPC (health)      p50 %7.1f us   p99 %7.1f us\n"
      "  ListRoles (API key +\n"
      "   account, no Podio)     p50 %7.1f us   p99 %7.1f us\n"
      "  Proxy/Call, metrics and access log off\n"
      "                          p50 %7.1f us   p99 %7.1f us\n"
      "  added by metrics + log  p50 %7.1f us   p99 %7.1f us  (target: p50 "
      "<= 10 us)\n",
      calls, p50_direct, p99_direct, p50_proxy, p99_proxy,
      p50_proxy - p50_direct, p99_proxy - p99_direct, Percentile(floor, 0.5),
      Percentile(floor, 0.99), Percentile(resolved, 0.5),
      Percentile(resolved, 0.99), Percentile(quiet_proxied, 0.5),
      Percentile(quiet_proxied, 0.99),
      p50_proxy - Percentile(quiet_proxied, 0.5),
      p99_proxy - Percentile(quiet_proxied, 0.99));
  bench::Report(bench::Alone("Proxy/Call: p50 added to a direct call",
                             p50_proxy - p50_direct, "us",
                             bench::Target::kAtMost, 300));
  bench::Report(bench::Alone(
      "Proxy/Call: p50 added by upstream counting and the access log",
      p50_proxy - Percentile(quiet_proxied, 0.5), "us", bench::Target::kAtMost,
      10));
  bench::Report(bench::Alone("bare gRPC round trip on the same channel, p50",
                             Percentile(floor, 0.5), "us"));
}

int Run(const char* argv0) {
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = 100;
  sim_options.data.orgs = 1;
  sim_options.rate.limit = 1LL << 40;
  sim_options.rate.restricted_limit = 1LL << 40;
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  const std::string base = (*sim)->base_url();
  // Metrics and access log on (the default; the log goes to a file, as a
  // deployment's would), and off.
  const std::string log = testing::MakeTempDir("bench_log") + "/server.log";
  absl::StatusOr<bench::BenchServer> server =
      bench::StartBenchServer(bench::ServerPath(argv0), base, {}, log);
  if (!server.ok()) return 1;
  absl::StatusOr<bench::BenchServer> quiet = bench::StartBenchServer(
      bench::ServerPath(argv0), base, {"--metrics=false", "--access_log=false"},
      log + ".quiet");
  if (!quiet.ok()) return 1;
  auto quiet_proxy = v1::Proxy::NewStub(
      testing::ApiKeyChannel(quiet->address, quiet->api_key));
  auto channel = testing::ApiKeyChannel(server->address, server->api_key);
  auto proxy = v1::Proxy::NewStub(channel);
  auto http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, base);
  if (!token.ok()) return 1;

  Timers t = MakeTimers(base, *token, *server, *quiet, channel, http.get(),
                        proxy.get(), quiet_proxy.get());
  for (int i = 0; i < 300; ++i) {  // Warm up connections and caches.
    t.via_proxy();
    t.via_quiet_proxy();
    t.straight();
    t.bare_grpc();
    t.resolve_only();
  }
  const int calls = absl::GetFlag(FLAGS_calls);
  std::vector<absl::Duration> proxied, quiet_proxied, plain, floor, resolved;
  for (int i = 0; i < calls; ++i) {
    // Which server goes first alternates too.
    if (i % 2 == 0) {
      proxied.push_back(t.via_proxy());
      quiet_proxied.push_back(t.via_quiet_proxy());
    } else {
      quiet_proxied.push_back(t.via_quiet_proxy());
      proxied.push_back(t.via_proxy());
    }
    plain.push_back(t.straight());
    floor.push_back(t.bare_grpc());
    resolved.push_back(t.resolve_only());
  }
  PrintAndReport(calls, proxied, quiet_proxied, plain, floor, resolved);
  server->Stop();
  quiet->Stop();
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
