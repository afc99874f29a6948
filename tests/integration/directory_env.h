// A running Podio simulator and //service:server wired to it, for
// integration tests: the real binaries over real sockets. The server gets a
// fresh data directory, an encryption key ring, API keys for two tenants
// ("tenant-a", the default caller, and "tenant-b") and the simulator's OAuth
// client; the simulator's two principals are linked as accounts of tenant-a
// through the password grant.
#ifndef TESTS_INTEGRATION_DIRECTORY_ENV_H_
#define TESTS_INTEGRATION_DIRECTORY_ENV_H_

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/http_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "rapidjson/document.h"
#include "tools/podio_sim/directory.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/subprocess.h"

namespace unified::testing {

struct DirectoryEnvOptions {
  podio_sim::GeneratorOptions data;
  std::vector<std::string> extra_sim_flags;
  std::vector<std::string> extra_server_flags;
  // Credential store URL; "" = a SQLite file in the data directory.
  std::string store;
  // Link demo@example.com and regular@example.com as "demo" and "regular".
  bool link_accounts = true;
  // Tenants with API keys besides tenant-a and tenant-b.
  std::vector<std::string> extra_tenants;
  // How the test's channels reach the server (null: plaintext), and the
  // arguments they are made with.
  std::shared_ptr<grpc::ChannelCredentials> grpc_credentials;
  grpc::ChannelArguments channel_args;
  // Servers get no --cursor_key_file, and keep their key in the data
  // directory as the embedded default does.
  bool kept_cursor_key = false;
};

// A running server process and its address.
struct ServerProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;
  std::string http_address;  // The side listener's host:port.
};

// A SCIM simulator process (tools/scim_sim) beside the environment, and
// where it serves: its API base ("http://HOST:PORT/scim/v2") and token URL.
struct ScimSimProcess {
  std::unique_ptr<Subprocess> process;
  std::string base;
  std::string token_url;
};

// Starts the SCIM simulator with `args`; failures are test failures (and
// leave `base` empty).
inline ScimSimProcess StartScimSim(const std::vector<std::string>& args) {
  ScimSimProcess out;
  auto sim = Subprocess::Start(RunfilePath("tools/scim_sim/scim_sim"), args);
  if (!sim.ok()) {
    ADD_FAILURE() << sim.status();
    return out;
  }
  out.process = std::move(*sim);
  auto base = out.process->WaitForLine("listening on ", absl::Seconds(30));
  auto token_url = out.process->WaitForLine("token url ", absl::Seconds(5));
  if (!base.ok() || !token_url.ok()) {
    ADD_FAILURE() << "the SCIM simulator did not start";
    return out;
  }
  out.base = *base;
  out.token_url = *token_url;
  return out;
}

class DirectoryEnv {
 public:
  static constexpr char kTenantA[] = "tenant-a";
  static constexpr char kTenantB[] = "tenant-b";

  // Starts both processes; failures are recorded as test failures.
  // `sim_ca_file` verifies the simulator when it serves HTTPS.
  explicit DirectoryEnv(const DirectoryEnvOptions& options,
                        const std::string& sim_ca_file = "")
      : options_(options), http_(NewCurlHttpClient({sim_ca_file})) {
    std::vector<std::string> sim_args = {
        "--admin", absl::StrCat("--seed=", options.data.seed),
        absl::StrCat("--users=", options.data.users),
        absl::StrCat("--orgs=", options.data.orgs),
        absl::StrCat("--spaces_per_org=", options.data.spaces_per_org)};
    sim_args.insert(sim_args.end(), options.extra_sim_flags.begin(),
                    options.extra_sim_flags.end());
    auto sim =
        Subprocess::Start(RunfilePath("tools/podio_sim/podio_sim"), sim_args);
    if (!sim.ok()) {
      ADD_FAILURE() << sim.status();
      return;
    }
    sim_ = std::move(*sim);
    auto url = sim_->WaitForLine("listening on ", absl::Seconds(60));
    if (!url.ok()) {
      ADD_FAILURE() << url.status();
      return;
    }
    sim_url_ = *url;
    std::vector<std::string> tenants = {kTenantA, kTenantB};
    tenants.insert(tenants.end(), options.extra_tenants.begin(),
                   options.extra_tenants.end());
    auto files = WriteServiceFiles(MakeTempDir("env"), tenants);
    if (!files.ok()) {
      ADD_FAILURE() << files.status();
      return;
    }
    files_ = *files;
    if (!StartServer()) return;
    if (options.link_accounts) {
      accounts_["demo"] = LinkPassword("demo@example.com", "demo-password");
      accounts_["regular"] =
          LinkPassword("regular@example.com", "regular-password");
    }
  }

  // Starts another server process on the same store and key files (a
  // replica, or a restart after StopServer()). Empty address on failure.
  ServerProcess LaunchServer(const std::vector<std::string>& extra_flags = {}) {
    ServerProcess server;
    std::vector<std::string> args = files_.ServerFlags(sim_url_);
    args.insert(args.end(),
                {"--listen=127.0.0.1:0", "--http_listen=127.0.0.1:0",
                 "--shutdown_grace=1s"});
    if (!options_.kept_cursor_key) {
      args.push_back("--cursor_key_file=" + CursorKey());
    }
    if (!options_.store.empty()) args.push_back("--store=" + options_.store);
    args.insert(args.end(), options_.extra_server_flags.begin(),
                options_.extra_server_flags.end());
    args.insert(args.end(), extra_flags.begin(), extra_flags.end());
    // Every server's stderr lands in one log, scanned for secrets by tests.
    auto process =
        Subprocess::Start(RunfilePath("service/server"), args, log_path());
    if (!process.ok()) {
      ADD_FAILURE() << process.status();
      return server;
    }
    server.process = std::move(*process);
    auto address =
        server.process->WaitForLine("listening on ", absl::Seconds(60));
    if (!address.ok()) {
      ADD_FAILURE() << address.status() << "\n" << server.process->output();
      return server;
    }
    auto http =
        server.process->WaitForLine("http listening on ", absl::Seconds(10));
    if (http.ok()) server.http_address = *http;
    server.address = *address;
    return server;
  }

  // (Re)starts the main server; false on failure.
  bool StartServer(const std::vector<std::string>& extra_flags = {}) {
    server_ = LaunchServer(extra_flags);
    if (server_.address.empty()) return false;
    for (const auto& [tenant, key] : files_.api_keys) {
      channels_[tenant] =
          ApiKeyChannel(server_.address, key, options_.channel_args,
                        options_.grpc_credentials);
      channels_[tenant]->WaitForConnected(
          absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    }
    return true;
  }

  // Stops the main server (SIGTERM) and waits for it; its exit code.
  int StopServer() {
    if (server_.process == nullptr) return -1;
    server_.process->Signal(SIGTERM);
    auto code = server_.process->Wait(absl::Seconds(30));
    server_.process.reset();
    channels_.clear();
    return code.ok() ? *code : -1;
  }

  // Kills the main server (SIGKILL: no shutdown at all) and reaps it.
  void KillServer() {
    if (server_.process == nullptr) return;
    server_.process->Signal(SIGKILL);
    (void)server_.process->Wait(absl::Seconds(30));
    server_.process.reset();
    channels_.clear();
  }

  // Tenant A's channel (the default caller).
  std::shared_ptr<grpc::Channel> channel() { return channels_[kTenantA]; }
  std::shared_ptr<grpc::Channel> channel(const std::string& tenant) {
    return channels_[tenant];
  }
  // A channel to `address` with `tenant`'s key ("" = no key).
  std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address,
                                           const std::string& tenant) {
    return ApiKeyChannel(address, tenant.empty() ? "" : files_.api_keys[tenant],
                         options_.channel_args, options_.grpc_credentials);
  }
  ServerProcess& server() { return server_; }
  // Where every server process of this environment writes its stderr.
  std::string log_path() const { return files_.dir + "/server.log"; }
  const ServiceFiles& files() const { return files_; }
  const std::string& sim_url() const { return sim_url_; }
  const DirectoryEnvOptions& options() const { return options_; }
  // Id of the account linked as `name` ("demo", "regular").
  std::string account(const std::string& name) { return accounts_[name]; }

  // Links a simulator principal to `tenant` with the password grant.
  std::string LinkPassword(const std::string& user, const std::string& password,
                           const std::string& tenant = kTenantA) {
    auto stub = v1::IntegratedAccounts::NewStub(channel(tenant));
    grpc::ClientContext context;
    v1::LinkWithPasswordRequest request;
    request.set_username(user);
    request.set_password(password);
    v1::IntegratedAccount account;
    grpc::Status status = stub->LinkWithPassword(&context, request, &account);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return account.id();
  }

  // Sends a request to the simulator; the answer body ("" on failure).
  std::string Sim(const std::string& method, const std::string& path,
                  const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.url = sim_url_ + path;
    request.body = body;
    if (!body.empty()) {
      request.headers = {{"Content-Type", "application/json"}};
    }
    absl::StatusOr<HttpResponse> r = http_->Send(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->body : "";
  }

  // The server's /metrics text, from its HTTP side listener.
  std::string MetricsText() {
    HttpRequest request;
    request.url = absl::StrCat("http://", server_.http_address, "/metrics");
    absl::StatusOr<HttpResponse> r = http_->Send(request);
    EXPECT_TRUE(r.ok() && r->status == 200)
        << (r.ok() ? absl::StrCat(r->status) : r.status().ToString());
    return r.ok() ? r->body : "";
  }

  // The lines of unified_upstream_requests_total labelled route="proxy":
  // calls to paths no connector route template declares. None unless the
  // proxy was used: every call a connector makes itself has a template.
  std::vector<std::string> UnlistedRouteLines() {
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(MetricsText(), '\n')) {
      if (absl::StartsWith(line, "unified_upstream_requests_total{") &&
          absl::StrContains(line, "route=\"proxy\"")) {
        out.emplace_back(line);
      }
    }
    return out;
  }

  // The sum of metric `name`'s samples with `labels` ("k=v"), as Python's
  // prometheus_client reads the server's /metrics (a text it cannot parse
  // fails the test). Needs //tests/integration:metric_value.py in the
  // test's data.
  double Metric(const std::string& name,
                const std::vector<std::string>& labels = {}) {
    const std::string file = files_.dir + "/metrics.txt";
    {
      std::ofstream out(file, std::ios::trunc);
      out << MetricsText();
    }
    std::vector<std::string> args = {
        RunfilePath("tests/integration/metric_value.py"), file, name};
    args.insert(args.end(), labels.begin(), labels.end());
    auto python = Subprocess::Start("/usr/bin/python3", args);
    EXPECT_TRUE(python.ok()) << python.status();
    if (!python.ok()) return -1;
    absl::StatusOr<std::string> printed =
        (*python)->WaitForLine("", absl::Seconds(30));
    EXPECT_EQ((*python)->Wait(absl::Seconds(30)).value_or(-1), 0)
        << "the parser refused /metrics";
    double value = -1;
    EXPECT_TRUE(printed.ok() &&
                absl::SimpleAtod(absl::StripAsciiWhitespace(*printed), &value))
        << printed.status();
    return value;
  }

  // The simulator's request log position (next sequence number).
  int64_t LogPosition() {
    rapidjson::Document doc;
    const std::string body = Sim("GET", "/_sim/requests?since=999999999999");
    doc.Parse(body.c_str());
    return doc.IsObject() ? doc["next"].GetInt64() : -1;
  }

  // Requests logged since `position` as "METHOD /path?query"; token calls
  // only when `tokens` (they are excluded otherwise).
  std::vector<std::string> CallsSince(int64_t position, bool tokens = false) {
    rapidjson::Document doc;
    const std::string body =
        Sim("GET", absl::StrCat("/_sim/requests?since=", position));
    doc.Parse(body.c_str());
    std::vector<std::string> calls;
    if (!doc.IsObject()) return calls;
    for (const auto& r : doc["requests"].GetArray()) {
      const std::string path = r["path"].GetString();
      if ((path.rfind("/oauth/", 0) == 0) != tokens) continue;
      std::string call = absl::StrCat(r["method"].GetString(), " ", path);
      const std::string query = r["query"].GetString();
      if (!query.empty()) absl::StrAppend(&call, "?", query);
      calls.push_back(call);
    }
    return calls;
  }

  // Token requests (POST /oauth/token) logged since `position`.
  int TokenRequestsSince(int64_t position) {
    int n = 0;
    for (const std::string& call : CallsSince(position, /*tokens=*/true)) {
      if (absl::StartsWith(call, "POST /oauth/token")) ++n;
    }
    return n;
  }

  // Moves the simulator's clock (tokens expire by it).
  void AdvanceSimClock(absl::Duration by) {
    Sim("POST",
        absl::StrCat("/_sim/clock/advance?seconds=", absl::ToInt64Seconds(by)));
  }

  void AddFault(const std::string& json) { Sim("POST", "/_sim/faults", json); }
  void ClearFaults() { Sim("DELETE", "/_sim/faults"); }

 private:
  // One cursor and state signing key shared by every server process.
  std::string CursorKey() {
    const std::string path = files_.dir + "/cursor_key";
    if (cursor_key_written_) return path;
    (void)WritePrivateFile(path, std::string(32, 'c') + "test-cursor-key");
    cursor_key_written_ = true;
    return path;
  }

  DirectoryEnvOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Subprocess> sim_;
  ServerProcess server_;
  ServiceFiles files_;
  bool cursor_key_written_ = false;
  std::string sim_url_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;
  std::map<std::string, std::string> accounts_;
};

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_DIRECTORY_ENV_H_
