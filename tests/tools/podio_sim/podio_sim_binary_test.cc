// The //tools/podio_sim program: flags, HTTPS with a test CA, shutdown.
#include <signal.h>

#include "absl/status/status.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::testing::StartsWith;
using ::unified::testing::IsOk;
using ::unified::testing::RunfilePath;
using ::unified::testing::StatusIs;
using ::unified::testing::Subprocess;

std::string Sim() { return RunfilePath("tools/podio_sim/podio_sim"); }
std::string Tls(const std::string& name) {
  return RunfilePath("tests/testing/tls/" + name);
}

TEST(PodioSimBinaryTest, ServesHttpsVerifiedAgainstTheTestCa) {
  auto sim = Subprocess::Start(
      Sim(), {"--admin", "--users=10", "--tls_cert=" + Tls("server.pem"),
              "--tls_key=" + Tls("server.key")});
  ASSERT_THAT(sim, IsOk());
  auto url = (*sim)->WaitForLine("listening on ", absl::Seconds(30));
  ASSERT_THAT(url, IsOk());
  ASSERT_THAT(*url, StartsWith("https://localhost:"));

  CurlHttpClientOptions trusted;
  trusted.ca_file = Tls("ca.pem");
  HttpRequest request;
  request.url = *url + "/_sim/clock";
  absl::StatusOr<HttpResponse> ok = NewCurlHttpClient(trusted)->Send(request);
  ASSERT_THAT(ok, IsOk());
  EXPECT_EQ(ok->status, 200);
  rapidjson::Document doc;
  doc.Parse(ok->body.c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(std::string(doc["now"].GetString()), "2026-01-01 00:00:00");

  CurlHttpClientOptions untrusted;
  untrusted.ca_file = Tls("other_ca.pem");
  EXPECT_THAT(NewCurlHttpClient(untrusted)->Send(request),
              StatusIs(absl::StatusCode::kUnavailable));

  (*sim)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*sim)->Wait(absl::Seconds(20));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
}

TEST(PodioSimBinaryTest, RefusesBadFlags) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--users=1"},
        std::vector<std::string>{"--faults=[{\"kind\":\"nope\"}]"},
        std::vector<std::string>{"--faults=@/no/such/file"}}) {
    auto sim = Subprocess::Start(Sim(), args);
    ASSERT_THAT(sim, IsOk());
    absl::StatusOr<int> code = (*sim)->Wait(absl::Seconds(20));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2) << args[0];
  }
}

TEST(PodioSimBinaryTest, StartUpFaultsApply) {
  auto sim = Subprocess::Start(
      Sim(), {"--users=10",
              R"(--faults=[{"path":"/user/","kind":"status","status":502}])"});
  ASSERT_THAT(sim, IsOk());
  auto url = (*sim)->WaitForLine("listening on ", absl::Seconds(30));
  ASSERT_THAT(url, IsOk());
  auto http = NewCurlHttpClient({});
  HttpRequest token;
  token.method = "POST";
  token.url = *url + "/oauth/token";
  token.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  token.body =
      "grant_type=password&client_id=demo-client&client_secret=demo-secret&"
      "username=demo%40example.com&password=demo-password";
  auto issued = http->Send(token);
  ASSERT_THAT(issued, IsOk());
  rapidjson::Document doc;
  doc.Parse(issued->body.c_str());
  ASSERT_TRUE(doc.IsObject()) << issued->body;
  HttpRequest user;
  user.url = *url + "/user/";
  user.headers = {{"Authorization",
                   std::string("OAuth2 ") + doc["access_token"].GetString()}};
  auto answer = http->Send(user);
  ASSERT_THAT(answer, IsOk());
  EXPECT_EQ(answer->status, 502);
}

}  // namespace
}  // namespace unified
