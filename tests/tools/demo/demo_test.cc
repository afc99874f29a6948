// The README's run command end to end: the demo starts the simulator and the
// service, links an account through the OAuth code flow, and what it prints
// works; a second run on the same data directory keeps the account.
#include <signal.h>

#include "absl/strings/str_split.h"
#include "connectors/common/http_client.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tools/testing/api_key_channel.h"
#include "tools/testing/service_files.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::Subprocess;

struct Printed {
  std::string address;
  std::string api_key;
  std::string account;
  std::string link_url;  // The connect page link to open in a browser.
};

Printed RunDemo(const std::string& dir, std::unique_ptr<Subprocess>* demo) {
  Printed printed;
  auto started =
      Subprocess::Start(testing::RunfilePath("tools/demo/demo"),
                        {"--data_dir=" + dir, "--listen=127.0.0.1:0",
                         "--http_listen=127.0.0.1:0", "--users=200"});
  EXPECT_THAT(started, IsOk());
  if (!started.ok()) return printed;
  *demo = std::move(*started);
  auto field = [&](const char* name) {
    auto line = (*demo)->WaitForLine(name, absl::Seconds(60));
    EXPECT_THAT(line, IsOk()) << (*demo)->output();
    std::string value =
        std::string(absl::StripAsciiWhitespace(line.value_or("")));
    return value.substr(0, value.find(' '));
  };
  printed.address = field("  gRPC service");
  printed.api_key = field("  API key");
  printed.account = field("  integrated account");
  printed.link_url = "http://" + field("  http://");
  return printed;
}

TEST(DemoTest, PrintsAWorkingApiKeyAndAccountAndKeepsItAcrossRuns) {
  const std::string dir = testing::MakeTempDir("demo");
  std::unique_ptr<Subprocess> demo;
  Printed first = RunDemo(dir, &demo);
  ASSERT_THAT(first.api_key, ::testing::StartsWith("uk_"));
  ASSERT_THAT(first.account, ::testing::StartsWith("ia_"));
  auto channel = testing::ApiKeyChannel(first.address, first.api_key);
  {
    auto directory = v1::UserDirectory::NewStub(channel);
    grpc::ClientContext context;
    v1::ListUsersRequest request;
    request.set_integrated_account_id(first.account);
    request.set_limit(3);
    v1::ListUsersResponse users;
    ASSERT_THAT(directory->ListUsers(&context, request, &users), IsOk());
    EXPECT_EQ(users.result_size(), 3);
    auto accounts = v1::IntegratedAccounts::NewStub(channel);
    grpc::ClientContext c2;
    v1::GetIntegratedAccountRequest get;
    get.set_integrated_account_id(first.account);
    v1::IntegratedAccount account;
    ASSERT_THAT(accounts->GetIntegratedAccount(&c2, get, &account), IsOk());
    EXPECT_EQ(account.link_method(), "authorization_code");
    // Watching works from zero: the snapshot ends with SNAPSHOT_COMPLETE.
    grpc::ClientContext c3;
    c3.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::WatchDirectoryRequest watch;
    watch.set_integrated_account_id(first.account);
    watch.set_include_snapshot(true);
    auto reader = directory->WatchDirectory(&c3, watch);
    v1::DirectoryEvent event;
    int members = 0;
    bool complete = false;
    while (!complete && reader->Read(&event)) {
      members += event.type() == v1::DirectoryEvent::MEMBER_ADDED;
      complete = event.type() == v1::DirectoryEvent::SNAPSHOT_COMPLETE;
    }
    EXPECT_TRUE(complete);
    EXPECT_GT(members, 0);
    c3.TryCancel();
    (void)reader->Finish();
  }
  {
    // The printed link opens the connect page, which offers Podio.
    ASSERT_THAT(first.link_url, ::testing::HasSubstr("/link?link_token=lt_"));
    auto http = NewCurlHttpClient({});
    HttpRequest open;
    open.url = first.link_url;
    auto page = http->Send(open);
    ASSERT_THAT(page, IsOk());
    EXPECT_EQ(page->status, 200);
    EXPECT_THAT(page->body, ::testing::HasSubstr("Connect Podio"));
    EXPECT_THAT(page->Header("content-security-policy"),
                ::testing::HasSubstr("default-src 'self'"));
  }
  demo->Signal(SIGTERM);
  auto code = demo->Wait(absl::Seconds(30));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);

  // Again on the same directory: a new API key, the same account.
  Printed second = RunDemo(dir, &demo);
  EXPECT_NE(second.api_key, first.api_key);
  EXPECT_EQ(second.account, first.account);
}

}  // namespace
}  // namespace unified
