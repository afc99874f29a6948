// The service over a fake connector, proving it needs no Podio knowledge:
// paging and cursors, cursor binding, streaming read-ahead bounds,
// cancellation, deadlines and error details.
#include "service/api/user_directory_service.h"

#include <atomic>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "service/api/server.h"
#include "service/api/serving.h"
#include "service/core/tenants.h"
#include "service/core/worker_pool.h"
#include "tools/testing/api_key_channel.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// N synthetic users; the page token is the decimal offset.
class FakeConnector final : public DirectoryConnector {
 public:
  explicit FakeConnector(int users, size_t padding = 0)
      : users_(users), padding_(padding) {}
  std::string provider() const override { return "fake"; }

  absl::StatusOr<Page<v1::User>> ListUsers(CallContext& ctx,
                                           const UserFilter& filter,
                                           const PageRequest& page) override {
    {
      absl::MutexLock lock(&mu_);
      ++fetches_;
      last_deadline_ = ctx.deadline;
      last_filter_org_ = filter.organization_id;
      last_remote_data_ = page.include_remote_data;
      auto go = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
      // Held fetches wait for release or for the caller to cancel.
      while (
          !mu_.AwaitWithTimeout(absl::Condition(&go), absl::Milliseconds(5))) {
        if (ctx.cancelled()) {
          ++saw_cancel_;
          return absl::CancelledError("cancelled");
        }
      }
    }
    if (!error_.ok()) return error_;
    int offset = 0;
    if (!page.page_token.empty() &&
        !absl::SimpleAtoi(page.page_token, &offset)) {
      return absl::InvalidArgumentError("bad token");
    }
    Page<v1::User> result;
    for (int i = offset; i < users_ && i < offset + page.limit; ++i) {
      v1::User user;
      user.set_id(absl::StrCat("u", i));
      user.set_name(std::string(padding_, 'n'));
      result.items.push_back(user);
    }
    if (offset + page.limit < users_) {
      result.next_page_token = absl::StrCat(offset + page.limit);
    }
    if (report_total_) result.total_size = users_;
    result.unreadable = unreadable_per_page_;
    return result;
  }

  absl::StatusOr<v1::User> GetMe(CallContext&, bool) override {
    v1::User me;
    me.set_id("me");
    return me;
  }
  absl::StatusOr<v1::User> GetUser(CallContext&, const std::string& id,
                                   const UserParts&) override {
    return absl::NotFoundError("no user " + id);
  }
  absl::StatusOr<Page<v1::Organization>> ListOrganizations(
      CallContext&, const PageRequest&) override {
    return Page<v1::Organization>{};
  }
  absl::StatusOr<v1::Organization> GetOrganization(CallContext&,
                                                   const std::string&,
                                                   bool) override {
    return absl::NotFoundError("none");
  }
  absl::StatusOr<Page<v1::Workspace>> ListWorkspaces(
      CallContext&, const std::string&, const PageRequest&) override {
    return Page<v1::Workspace>{};
  }
  absl::StatusOr<v1::Workspace> GetWorkspace(CallContext&, const std::string&,
                                             bool) override {
    return absl::NotFoundError("none");
  }
  absl::StatusOr<Page<v1::RoleAssignment>> ListRoleAssignments(
      CallContext&, const RoleAssignmentFilter&, const PageRequest&) override {
    return Page<v1::RoleAssignment>{};
  }
  std::vector<v1::Role> Roles() const override {
    v1::Role role;
    role.set_id("fake.role");
    return {role};
  }

  int fetches() {
    absl::MutexLock lock(&mu_);
    return fetches_;
  }
  bool WaitForFetches(int n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return fetches_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
  }
  void Hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  int saw_cancel() {
    absl::MutexLock lock(&mu_);
    return saw_cancel_;
  }
  absl::Time last_deadline() {
    absl::MutexLock lock(&mu_);
    return last_deadline_;
  }
  void Fail(absl::Status error) { error_ = std::move(error); }
  // Whether pages report the listing's total (before Start's first call).
  void ReportTotal(bool report) { report_total_ = report; }
  // Every page says this many of its rows could not be read.
  void ReportUnreadable(int n) { unreadable_per_page_ = n; }
  bool last_remote_data() {
    absl::MutexLock lock(&mu_);
    return last_remote_data_;
  }

 private:
  const int users_;
  const size_t padding_;
  absl::Mutex mu_;
  int fetches_ ABSL_GUARDED_BY(mu_) = 0;
  int saw_cancel_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_deadline_ ABSL_GUARDED_BY(mu_);
  std::string last_filter_org_ ABSL_GUARDED_BY(mu_);
  bool last_remote_data_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_;
  std::atomic<bool> report_total_{false};
  std::atomic<int> unreadable_per_page_{0};
};

class ServiceTest : public ::testing::Test {
 protected:
  void Start(int users, size_t padding = 0) {
    auto fake = std::make_unique<FakeConnector>(users, padding);
    fake_ = fake.get();
    ASSERT_THAT(registry_.Register(std::move(fake)), IsOk());
    accounts_ = NewStaticAccountResolver({{"acct_a", {"fake", "token-a"}},
                                          {"acct_b", {"fake", "token-b"}},
                                          {"acct_c", {"nobody", "token-c"}}});
    NewApiKey key = GenerateApiKey("default");
    tenants_ = *TenantAuthenticator::Parse(key.line);
    serving_ = std::make_unique<Serving>(&tenants_, &pool_, serving_options_);
    service_ = std::make_unique<UserDirectoryService>(
        serving_.get(), accounts_.get(), &registry_, &cursors_);
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server =
        Server::Start(options, {{"unified.v1.UserDirectory", service_.get()}});
    ASSERT_THAT(server, IsOk());
    server_ = std::move(*server);
    stub_ = v1::UserDirectory::NewStub(unified::testing::ApiKeyChannel(
        absl::StrCat("127.0.0.1:", server_->port()), key.key));
  }

  v1::ListUsersRequest Request(int limit,
                               const std::string& account = "acct_a") {
    v1::ListUsersRequest request;
    request.set_integrated_account_id(account);
    request.set_limit(limit);
    return request;
  }

  std::vector<std::string> ListAll(v1::ListUsersRequest request) {
    std::vector<std::string> ids;
    for (int guard = 0; guard < 10000; ++guard) {
      grpc::ClientContext context;
      v1::ListUsersResponse response;
      EXPECT_THAT(stub_->ListUsers(&context, request, &response), IsOk());
      for (const auto& u : response.result()) ids.push_back(u.id());
      if (response.next_cursor().empty()) break;
      request.set_cursor(response.next_cursor());
    }
    return ids;
  }

  static std::vector<std::string> Ids(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat("u", i));
    return ids;
  }

  CursorCodec cursors_{RandomCursorKey()};
  ConnectorRegistry registry_;
  FakeConnector* fake_ = nullptr;
  std::unique_ptr<AccountResolver> accounts_;
  TenantAuthenticator tenants_;
  WorkerPool pool_{WorkerPoolOptions{4}};
  ServingOptions serving_options_;
  std::unique_ptr<Serving> serving_;
  std::unique_ptr<UserDirectoryService> service_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<v1::UserDirectory::Stub> stub_;
};

TEST_F(ServiceTest, ListPagesThroughEveryRecordOnce) {
  Start(1234);
  EXPECT_EQ(ListAll(Request(7)), Ids(1234));
  EXPECT_EQ(ListAll(Request(500)), Ids(1234));
  EXPECT_EQ(ListAll(Request(0)).size(), 1234u);  // Default page size.
}

TEST_F(ServiceTest, StreamSendsPagesOfTheLimitAndCursorsResume) {
  Start(2345);
  grpc::ClientContext context;
  auto reader = stub_->StreamUsers(&context, Request(100));
  std::vector<v1::ListUsersResponse> messages;
  v1::ListUsersResponse m;
  while (reader->Read(&m)) messages.push_back(m);
  ASSERT_THAT(reader->Finish(), IsOk());
  std::vector<std::string> ids;
  for (const auto& message : messages) {
    EXPECT_LE(message.result_size(), 100);
    for (const auto& u : message.result()) ids.push_back(u.id());
  }
  EXPECT_EQ(ids, Ids(2345));
  EXPECT_TRUE(messages.back().next_cursor().empty());
  // Upstream was read in pages of 500, not 100, through the connector's
  // default iterator: one List call per page, none past the end.
  EXPECT_EQ(fake_->fetches(), 5);
  // Any message's cursor resumes with List, also inside a connector page.
  v1::ListUsersRequest resume = Request(100);
  resume.set_cursor(messages[6].next_cursor());
  std::vector<std::string> rest = ListAll(resume);
  EXPECT_EQ(rest, std::vector<std::string>(ids.begin() + 700, ids.end()));
}

TEST_F(ServiceTest, TotalsPassThroughOnlyWhereTheConnectorReportsThem) {
  Start(250);
  grpc::ClientContext c1;
  v1::ListUsersResponse unknown;
  ASSERT_THAT(stub_->ListUsers(&c1, Request(100), &unknown), IsOk());
  EXPECT_FALSE(unknown.has_total_size());  // Unknown, not zero.

  fake_->ReportTotal(true);
  v1::ListUsersRequest request = Request(100);
  for (int page = 0; page < 3; ++page) {
    grpc::ClientContext context;
    v1::ListUsersResponse response;
    ASSERT_THAT(stub_->ListUsers(&context, request, &response), IsOk());
    ASSERT_TRUE(response.has_total_size()) << page;
    EXPECT_EQ(response.total_size(), 250) << page;
    request.set_cursor(response.next_cursor());
  }
  grpc::ClientContext c2;
  auto reader = stub_->StreamUsers(&c2, Request(100));
  v1::ListUsersResponse m;
  int messages = 0;
  while (reader->Read(&m)) {
    ++messages;
    EXPECT_TRUE(m.has_total_size());
    EXPECT_EQ(m.total_size(), 250);
  }
  ASSERT_THAT(reader->Finish(), IsOk());
  EXPECT_EQ(messages, 3);
}

TEST_F(ServiceTest, UnreadableRecordsAreCountedOncePerProviderPage) {
  Start(250);
  fake_->ReportUnreadable(2);
  v1::ListUsersRequest request = Request(100);
  int64_t listed = 0;
  for (int page = 0; page < 3; ++page) {
    grpc::ClientContext context;
    v1::ListUsersResponse response;
    ASSERT_THAT(stub_->ListUsers(&context, request, &response), IsOk());
    listed += response.unreadable_records();
    request.set_cursor(response.next_cursor());
  }
  EXPECT_EQ(listed, 6);  // Three provider pages, two each.
  // A stream asks pages of 500: one provider page, counted on its first
  // message only.
  grpc::ClientContext c2;
  auto reader = stub_->StreamUsers(&c2, Request(100));
  v1::ListUsersResponse m;
  int64_t streamed = 0;
  int messages = 0;
  while (reader->Read(&m)) {
    streamed += m.unreadable_records();
    EXPECT_EQ(m.unreadable_records(), messages == 0 ? 2 : 0) << messages;
    ++messages;
  }
  ASSERT_THAT(reader->Finish(), IsOk());
  EXPECT_EQ(messages, 3);
  EXPECT_EQ(streamed, 2);
}

TEST_F(ServiceTest, AMaskWithoutRemoteDataSparesTheMapperTheRawRecords) {
  Start(10);
  struct Case {
    bool include;
    std::vector<std::string> paths;
    bool mapped;
  };
  const Case cases[] = {{true, {}, true},
                        {true, {"id", "name"}, false},
                        {true, {"id", "remote_data"}, true},
                        {false, {"remote_data"}, false}};
  for (const Case& c : cases) {
    v1::ListUsersRequest request = Request(5);
    request.set_include_remote_data(c.include);
    for (const std::string& path : c.paths) {
      request.mutable_read_mask()->add_paths(path);
    }
    grpc::ClientContext context;
    v1::ListUsersResponse response;
    ASSERT_THAT(stub_->ListUsers(&context, request, &response), IsOk());
    EXPECT_EQ(fake_->last_remote_data(), c.mapped) << request.DebugString();
    grpc::ClientContext stream_context;
    auto reader = stub_->StreamUsers(&stream_context, request);
    while (reader->Read(&response)) {
    }
    ASSERT_THAT(reader->Finish(), IsOk());
    EXPECT_EQ(fake_->last_remote_data(), c.mapped) << request.DebugString();
  }
}

TEST_F(ServiceTest, CursorsAreBoundToAccountAndFilters) {
  Start(100);
  grpc::ClientContext c1;
  v1::ListUsersResponse page;
  ASSERT_THAT(stub_->ListUsers(&c1, Request(10), &page), IsOk());
  const int fetches = fake_->fetches();
  for (int variant = 0; variant < 3; ++variant) {
    v1::ListUsersRequest request =
        Request(10, variant == 0 ? "acct_b" : "acct_a");
    request.set_cursor(page.next_cursor());
    if (variant == 1) request.set_organization_id("42");
    if (variant == 2) request.set_cursor(page.next_cursor() + "x");
    grpc::ClientContext context;
    v1::ListUsersResponse response;
    EXPECT_THAT(
        stub_->ListUsers(&context, request, &response),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("cursor")))
        << variant;
  }
  EXPECT_EQ(fake_->fetches(), fetches);  // Refused before any fetch.
}

TEST_F(ServiceTest, ValidatesRequestsBeforeCallingTheConnector) {
  Start(10);
  for (int limit : {-5, 501}) {
    grpc::ClientContext context;
    v1::ListUsersResponse response;
    EXPECT_THAT(
        stub_->ListUsers(&context, Request(limit), &response),
        StatusIs(grpc::StatusCode::INVALID_ARGUMENT, HasSubstr("limit")));
  }
  grpc::ClientContext context;
  v1::ListUsersResponse response;
  v1::ListUsersRequest long_filter = Request(5);
  long_filter.set_email(std::string(400, 'e'));
  EXPECT_THAT(stub_->ListUsers(&context, long_filter, &response),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  grpc::ClientContext c2;
  EXPECT_THAT(stub_->ListUsers(&c2, Request(5, "acct_unknown"), &response),
              StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(fake_->fetches(), 0);
}

TEST_F(ServiceTest, StreamingReadAheadIsBoundedForASlowClient) {
  // 200 pages of 500 users of ~10 KB: the transport buffers fill at once, so
  // an idle reader shows how far the server reads ahead.
  Start(100000, 10000);
  grpc::ClientContext context;
  auto reader = stub_->StreamUsers(&context, Request(500));
  v1::ListUsersResponse m;
  ASSERT_TRUE(reader->Read(&m));
  // Large records: the message stopped at the byte cap, not at 500.
  EXPECT_LT(m.result_size(), 500);
  EXPECT_GT(m.ByteSizeLong(), 1u << 20);
  EXPECT_LE(m.ByteSizeLong(), (2u << 20) + 20000);
  EXPECT_FALSE(m.next_cursor().empty());
  ASSERT_TRUE(fake_->WaitForFetches(3, absl::Seconds(10)));
  // Give the server time to run ahead if it would: it stops at a constant
  // (page being sent, 2 queued, 1 waiting for room, 2 in flight, plus what
  // gRPC's flow-control windows hold) far below the listing's 200 pages, and
  // stays there.
  // Wait until a 300 ms window passes without a new fetch (bounded tries,
  // so a loaded machine only makes the wait longer).
  int plateau = fake_->fetches();
  for (int tries = 0; tries < 50; ++tries) {
    if (!fake_->WaitForFetches(plateau + 1, absl::Milliseconds(300))) break;
    plateau = fake_->fetches();
  }
  EXPECT_EQ(fake_->fetches(), plateau);
  EXPECT_LE(plateau, 10);
  context.TryCancel();
  reader->Finish();
}

TEST_F(ServiceTest, CancellationReachesTheConnector) {
  Start(10000);
  fake_->Hold(true);
  grpc::ClientContext context;
  auto reader = stub_->StreamUsers(&context, Request(100));
  ASSERT_TRUE(fake_->WaitForFetches(1, absl::Seconds(10)));
  context.TryCancel();
  EXPECT_THAT(reader->Finish(), StatusIs(grpc::StatusCode::CANCELLED));
  server_->Shutdown(absl::Seconds(5));  // Returns once the handler is done.
  server_->Wait();
  EXPECT_GE(fake_->saw_cancel(), 1);
}

TEST_F(ServiceTest, DeadlineAndErrorDetailsPassThrough) {
  Start(10);
  fake_->Fail(WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError("rate limited upstream"),
                    "UPSTREAM_RATE_LIMITED", {{"upstream_status", "420"}}),
      absl::Seconds(42)));
  grpc::ClientContext context;
  const absl::Time deadline = absl::Now() + absl::Seconds(7);
  context.set_deadline(absl::ToChronoTime(deadline));
  v1::ListUsersResponse response;
  grpc::Status status = stub_->ListUsers(&context, Request(5), &response);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_LT(absl::AbsDuration(fake_->last_deadline() - deadline),
            absl::Seconds(1));
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  bool saw_retry = false;
  for (const auto& detail : rich.details()) {
    google::rpc::RetryInfo retry;
    if (detail.UnpackTo(&retry)) {
      saw_retry = true;
      EXPECT_EQ(retry.retry_delay().seconds(), 42);
    }
  }
  EXPECT_TRUE(saw_retry);
}

TEST_F(ServiceTest, AnAccountOfAProviderWithoutConnectorIsRefused) {
  Start(10);
  grpc::ClientContext context;
  v1::ListUsersResponse response;
  grpc::Status status =
      stub_->ListUsers(&context, Request(5, "acct_c"), &response);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rich.details_size() > 0 && rich.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "UNKNOWN_PROVIDER");
  EXPECT_EQ(info.metadata().at("provider"), "nobody");
  EXPECT_EQ(fake_->fetches(), 0);
}

TEST_F(ServiceTest, RolesComeFromTheConnectorWithoutFetching) {
  Start(10);
  grpc::ClientContext context;
  v1::ListRolesRequest request;
  request.set_integrated_account_id("acct_a");
  v1::ListRolesResponse response;
  ASSERT_THAT(stub_->ListRoles(&context, request, &response), IsOk());
  ASSERT_EQ(response.result_size(), 1);
  grpc::ClientContext c2;
  v1::GetRoleRequest get;
  get.set_integrated_account_id("acct_a");
  get.set_role_id("nope");
  v1::Role role;
  EXPECT_THAT(stub_->GetRole(&c2, get, &role),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

}  // namespace
}  // namespace unified
