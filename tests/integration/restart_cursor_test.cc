// Cursors and resume tokens outlive a restart of the embedded default (no
// --cursor_key_file: the key kept in the data directory), and one sealed
// under another key is refused as such (CURSOR_KEY_UNKNOWN), not blamed on
// the caller as a damaged one.
#include <string>

#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/rich_error.h"
#include "tools/testing/service_files.h"

namespace unified {
namespace {

using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;

grpc::Status Users(DirectoryEnv& env, const std::string& cursor,
                   v1::ListUsersResponse* page) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  v1::ListUsersRequest request;
  request.set_integrated_account_id(env.account("demo"));
  request.set_limit(5);
  request.set_cursor(cursor);
  return v1::UserDirectory::NewStub(env.channel())
      ->ListUsers(&context, request, page);
}

TEST(RestartCursorTest, CursorsAndResumeTokensSurviveARestart) {
  DirectoryEnvOptions options;
  options.data.users = 30;
  options.kept_cursor_key = true;
  // A heartbeat soon gives the account events' stream a resume token.
  options.extra_server_flags = {"--watch_heartbeat=200ms"};
  DirectoryEnv env(options);
  ASSERT_FALSE(env.account("demo").empty());

  v1::ListUsersResponse first;
  ASSERT_TRUE(Users(env, "", &first).ok());
  ASSERT_FALSE(first.next_cursor().empty());
  // A resume token of the tenant's account events, before the restart.
  std::string token;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
    v1::WatchIntegratedAccountsRequest request;
    auto events = v1::IntegratedAccounts::NewStub(env.channel())
                      ->WatchIntegratedAccounts(&context, request);
    v1::AccountEvent event;
    ASSERT_TRUE(events->Read(&event));
    token = event.resume_token();
    context.TryCancel();
    while (events->Read(&event)) {
    }
    (void)events->Finish();
  }
  ASSERT_FALSE(token.empty());

  ASSERT_EQ(env.StopServer(), 0);
  ASSERT_TRUE(env.StartServer());
  v1::ListUsersResponse second;
  grpc::Status resumed = Users(env, first.next_cursor(), &second);
  ASSERT_TRUE(resumed.ok()) << resumed.error_message();
  ASSERT_GT(second.result_size(), 0);
  EXPECT_NE(second.result(0).id(), first.result(0).id());
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(3)));
    v1::WatchIntegratedAccountsRequest request;
    request.set_resume_token(token);
    auto events = v1::IntegratedAccounts::NewStub(env.channel())
                      ->WatchIntegratedAccounts(&context, request);
    v1::AccountEvent event;
    while (events->Read(&event)) {
    }
    // Still open when its deadline ends it: the token was accepted.
    EXPECT_EQ(events->Finish().error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }

  // A server with another key: the cursor is refused for what it is.
  ASSERT_EQ(env.StopServer(), 0);
  const std::string other = unified::testing::MakeTempDir("key") + "/key";
  ASSERT_TRUE(unified::testing::WritePrivateFile(other, std::string(48, 'o'))
                  .ok());
  ASSERT_TRUE(env.StartServer({"--cursor_key_file=" + other}));
  v1::ListUsersResponse refused;
  const grpc::Status status = Users(env, first.next_cursor(), &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(testing::ErrorInfoOf(status).reason(), "CURSOR_KEY_UNKNOWN");
}

}  // namespace
}  // namespace unified
