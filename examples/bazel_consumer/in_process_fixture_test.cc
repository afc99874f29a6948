// A user's C++ test that starts the fixture itself
// (@podio_directory//tools/fixture), e.g. to start one per test case.
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/fixture/fixture.h"

namespace {

TEST(InProcessFixtureTest, ADirectoryOfItsOwn) {
  unified::fixture::FixtureOptions options;
  options.users = 40;
  options.orgs = 2;
  auto fixture = unified::fixture::Fixture::Start(options);
  ASSERT_TRUE(fixture.ok()) << fixture.status();
  auto directory = unified::v1::UserDirectory::NewStub(grpc::CreateChannel(
      (*fixture)->address(), grpc::InsecureChannelCredentials()));
  unified::v1::ListOrganizationsRequest request;
  request.set_integrated_account_id((*fixture)->account());
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + (*fixture)->api_key());
  unified::v1::ListOrganizationsResponse response;
  grpc::Status status =
      directory->ListOrganizations(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.result_size(), 2);
  EXPECT_EQ(response.total_size(), 2);
}

}  // namespace
