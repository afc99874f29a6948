// Benchmark 1 of the directory: StreamUsers over 100,000 users with 50 ms of
// simulated Podio latency per page, against a plain libcurl loop fetching the
// same upstream pages one after another. Both run side by side in this one
// process, alternately, against one in-process simulator.
//
//   bazel run -c opt //tools/bench:stream_vs_loop [-- --users=100000]
#include <cstdio>
#include <memory>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/registry.h"
#include "rapidjson/document.h"
#include "service/account_resolver.h"
#include "service/cursor.h"
#include "service/server.h"
#include "service/serving.h"
#include "service/tenants.h"
#include "service/user_directory_service.h"
#include "service/worker_pool.h"
#include "tests/testing/api_key_channel.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(int, users, 100000, "Users in the one organization.");
ABSL_FLAG(int, latency_ms, 50, "Simulated Podio latency per member page.");
ABSL_FLAG(int, rounds, 2, "Alternating rounds of each contender.");

namespace unified {
namespace {

int Run() {
  podio_sim::SimulatorOptions sim_options;
  sim_options.data.users = absl::GetFlag(FLAGS_users);
  sim_options.data.orgs = 1;
  sim_options.rate.limit = 1LL << 40;
  sim_options.threads = 8;
  podio_sim::FaultRule latency;
  latency.path = "/org/*/member/";
  latency.kind = podio_sim::FaultKind::kLatency;
  latency.latency = absl::Milliseconds(absl::GetFlag(FLAGS_latency_ms));
  sim_options.faults.push_back(latency);
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return 1;
  const std::string base = (*sim)->base_url();

  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  absl::StatusOr<std::string> granted =
      podio_sim::PasswordGrantToken(*http, base);
  if (!granted.ok()) return 1;
  const std::string token = *granted;

  // The service, wired as main.cc wires it.
  podio::PodioClientOptions podio_options;
  podio_options.api_base = base;
  podio::PodioClient podio_client(http.get(), RealClock::Get(), podio_options);
  ConnectorRegistry registry;
  if (!registry.Register(podio::NewPodioConnector(&podio_client)).ok()) {
    return 1;
  }
  std::unique_ptr<AccountResolver> accounts =
      NewStaticAccountResolver({{"acct", {"podio", token}}});
  CursorCodec cursors(RandomCursorKey());
  const NewApiKey key =
      GenerateApiKey("default");  // The static resolver's tenant.
  const TenantAuthenticator tenants = *TenantAuthenticator::Parse(key.line);
  WorkerPool pool;
  Serving serving(&tenants, &pool, ServingOptions());
  UserDirectoryService service(&serving, accounts.get(), &registry, &cursors);
  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  auto server =
      Server::Start(server_options, {{"unified.v1.UserDirectory", &service}});
  if (!server.ok()) return 1;
  auto stub = v1::UserDirectory::NewStub(testing::ApiKeyChannel(
      absl::StrCat("127.0.0.1:", (*server)->port()), key.key));

  auto stream = [&]() -> std::pair<absl::Duration, int64_t> {
    const absl::Time start = absl::Now();
    grpc::ClientContext context;
    v1::ListUsersRequest request;
    request.set_integrated_account_id("acct");
    request.set_limit(500);
    auto reader = stub->StreamUsers(&context, request);
    v1::ListUsersResponse message;
    int64_t users = 0;
    while (reader->Read(&message)) users += message.result_size();
    if (!reader->Finish().ok()) return {absl::ZeroDuration(), -1};
    return {absl::Now() - start, users};
  };
  auto loop = [&]() -> std::pair<absl::Duration, int64_t> {
    const absl::Time start = absl::Now();
    int64_t users = 0;
    for (int64_t offset = 0;; offset += 500) {
      HttpRequest request;
      request.url =
          absl::StrCat(base, "/org/", podio_sim::kFirstOrgId,
                       "/member/?limit=500&offset=", offset, "&sort_by=name");
      request.headers = {{"Authorization", "OAuth2 " + token}};
      auto r = http->Send(request);
      if (!r.ok() || r->status != 200) return {absl::ZeroDuration(), -1};
      rapidjson::Document page;
      page.Parse(r->body.c_str());
      if (!page.IsArray()) return {absl::ZeroDuration(), -1};
      users += page.Size();
      if (page.Size() < 500) break;
    }
    return {absl::Now() - start, users};
  };

  absl::Duration stream_total, loop_total;
  int64_t stream_users = 0, loop_users = 0;
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    auto [lt, lu] = loop();
    auto [st, su] = stream();
    if (lu < 0 || su < 0) return 1;
    loop_total += lt;
    stream_total += st;
    loop_users = lu;
    stream_users = su;
    std::printf("  round %d: loop %.2f s, stream %.2f s\n", round + 1,
                absl::ToDoubleSeconds(lt), absl::ToDoubleSeconds(st));
  }
  std::printf(
      "stream vs loop: %lld users (stream) / %lld (loop), %d ms per page\n"
      "  sequential libcurl loop   %.2f s per listing\n"
      "  StreamUsers               %.2f s per listing\n"
      "  time ratio stream/loop    %.2f (target <= 0.5)\n",
      static_cast<long long>(stream_users), static_cast<long long>(loop_users),
      absl::GetFlag(FLAGS_latency_ms),
      absl::ToDoubleSeconds(loop_total) / absl::GetFlag(FLAGS_rounds),
      absl::ToDoubleSeconds(stream_total) / absl::GetFlag(FLAGS_rounds),
      absl::ToDoubleSeconds(stream_total) / absl::ToDoubleSeconds(loop_total));
  (*server)->Shutdown(absl::Seconds(1));
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
