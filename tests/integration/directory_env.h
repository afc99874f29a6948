// A running Podio simulator and //service:server wired to it, for
// integration tests: the real binaries over real sockets.
#ifndef TESTS_INTEGRATION_DIRECTORY_ENV_H_
#define TESTS_INTEGRATION_DIRECTORY_ENV_H_

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/testing/subprocess.h"
#include "tools/podio_sim/directory.h"
#include "tools/podio_sim/sim_client.h"

namespace unified::testing {

struct DirectoryEnvOptions {
  podio_sim::GeneratorOptions data;
  std::vector<std::string> extra_sim_flags;
  std::vector<std::string> extra_server_flags;
};

class DirectoryEnv {
 public:
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
    const std::string dir =
        std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
    accounts_file_ = absl::StrCat(dir, "/accounts-", getpid(), ".txt");
    std::ofstream accounts(accounts_file_);
    accounts << "acct_demo podio "
             << PasswordToken("demo@example.com", "demo-password") << "\n"
             << "acct_regular podio "
             << PasswordToken("regular@example.com", "regular-password") << "\n"
             << "acct_bogus podio not-a-valid-token\n";
    accounts.close();
    std::vector<std::string> server_args = {
        "--listen=127.0.0.1:0", "--podio_api_base=" + sim_url_,
        "--dev_accounts_file=" + accounts_file_, "--shutdown_grace=1s"};
    server_args.insert(server_args.end(), options.extra_server_flags.begin(),
                       options.extra_server_flags.end());
    auto server = Subprocess::Start(RunfilePath("service/server"), server_args);
    if (!server.ok()) {
      ADD_FAILURE() << server.status();
      return;
    }
    server_ = std::move(*server);
    auto address = server_->WaitForLine("listening on ", absl::Seconds(60));
    if (!address.ok()) {
      ADD_FAILURE() << address.status();
      return;
    }
    channel_ =
        grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());
    channel_->WaitForConnected(
        absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  }

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& sim_url() const { return sim_url_; }
  const DirectoryEnvOptions& options() const { return options_; }

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

  // The simulator's request log position (next sequence number).
  int64_t LogPosition() {
    rapidjson::Document doc;
    const std::string body = Sim("GET", "/_sim/requests?since=999999999999");
    doc.Parse(body.c_str());
    return doc.IsObject() ? doc["next"].GetInt64() : -1;
  }

  // API calls logged since `position` (admin and token calls excluded).
  std::vector<std::string> CallsSince(int64_t position) {
    rapidjson::Document doc;
    const std::string body =
        Sim("GET", absl::StrCat("/_sim/requests?since=", position));
    doc.Parse(body.c_str());
    std::vector<std::string> calls;
    if (!doc.IsObject()) return calls;
    for (const auto& r : doc["requests"].GetArray()) {
      const std::string path = r["path"].GetString();
      if (path.rfind("/oauth/", 0) == 0) continue;
      std::string call = absl::StrCat(r["method"].GetString(), " ", path);
      const std::string query = r["query"].GetString();
      if (!query.empty()) absl::StrAppend(&call, "?", query);
      calls.push_back(call);
    }
    return calls;
  }

  void AddFault(const std::string& json) { Sim("POST", "/_sim/faults", json); }
  void ClearFaults() { Sim("DELETE", "/_sim/faults"); }

 private:
  std::string PasswordToken(const std::string& user,
                            const std::string& password) {
    absl::StatusOr<std::string> token =
        podio_sim::PasswordGrantToken(*http_, sim_url_, user, password);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  DirectoryEnvOptions options_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Subprocess> sim_;
  std::unique_ptr<Subprocess> server_;
  std::string sim_url_;
  std::string accounts_file_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_DIRECTORY_ENV_H_
