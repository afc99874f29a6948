// The embedded default, for a first look: starts the Podio simulator and the
// service (SQLite store in a data directory), links a demo account through
// the real OAuth 2.0 code flow (authorize URL -> the simulator's consent
// page, allowed -> the service's own HTTP callback), and prints the API key
// and account id to use in grpcurl, and a connect page link to open in a
// browser. Ctrl-C stops everything; the data directory
// keeps the accounts and the encryption key for the next run.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "service/accounts/sealer.h"
#include "service/core/tenants.h"
#include "tools/flags/help.h"
#include "tools/podio_sim/simulator.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tools/testing/sim_http_server.h"
#include "tools/testing/subprocess.h"

ABSL_FLAG(std::string, data_dir, "",
          "Where the demo keeps its store and keys; empty = .demo in the "
          "workspace (or the current directory).");
ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "The service's gRPC address.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "The service's HTTP side listener (OAuth callback).");
ABSL_FLAG(int, sim_port, 0, "The simulator's port; 0 picks a free one.");
ABSL_FLAG(int, users, 2000, "Users in the simulated directory.");

namespace unified {
namespace {

int Fail(const std::string& message) {
  std::fprintf(stderr, "demo: %s\n", message.c_str());
  return 1;
}

std::string DataDir() {
  std::string dir = absl::GetFlag(FLAGS_data_dir);
  if (!dir.empty()) return dir;
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return absl::StrCat(workspace != nullptr ? workspace : ".", "/.demo");
}

// Links the demo principal through the OAuth code flow, as a browser
// would: the authorization URL, the simulator's consent (a redirect), the
// service's own callback page. The account id; the flow's state in `*state`.
absl::StatusOr<std::string> LinkByCodeFlow(const std::string& address,
                                           const std::string& api_key,
                                           std::string* state) {
  auto accounts =
      v1::IntegratedAccounts::NewStub(testing::ApiKeyChannel(address, api_key));
  grpc::ClientContext context;
  v1::CreateAuthorizationUrlResponse url;
  grpc::Status created = accounts->CreateAuthorizationUrl(
      &context, v1::CreateAuthorizationUrlRequest(), &url);
  if (!created.ok()) return absl::UnavailableError(created.error_message());
  auto http = NewCurlHttpClient({});
  HttpRequest authorize;
  authorize.url = url.authorization_url();
  auto page = http->Send(authorize);  // The simulator's consent page.
  if (!page.ok() || page->status != 200) {
    return absl::UnavailableError("the simulator's consent page is missing");
  }
  // Allow, as a person would by its button.
  HttpRequest allow;
  allow.method = "POST";
  allow.url = authorize.url.substr(0, authorize.url.find('?'));
  allow.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  allow.body = absl::StrCat(authorize.url.substr(authorize.url.find('?') + 1),
                            "&decision=allow");
  auto consent = http->Send(allow);
  if (!consent.ok() || consent->status != 302) {
    return absl::UnavailableError(
        "the simulator's consent page did not redirect");
  }
  HttpRequest callback;
  callback.url = consent->Header("location");
  page = http->Send(callback);  // The service's own callback.
  const std::string marker = "<code id=\"account\">";
  const size_t at = page.ok() ? page->body.find(marker) : std::string::npos;
  if (at == std::string::npos)
    return absl::UnavailableError("the OAuth callback failed");
  *state = url.state();
  return page->body.substr(
      at + marker.size(),
      page->body.find('<', at + marker.size()) - at - marker.size());
}

// A link session of the connect page for a demo customer, back to
// `return_url`: the page's URL.
absl::StatusOr<std::string> CreateDemoLink(const std::string& address,
                                           const std::string& api_key,
                                           const std::string& return_url) {
  auto accounts =
      v1::IntegratedAccounts::NewStub(testing::ApiKeyChannel(address, api_key));
  grpc::ClientContext context;
  v1::CreateLinkSessionRequest request;
  request.set_end_customer_id("demo-customer");
  request.set_display_name("the demo");
  request.set_return_url(return_url);
  request.set_state("demo");
  request.set_ttl_seconds(3600);
  v1::CreateLinkSessionResponse session;
  grpc::Status created =
      accounts->CreateLinkSession(&context, request, &session);
  if (!created.ok()) return absl::UnavailableError(created.error_message());
  return session.url();
}

// The demo's stand-in for a SaaS page that a link ends on: it shows what
// the connect page sent back.
absl::StatusOr<std::unique_ptr<testing::SimHttpServer>> StartReturnPage() {
  return testing::SimHttpServer::Start(
      {}, [](const httplib::Request& req, httplib::Response& res) {
        std::string text = "The connect page came back with:\n";
        for (const auto& [name, value] : req.params) {
          absl::StrAppend(&text, "  ", name, " = ", value, "\n");
        }
        res.set_content(text, "text/plain; charset=utf-8");
      });
}

// What the demo prints once it runs.
struct Welcome {
  std::string address;
  std::string http_address;
  std::string sim_url;
  std::string dir;
  std::string state;
  std::string api_key;
  std::string account;
  std::string link_url;
};

void PrintWelcome(const Welcome& w) {
  std::printf(
      "\nUnified User Directory demo\n"
      "  gRPC service        %s (plaintext; reflection on)\n"
      "  OAuth callback      http://%s/oauth/callback\n"
      "  Podio simulator     %s (%d users)\n"
      "  data directory      %s (SQLite store, 0600 key files)\n"
      "  linked through      OAuth code flow (state %s...)\n\n"
      "  API key             %s\n"
      "  integrated account  %s\n\n"
      "Try:\n"
      "  export KEY=%s ACCOUNT=%s\n"
      "  grpcurl -plaintext %s list\n"
      "  grpcurl -plaintext -H \"authorization: Bearer $KEY\" %s "
      "unified.v1.IntegratedAccounts/ListIntegratedAccounts\n"
      "  grpcurl -plaintext -H \"authorization: Bearer $KEY\" -d "
      "\"{\\\"integrated_account_id\\\":\\\"$ACCOUNT\\\"}\" %s "
      "unified.v1.UserDirectory/GetMe\n"
      "  grpcurl -plaintext -H \"authorization: Bearer $KEY\" -d "
      "\"{\\\"integrated_account_id\\\":\\\"$ACCOUNT\\\",\\\"limit\\\":3}\" "
      "%s unified.v1.UserDirectory/ListUsers\n"
      "  grpcurl -plaintext -max-time 30 -H \"authorization: Bearer $KEY\" -d "
      "\"{\\\"integrated_account_id\\\":\\\"$ACCOUNT\\\",\\\"include_"
      "snapshot\\\":"
      "true}\" %s unified.v1.UserDirectory/WatchDirectory\n\n"
      "Link an account as your customers would: open this in a browser (one\n"
      "link, for an hour), give consent on the simulator's page:\n"
      "  %s\n\n"
      "Ctrl-C stops the demo.\n",
      w.address.c_str(), w.http_address.c_str(), w.sim_url.c_str(),
      absl::GetFlag(FLAGS_users), w.dir.c_str(), w.state.substr(0, 8).c_str(),
      w.api_key.c_str(), w.account.c_str(), w.api_key.c_str(),
      w.account.c_str(), w.address.c_str(), w.address.c_str(),
      w.address.c_str(), w.address.c_str(), w.address.c_str(),
      w.link_url.c_str());
}

int Run(const char* argv0) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  const std::string dir = DataDir();
  // The key ring survives runs (the store's rows need it); a fresh API key
  // is issued each run and only its hash is written down.
  auto files = testing::WriteServiceFiles(dir, {"demo"});
  if (!files.ok()) return Fail(std::string(files.status().message()));

  podio_sim::SimulatorOptions sim_options;
  sim_options.port = absl::GetFlag(FLAGS_sim_port);
  sim_options.admin_api = true;
  sim_options.consent_page = true;
  sim_options.data.users = absl::GetFlag(FLAGS_users);
  auto sim = podio_sim::Simulator::Start(sim_options);
  if (!sim.ok()) return Fail(std::string(sim.status().message()));
  const std::string sim_url = (*sim)->base_url();

  std::vector<std::string> args = files->ServerFlags(sim_url);
  args.push_back("--listen=" + absl::GetFlag(FLAGS_listen));
  args.push_back("--http_listen=" + absl::GetFlag(FLAGS_http_listen));
  // WatchDirectory's hooks reach the side listener directly.
  args.push_back("--hook_base_url=local");
  const std::string server_path =
      std::getenv("TEST_SRCDIR") != nullptr
          ? testing::RunfilePath("service/server")
          : absl::StrCat(argv0, ".runfiles/podio_directory/service/server");
  auto server = testing::Subprocess::Start(server_path, args);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  auto address = (*server)->WaitForLine("listening on ", absl::Seconds(60));
  if (!address.ok()) return Fail("the service did not start (see above)");
  auto http_address =
      (*server)->WaitForLine("http listening on ", absl::Seconds(10));
  if (!http_address.ok()) return Fail("the service's HTTP listener is off");

  const std::string api_key = files->api_keys["demo"];
  std::string state;
  absl::StatusOr<std::string> account =
      LinkByCodeFlow(*address, api_key, &state);
  if (!account.ok()) return Fail(std::string(account.status().message()));
  auto return_page = StartReturnPage();
  if (!return_page.ok()) return Fail("the demo's return page did not start");
  absl::StatusOr<std::string> link_url = CreateDemoLink(
      *address, api_key,
      absl::StrCat("http://127.0.0.1:", (*return_page)->port(), "/done"));
  if (!link_url.ok()) return Fail(std::string(link_url.status().message()));
  Welcome welcome{*address, *http_address, sim_url, dir,
                  state,    api_key,       *account, *link_url};
  PrintWelcome(welcome);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop, &signal_number);
  (*server)->Signal(SIGTERM);
  (void)(*server)->Wait(absl::Seconds(15));
  std::printf("demo: stopped\n");
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs the simulator and the service with a linked demo account.");
  unified::tools::HelpListsFlagsUnder({"tools/demo/"});
  absl::ParseCommandLine(argc, argv);
  return unified::Run(argv[0]);
}
