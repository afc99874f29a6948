// Outbound webhooks end to end, with the server binary and a receiver in
// the test: a receiver answering 500, 500, then 200 gets three attempts of
// one event with the same webhook-id and a valid Standard Webhooks
// signature; each tenant's endpoint gets its own tenant's events only; a
// server killed (SIGKILL) while a delivery is in flight leaves the event to
// the restarted server, which delivers it with the same id; endpoints with
// bad URLs or secrets are refused with their reasons; bodies follow
// docs/webhooks.schema.json; a rotated secret
// signs beside the new one. (A receiver down for
// a simulated day is //tests/service/webhooks:webhook_deliverer_test, with
// an injected clock.)
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "service/webhooks/payloads.h"
#include "tests/integration/directory_env.h"
#include "tests/integration/webhook_schema_check.h"
#include "tests/testing/rich_error.h"
#include "tools/testing/subprocess.h"
#include "tests/testing/webhook_receiver.h"

namespace unified::testing {
namespace {

using ::testing::HasSubstr;

const std::string kKey(32, 'w');

using Receiver = WebhookReceiver;

bool Signed(const Delivery& d) {
  int64_t ts = 0;
  return absl::SimpleAtoi(d.timestamp, &ts) &&
         d.signature == webhooks::Sign(kKey, d.id, ts, d.body);
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DirectoryEnvOptions options;
    options.data.users = 20;
    options.data.orgs = 1;
    options.data.spaces_per_org = 1;
    options.extra_server_flags = {"--webhook_allow_http_loopback",
                                  "--webhook_retry_base=100ms",
                                  "--webhook_tick=100ms", "--webhook_lease=2s"};
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
  }

  grpc::Status SetEndpoint(
      const std::string& tenant, const std::string& url,
      const std::string& secret = "whsec_" + absl::Base64Escape(kKey)) {
    auto stub = v1::IntegratedAccounts::NewStub(env_->channel(tenant));
    grpc::ClientContext context;
    v1::SetWebhookEndpointRequest request;
    request.set_url(url);
    request.set_secret(secret);
    v1::WebhookEndpoint endpoint;
    return stub->SetWebhookEndpoint(&context, request, &endpoint);
  }
  v1::WebhookEndpoint GetEndpoint(const std::string& tenant,
                                  grpc::Status* status = nullptr) {
    auto stub = v1::IntegratedAccounts::NewStub(env_->channel(tenant));
    grpc::ClientContext context;
    v1::WebhookEndpoint endpoint;
    grpc::Status s = stub->GetWebhookEndpoint(
        &context, v1::GetWebhookEndpointRequest(), &endpoint);
    if (status != nullptr) *status = s;
    return endpoint;
  }

  std::unique_ptr<DirectoryEnv> env_;
};

TEST_F(WebhookTest, RetriedDeliveriesKeepTheirIdAndSignatureAndTheirTenant) {
  Receiver a, b;
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url()).ok());
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantB, b.url()).ok());
  a.Script({500, 500, 200});
  // Re-linking tenant-a's "regular" account logs RELINKED.
  const std::string regular = env_->account("regular");
  ASSERT_EQ(env_->LinkPassword("regular@example.com", "regular-password"),
            regular);
  std::vector<Delivery> got = a.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  for (const Delivery& d : got) {
    EXPECT_EQ(d.id, got[0].id);
    EXPECT_TRUE(Signed(d)) << d.signature;
    EXPECT_THAT(d.body, HasSubstr(R"("type":"account.relinked")"));
    EXPECT_THAT(d.body, HasSubstr(regular));
  }
  // Then the endpoint is healthy again.
  v1::WebhookEndpoint endpoint = GetEndpoint(DirectoryEnv::kTenantA);
  EXPECT_EQ(endpoint.status(), v1::WebhookEndpoint::ACTIVE);
  EXPECT_EQ(endpoint.url(), a.url());
  // A tenant-b link reaches tenant-b's receiver only.
  const std::string theirs = env_->LinkPassword(
      "regular@example.com", "regular-password", DirectoryEnv::kTenantB);
  std::vector<Delivery> to_b = b.WaitFor(1);
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_THAT(to_b[0].body, HasSubstr(R"("type":"account.linked")"));
  EXPECT_THAT(to_b[0].body, HasSubstr(theirs));
  EXPECT_TRUE(Signed(to_b[0]));
  for (const Delivery& d : a.WaitFor(4)) {
    EXPECT_THAT(d.body, ::testing::Not(HasSubstr(theirs)));
  }
  EXPECT_EQ(b.WaitFor(1).size(), 1u);
}

// Runs the Python or Node example's check on `d` with `body`; whether it
// said valid (exit 0), and its output.
bool ExampleSaysValid(const std::string& runtime, const std::string& script,
                      const Delivery& d, const std::string& body,
                      std::string* output) {
  const std::string file =
      absl::StrCat(::testing::TempDir(), "/body-", runtime.size(), ".json");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << body;
  }
  auto arg = [](const std::string& name, const std::string& value) {
    return absl::StrCat("--", name, "=", value);
  };
  auto p = Subprocess::Start(
      runtime,
      {RunfilePath(script), arg("secret", "whsec_" + absl::Base64Escape(kKey)),
       arg("id", d.id), arg("timestamp", d.timestamp),
       arg("signature", d.signature), arg("body-file", file)});
  if (!p.ok()) {
    *output = p.status().ToString();
    return false;
  }
  // Its one line of output, then its exit code.
  absl::StatusOr<std::string> line = (*p)->WaitForLine("", absl::Seconds(30));
  *output = line.ok() ? *line : line.status().ToString();
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(30));
  return code.ok() && *code == 0;
}

TEST_F(WebhookTest, ARealDeliveryVerifiesAndFollowsTheSchema) {
  Receiver a;
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url()).ok());
  ASSERT_FALSE(
      env_->LinkPassword("regular@example.com", "regular-password").empty());
  std::vector<Delivery> got = a.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  for (const auto& [runtime, script] :
       std::vector<std::pair<std::string, std::string>>{
           {"/usr/bin/python3", "tools/clients/python/verify_webhook.py"},
           {"/usr/bin/node", "tools/clients/node/verify_webhook.js"}}) {
    std::string output;
    EXPECT_TRUE(ExampleSaysValid(runtime, script, got[0], got[0].body, &output))
        << script << ": " << output;
    EXPECT_THAT(output, HasSubstr("valid: account.relinked"));
    // One byte changed: refused.
    std::string forged = got[0].body;
    forged[forged.size() / 2] ^= 1;
    EXPECT_FALSE(ExampleSaysValid(runtime, script, got[0], forged, &output))
        << script;
    EXPECT_THAT(output, HasSubstr("invalid"));
  }
  // The body follows docs/webhooks.schema.json, which does constrain it.
  EXPECT_EQ(WebhookSchemaErrors({got[0].body}), "");
  std::string other_version = got[0].body;
  ASSERT_EQ(other_version.rfind(R"({"version":1,)", 0), 0u) << other_version;
  other_version.replace(0, 12, R"({"version":2)");
  std::string other_type = got[0].body;
  other_type.replace(other_type.find("account.relinked"), 16,
                     "account.renamed");
  for (const std::string& bad : {other_version, other_type}) {
    EXPECT_NE(WebhookSchemaErrors({bad}), "") << bad;
  }
}

TEST_F(WebhookTest, AnEventInFlightWhenTheServerDiesIsDeliveredWithItsId) {
  Receiver a;
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url()).ok());
  a.Hold(true);
  ASSERT_FALSE(
      env_->LinkPassword("regular@example.com", "regular-password").empty());
  std::vector<Delivery> first = a.WaitFor(1);
  ASSERT_EQ(first.size(), 1u);
  env_->KillServer();  // The delivery is in flight, unanswered.
  a.Hold(false);
  ASSERT_TRUE(env_->StartServer());
  // The restarted server takes the endpoint once the dead one's lease ends.
  std::vector<Delivery> got = a.WaitFor(2);
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[1].id, first[0].id);
  EXPECT_EQ(got[1].body, first[0].body);
  EXPECT_TRUE(Signed(got[1]));
}

TEST_F(WebhookTest, ARotatedSecretKeepsSigningBesideTheNewOne) {
  Receiver a;
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url()).ok());
  EXPECT_FALSE(
      GetEndpoint(DirectoryEnv::kTenantA).has_previous_secret_valid_until());
  const std::string next_key(32, 'x');
  const std::string next_secret = "whsec_" + absl::Base64Escape(next_key);
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url(), next_secret).ok());
  const v1::WebhookEndpoint rotated = GetEndpoint(DirectoryEnv::kTenantA);
  ASSERT_TRUE(rotated.has_previous_secret_valid_until());
  // The default overlap: a day from now.
  EXPECT_GT(rotated.previous_secret_valid_until().seconds(),
            absl::ToUnixSeconds(absl::Now() + absl::Hours(23)));
  // Setting the same secret again keeps the overlap as it was.
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, a.url(), next_secret).ok());
  EXPECT_EQ(GetEndpoint(DirectoryEnv::kTenantA)
                .previous_secret_valid_until()
                .seconds(),
            rotated.previous_secret_valid_until().seconds());
  ASSERT_FALSE(
      env_->LinkPassword("regular@example.com", "regular-password").empty());
  std::vector<Delivery> got = a.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  int64_t ts = 0;
  ASSERT_TRUE(absl::SimpleAtoi(got[0].timestamp, &ts));
  EXPECT_EQ(
      got[0].signature,
      absl::StrCat(webhooks::Sign(next_key, got[0].id, ts, got[0].body), " ",
                   webhooks::Sign(kKey, got[0].id, ts, got[0].body)));
}

TEST_F(WebhookTest, BadEndpointsAreRefusedWithTheirReasons) {
  grpc::Status s = SetEndpoint(DirectoryEnv::kTenantA, "https://10.0.0.7/h");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_WEBHOOK_URL");
  s = SetEndpoint(DirectoryEnv::kTenantA, "ftp://127.0.0.1/h");
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_WEBHOOK_URL");
  s = SetEndpoint(DirectoryEnv::kTenantA, "http://127.0.0.1:1/h", "not-one");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INVALID_WEBHOOK_SECRET");
  grpc::Status got;
  GetEndpoint(DirectoryEnv::kTenantA, &got);
  EXPECT_EQ(got.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorInfoOf(got).reason(), "WEBHOOK_ENDPOINT_NOT_FOUND");
  // The secret never comes back, in any field.
  ASSERT_TRUE(SetEndpoint(DirectoryEnv::kTenantA, "http://127.0.0.1:1/h").ok());
  EXPECT_THAT(GetEndpoint(DirectoryEnv::kTenantA).DebugString(),
              ::testing::Not(HasSubstr(absl::Base64Escape(kKey))));
}

}  // namespace
}  // namespace unified::testing
