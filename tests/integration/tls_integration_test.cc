// Podio over HTTPS: the server verifies the simulator's certificate against
// the CA file it is given (--podio_ca_file) and refuses any other.
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::ErrorInfoOf;
using ::unified::testing::IsOk;
using ::unified::testing::RunfilePath;
using ::unified::testing::StatusIs;

DirectoryEnvOptions TlsOptions(const std::string& server_ca) {
  DirectoryEnvOptions options;
  options.data.users = 30;
  options.extra_sim_flags = {
      "--tls_cert=" + RunfilePath("tests/testing/tls/server.pem"),
      "--tls_key=" + RunfilePath("tests/testing/tls/server.key")};
  options.extra_server_flags = {"--podio_ca_file=" +
                                RunfilePath("tests/testing/tls/" + server_ca)};
  options.link_accounts = false;
  return options;
}

// Links the demo principal (a token request over TLS); the account or the
// failure.
grpc::Status Link(DirectoryEnv& env, std::string* id) {
  auto stub = v1::IntegratedAccounts::NewStub(env.channel());
  grpc::ClientContext context;
  v1::LinkWithPasswordRequest request;
  request.set_username("demo@example.com");
  request.set_password("demo-password");
  v1::IntegratedAccount account;
  grpc::Status status = stub->LinkWithPassword(&context, request, &account);
  *id = account.id();
  return status;
}

grpc::Status GetMe(DirectoryEnv& env, const std::string& id) {
  auto stub = v1::UserDirectory::NewStub(env.channel());
  grpc::ClientContext context;
  v1::GetMeRequest request;
  request.set_integrated_account_id(id);
  v1::User me;
  return stub->GetMe(&context, request, &me);
}

TEST(TlsIntegrationTest, TrustedCaConnects) {
  DirectoryEnv env(TlsOptions("ca.pem"),
                   RunfilePath("tests/testing/tls/ca.pem"));
  ASSERT_THAT(env.sim_url(), ::testing::StartsWith("https://localhost:"));
  std::string id;
  ASSERT_THAT(Link(env, &id), IsOk());
  EXPECT_THAT(GetMe(env, id), IsOk());
}

TEST(TlsIntegrationTest, UntrustedCertificateIsRefused) {
  DirectoryEnv env(TlsOptions("other_ca.pem"),
                   RunfilePath("tests/testing/tls/ca.pem"));
  std::string id;
  grpc::Status status = Link(env, &id);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(ErrorInfoOf(status).reason(), "UPSTREAM_UNREACHABLE");
}

}  // namespace
}  // namespace unified
