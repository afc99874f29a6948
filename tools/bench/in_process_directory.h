// The UserDirectory service in the benchmark's own process, wired as
// main.cc wires it (the Podio connector on libcurl's easy and multi
// clients), over a simulator at `base` with one static account "acct", and
// a stub that calls it through a loopback gRPC server.
#ifndef TOOLS_BENCH_IN_PROCESS_DIRECTORY_H_
#define TOOLS_BENCH_IN_PROCESS_DIRECTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/registry.h"
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

namespace unified::bench {

// A simulator of one organization of `users`, unlimited rate, 64 threads
// (cpp-httplib holds one per kept-alive connection: the loop's, the
// service's and every page in flight), and `latency` on every request whose
// path matches one of `paths` (globs).
inline podio_sim::SimulatorOptions LatentSimulator(
    int users, absl::Duration latency, const std::vector<std::string>& paths) {
  podio_sim::SimulatorOptions options;
  options.data.users = users;
  options.data.orgs = 1;
  options.rate.limit = 1LL << 40;
  options.threads = 64;
  for (const std::string& path : paths) {
    podio_sim::FaultRule rule;
    rule.path = path;
    rule.kind = podio_sim::FaultKind::kLatency;
    rule.latency = latency;
    options.faults.push_back(rule);
  }
  return options;
}

class InProcessDirectory {
 public:
  // The account is the simulator's demo principal (password grant).
  static absl::StatusOr<std::unique_ptr<InProcessDirectory>> Start(
      const std::string& base) {
    std::unique_ptr<InProcessDirectory> d(new InProcessDirectory());
    d->http_ = NewCurlHttpClient({});
    absl::StatusOr<std::string> token =
        podio_sim::PasswordGrantToken(*d->http_, base);
    if (!token.ok()) return token.status();
    d->token_ = *token;
    podio::PodioClientOptions podio_options;
    podio_options.api_base = base;
    d->async_ = NewCurlMultiClient({});
    d->podio_ = std::make_unique<podio::PodioClient>(
        d->http_.get(), RealClock::Get(), podio_options, d->async_.get());
    if (absl::Status s =
            d->registry_.Register(podio::NewPodioConnector(d->podio_.get()));
        !s.ok()) {
      return s;
    }
    d->accounts_ = NewStaticAccountResolver({{"acct", {"podio", d->token_}}});
    d->key_ = GenerateApiKey("default");  // The static resolver's tenant.
    d->tenants_ = std::make_unique<TenantAuthenticator>(
        *TenantAuthenticator::Parse(d->key_.line));
    d->serving_ = std::make_unique<Serving>(d->tenants_.get(), &d->pool_,
                                            ServingOptions());
    d->service_ = std::make_unique<UserDirectoryService>(
        d->serving_.get(), d->accounts_.get(), &d->registry_, &d->cursors_);
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(
        server_options, {{"unified.v1.UserDirectory", d->service_.get()}});
    if (!server.ok()) return server.status();
    d->server_ = std::move(*server);
    d->stub_ = v1::UserDirectory::NewStub(testing::ApiKeyChannel(
        absl::StrCat("127.0.0.1:", d->server_->port()), d->key_.key));
    return d;
  }

  v1::UserDirectory::Stub& stub() { return *stub_; }
  // The simulator principal's access token (for loops of raw requests).
  const std::string& token() const { return token_; }
  HttpClient& http() { return *http_; }

 private:
  InProcessDirectory() : cursors_(RandomCursorKey()) {}

  std::unique_ptr<HttpClient> http_;
  std::string token_;
  std::unique_ptr<AsyncHttpClient> async_;
  std::unique_ptr<podio::PodioClient> podio_;
  ConnectorRegistry registry_;
  std::unique_ptr<AccountResolver> accounts_;
  CursorCodec cursors_;
  NewApiKey key_;
  std::unique_ptr<TenantAuthenticator> tenants_;
  WorkerPool pool_;
  std::unique_ptr<Serving> serving_;
  std::unique_ptr<UserDirectoryService> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::UserDirectory::Stub> stub_;
};

}  // namespace unified::bench

#endif  // TOOLS_BENCH_IN_PROCESS_DIRECTORY_H_
