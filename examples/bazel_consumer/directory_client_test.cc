// A user's C++ test, run by directory_fixture_test: it finds the service,
// the API key and the linked account in the environment, and calls the
// directory with the generated stubs.
#include <cstdlib>
#include <set>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"

namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

TEST(DirectoryClientTest, StreamsTheFixturesUsers) {
  auto directory = unified::v1::UserDirectory::NewStub(grpc::CreateChannel(
      Env("UNIFIED_ADDR"), grpc::InsecureChannelCredentials()));
  unified::v1::ListUsersRequest request;
  request.set_integrated_account_id(Env("UNIFIED_ACCOUNT"));
  request.set_limit(50);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + Env("UNIFIED_API_KEY"));
  auto reader = directory->StreamUsers(&context, request);
  std::set<std::string> ids;
  unified::v1::ListUsersResponse page;
  while (reader->Read(&page)) {
    for (const auto& user : page.result()) ids.insert(user.id());
  }
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ids.size(), 120u);  // The BUILD asks for 120 users.
}

TEST(DirectoryClientTest, AWrongKeyIsRefused) {
  auto directory = unified::v1::UserDirectory::NewStub(grpc::CreateChannel(
      Env("UNIFIED_ADDR"), grpc::InsecureChannelCredentials()));
  unified::v1::GetMeRequest request;
  request.set_integrated_account_id(Env("UNIFIED_ACCOUNT"));
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer uk_not-a-key");
  unified::v1::User me;
  EXPECT_EQ(directory->GetMe(&context, request, &me).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
