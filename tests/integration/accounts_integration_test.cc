// Integrated accounts through the real server and simulator, on SQLite and on
// PostgreSQL: every linking flow, tenant isolation on every RPC, single-flight
// refresh (in one process and across two sharing PostgreSQL), expiry in the
// middle of a stream, refused and lost refreshes, a crash between refresh and
// persist, restarts, encryption at rest, key rotation and rewrap.
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/barrier.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sealer.h"
#include "tests/integration/directory_env.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::ErrorInfoOf;
using ::unified::testing::IsOk;
using ::unified::testing::ReadFile;
using ::unified::testing::StatusIs;

constexpr int64_t kDemoUserId = podio_sim::kFirstUserId;
constexpr int64_t kRegularUserId = podio_sim::kFirstUserId + 1;

// The value of query parameter `name` in `url` (still percent-encoded).
std::string QueryParam(const std::string& url, const std::string& name) {
  const size_t q = url.find('?');
  if (q == std::string::npos) return "";
  for (absl::string_view pair : absl::StrSplit(url.substr(q + 1), '&')) {
    if (absl::StartsWith(pair, name + "=")) {
      return std::string(pair.substr(name.size() + 1));
    }
  }
  return "";
}

std::string PercentDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(
          static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

// `calls` GetMe calls released at once, spread over `channels` in turn.
std::vector<grpc::Status> ConcurrentGetMe(
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const std::string& account, int calls) {
  std::vector<grpc::Status> results(calls);
  absl::Barrier* start = new absl::Barrier(calls);
  std::vector<std::thread> threads;
  for (int i = 0; i < calls; ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;
      auto stub = v1::UserDirectory::NewStub(channels[i % channels.size()]);
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
      v1::GetMeRequest request;
      request.set_integrated_account_id(account);
      v1::User me;
      results[i] = stub->GetMe(&context, request, &me);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

class AccountsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { Start(); }

  void Start(std::vector<std::string> extra_server_flags = {},
             int users = 300) {
    DirectoryEnvOptions options;
    options.data.users = users;
    options.data.orgs = 1;
    options.data.spaces_per_org = 2;
    options.extra_server_flags = std::move(extra_server_flags);
    if (GetParam() == "postgresql") {
      options.store = accounts::FreshStoreUrl("postgresql");
      ASSERT_FALSE(options.store.empty());
    }
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
    http_ = NewCurlHttpClient({});
  }

  std::string StoreUrl() {
    return GetParam() == "postgresql"
               ? env_->options().store
               : absl::StrCat("sqlite:", env_->files().dir, "/accounts.db");
  }

  std::unique_ptr<v1::IntegratedAccounts::Stub> Accounts(
      const std::string& tenant = DirectoryEnv::kTenantA) {
    return v1::IntegratedAccounts::NewStub(env_->channel(tenant));
  }

  grpc::Status GetMe(const std::string& id,
                     std::shared_ptr<grpc::Channel> channel = nullptr) {
    auto stub = v1::UserDirectory::NewStub(channel ? channel : env_->channel());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::GetMeRequest request;
    request.set_integrated_account_id(id);
    v1::User me;
    return stub->GetMe(&context, request, &me);
  }

  absl::StatusOr<v1::IntegratedAccount> Get(const std::string& id) {
    grpc::ClientContext context;
    v1::GetIntegratedAccountRequest request;
    request.set_integrated_account_id(id);
    v1::IntegratedAccount account;
    grpc::Status s =
        Accounts()->GetIntegratedAccount(&context, request, &account);
    if (!s.ok()) return absl::UnknownError(s.error_message());
    return account;
  }

  int TokenRequestsSince(int64_t position) {
    return env_->TokenRequestsSince(position);
  }

  // A GET without following redirects: status and Location.
  std::pair<int, std::string> Browse(const std::string& url) {
    HttpRequest request;
    request.url = url;
    absl::StatusOr<HttpResponse> r = http_->Send(request);
    EXPECT_THAT(r, IsOk());
    if (!r.ok()) return {0, ""};
    return {r->status, r->status == 302 ? r->Header("location") : r->body};
  }

  // Tokens straight from the simulator's password grant (as a caller that
  // already holds some would have them).
  std::pair<std::string, std::string> DirectTokens(const std::string& user,
                                                   const std::string& pass) {
    HttpRequest grant;
    grant.method = "POST";
    grant.url = env_->sim_url() + "/oauth/token";
    grant.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    grant.body = absl::StrCat(
        "grant_type=password&client_id=demo-client&client_secret=demo-secret"
        "&username=",
        UrlEncode(user), "&password=", UrlEncode(pass));
    auto r = http_->Send(grant);
    rapidjson::Document doc;
    if (r.ok()) doc.Parse(r->body.c_str());
    if (!doc.IsObject()) return {"", ""};
    return {doc["access_token"].GetString(), doc["refresh_token"].GetString()};
  }

  std::unique_ptr<DirectoryEnv> env_;
  std::unique_ptr<HttpClient> http_;
};

TEST_P(AccountsTest, PasswordAndAppGrantsLinkAndShowNoCredential) {
  absl::StatusOr<v1::IntegratedAccount> demo = Get(env_->account("demo"));
  ASSERT_THAT(demo, IsOk());
  EXPECT_EQ(demo->status(), v1::IntegratedAccount::ACTIVE);
  EXPECT_EQ(demo->provider(), "podio");
  EXPECT_EQ(demo->provider_ref_type(), "user");
  EXPECT_EQ(demo->provider_ref_id(), absl::StrCat(kDemoUserId));
  EXPECT_EQ(demo->link_method(), "password");
  EXPECT_FALSE(demo->scope().empty());
  EXPECT_GT(demo->access_token_expires_at().seconds(),
            absl::ToUnixSeconds(absl::Now() + absl::Hours(7)));
  EXPECT_THAT(GetMe(demo->id()), IsOk());

  // Linking the same user again keeps the account's id.
  EXPECT_EQ(env_->LinkPassword("demo@example.com", "demo-password"),
            demo->id());

  grpc::ClientContext c1;
  v1::LinkWithAppTokenRequest app;
  app.set_app_id(1001);
  app.set_app_token("demo-app-token");
  v1::IntegratedAccount linked;
  ASSERT_THAT(Accounts()->LinkWithAppToken(&c1, app, &linked), IsOk());
  EXPECT_EQ(linked.provider_ref_type(), "app");
  EXPECT_EQ(linked.provider_ref_id(), "1001");
  EXPECT_EQ(linked.link_method(), "app");
  EXPECT_NE(linked.id(), demo->id());

  // Refused grants: INVALID_ARGUMENT, and the secret is not echoed.
  grpc::ClientContext c2;
  app.set_app_token("wrong-app-token-xyz");
  grpc::Status refused = Accounts()->LinkWithAppToken(&c2, app, &linked);
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ErrorInfoOf(refused).reason(), "INVALID_GRANT");
  EXPECT_THAT(refused.error_message(), Not(HasSubstr("wrong-app-token")));
  grpc::ClientContext c3;
  v1::LinkWithPasswordRequest bad;
  bad.set_username("demo@example.com");
  bad.set_password("not-the-password-123");
  refused = Accounts()->LinkWithPassword(&c3, bad, &linked);
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ErrorInfoOf(refused).reason(), "INVALID_GRANT");
  EXPECT_THAT(refused.error_message(), Not(HasSubstr("not-the-password")));
  grpc::ClientContext c4;
  bad.clear_password();
  EXPECT_THAT(Accounts()->LinkWithPassword(&c4, bad, &linked),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_P(AccountsTest, CodeFlowThroughTheApiWithASignedSingleUseState) {
  env_->Sim("POST", absl::StrCat("/_sim/consent?user_id=", kRegularUserId));
  grpc::ClientContext c1;
  v1::CreateAuthorizationUrlRequest create;
  create.set_redirect_uri("http://127.0.0.1:9/app/callback");
  v1::CreateAuthorizationUrlResponse url;
  ASSERT_THAT(Accounts()->CreateAuthorizationUrl(&c1, create, &url), IsOk());
  EXPECT_THAT(url.authorization_url(),
              ::testing::StartsWith(env_->sim_url() +
                                    "/oauth/authorize?client_id=demo-client"));
  EXPECT_THAT(url.authorization_url(), Not(HasSubstr("demo-secret")));
  EXPECT_GT(url.expire_time().seconds(), absl::ToUnixSeconds(absl::Now()));

  // The customer's browser: Podio redirects to our app's callback.
  auto [status, location] = Browse(url.authorization_url());
  ASSERT_EQ(status, 302);
  ASSERT_THAT(location,
              ::testing::StartsWith("http://127.0.0.1:9/app/callback?code="));
  const std::string code = PercentDecode(QueryParam(location, "code"));
  const std::string state = PercentDecode(QueryParam(location, "state"));
  EXPECT_EQ(state, url.state());

  // Another tenant cannot complete this tenant's authorization.
  grpc::ClientContext c2;
  v1::CompleteAuthorizationRequest complete;
  complete.set_code(code);
  complete.set_state(state);
  v1::IntegratedAccount account;
  grpc::Status foreign = Accounts(DirectoryEnv::kTenantB)
                             ->CompleteAuthorization(&c2, complete, &account);
  EXPECT_THAT(foreign, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ErrorInfoOf(foreign).reason(), "INVALID_STATE");
  // A forged state is refused before anything else.
  grpc::ClientContext c3;
  v1::CompleteAuthorizationRequest forged = complete;
  forged.set_state(state.substr(0, state.size() - 2) + "xx");
  EXPECT_EQ(
      ErrorInfoOf(Accounts()->CompleteAuthorization(&c3, forged, &account))
          .reason(),
      "INVALID_STATE");

  grpc::ClientContext c4;
  ASSERT_THAT(Accounts()->CompleteAuthorization(&c4, complete, &account),
              IsOk());
  EXPECT_EQ(account.provider_ref_id(), absl::StrCat(kRegularUserId));
  EXPECT_EQ(account.link_method(), "authorization_code");
  // The same user was linked before by password: same account id.
  EXPECT_EQ(account.id(), env_->account("regular"));
  EXPECT_THAT(GetMe(account.id()), IsOk());

  // The state is single-use.
  grpc::ClientContext c5;
  grpc::Status replay =
      Accounts()->CompleteAuthorization(&c5, complete, &account);
  EXPECT_THAT(replay, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ErrorInfoOf(replay).reason(), "INVALID_STATE");
  EXPECT_THAT(replay.error_message(), HasSubstr("already used"));
}

TEST_P(AccountsTest, CodeFlowThroughTheBrowserCallbackAndReauthorization) {
  const std::string demo = env_->account("demo");
  env_->Sim("POST", absl::StrCat("/_sim/consent?user_id=", kDemoUserId));
  grpc::ClientContext c1;
  v1::CreateAuthorizationUrlRequest create;
  create.set_integrated_account_id(demo);  // Re-authorize this account.
  v1::CreateAuthorizationUrlResponse url;
  ASSERT_THAT(Accounts()->CreateAuthorizationUrl(&c1, create, &url), IsOk());
  auto [status, location] = Browse(url.authorization_url());
  ASSERT_EQ(status, 302);
  ASSERT_THAT(location, ::testing::StartsWith(
                            absl::StrCat("http://", env_->server().http_address,
                                         "/oauth/callback?code=")));
  // The browser follows the redirect to the server's side listener.
  auto [page_status, page] = Browse(location);
  EXPECT_EQ(page_status, 200) << page;
  EXPECT_THAT(page, HasSubstr(absl::StrCat("<code id=\"account\">", demo)));
  EXPECT_THAT(page, Not(HasSubstr(QueryParam(location, "code"))));
  absl::StatusOr<v1::IntegratedAccount> after = Get(demo);
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->link_method(), "authorization_code");
  // Reloading the page (a used state) shows an error, not a second link.
  EXPECT_EQ(Browse(location).first, 400);

  // Consent by another user for this account: refused, account unchanged.
  env_->Sim("POST", absl::StrCat("/_sim/consent?user_id=", kRegularUserId));
  grpc::ClientContext c2;
  ASSERT_THAT(Accounts()->CreateAuthorizationUrl(&c2, create, &url), IsOk());
  auto [status2, location2] = Browse(url.authorization_url());
  ASSERT_EQ(status2, 302);
  auto [mismatch_status, mismatch] = Browse(location2);
  EXPECT_EQ(mismatch_status, 502);
  EXPECT_THAT(mismatch, HasSubstr("IDENTITY_MISMATCH"));
  // Denied consent.
  env_->Sim("POST", "/_sim/consent?deny=1");
  grpc::ClientContext c3;
  ASSERT_THAT(Accounts()->CreateAuthorizationUrl(&c3, create, &url), IsOk());
  auto [status3, location3] = Browse(url.authorization_url());
  ASSERT_EQ(status3, 302);
  EXPECT_EQ(Browse(location3).first, 400);
  // Another tenant cannot even start a re-authorization of this account.
  grpc::ClientContext c4;
  EXPECT_THAT(Accounts(DirectoryEnv::kTenantB)
                  ->CreateAuthorizationUrl(&c4, create, &url),
              StatusIs(grpc::StatusCode::NOT_FOUND));
}

TEST_P(AccountsTest, ImportedTokensAreCheckedAndLinked) {
  auto [access, refresh] =
      DirectTokens("regular@example.com", "regular-password");
  ASSERT_FALSE(access.empty());
  grpc::ClientContext c1;
  v1::ImportTokensRequest import;
  import.set_access_token(access);
  import.set_refresh_token(refresh);
  v1::IntegratedAccount account;
  ASSERT_THAT(Accounts()->ImportTokens(&c1, import, &account), IsOk());
  EXPECT_EQ(account.id(), env_->account("regular"));
  EXPECT_EQ(account.link_method(), "import");
  EXPECT_THAT(GetMe(account.id()), IsOk());

  // An expired access token with its refresh token: refreshed, then linked.
  env_->AdvanceSimClock(absl::Hours(9));
  const int64_t position = env_->LogPosition();
  grpc::ClientContext c2;
  ASSERT_THAT(Accounts()->ImportTokens(&c2, import, &account), IsOk());
  EXPECT_EQ(TokenRequestsSince(position), 1);

  // Tokens Podio refuses, without a refresh token: nothing is linked.
  grpc::ClientContext c3;
  import.set_access_token("bogus-access-token-123");
  import.clear_refresh_token();
  grpc::Status refused = Accounts()->ImportTokens(&c3, import, &account);
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_THAT(refused.error_message(), Not(HasSubstr("bogus-access")));

  // Control characters in a token: refused as malformed, before anything is
  // sent (not UNAVAILABLE, which clients would retry forever).
  for (const std::string bad :
       {access + "\r\nX-Injected: 1", access + std::string(1, '\0'),
        std::string("tab\there")}) {
    grpc::ClientContext c4;
    import.set_access_token(bad);
    const int64_t before = env_->LogPosition();
    grpc::Status malformed = Accounts()->ImportTokens(&c4, import, &account);
    EXPECT_THAT(malformed, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_EQ(ErrorInfoOf(malformed).reason(), "MALFORMED_CREDENTIALS");
    EXPECT_TRUE(env_->CallsSince(before).empty());
  }
}

TEST_P(AccountsTest, AnotherTenantSeesNothingInAnyRpc) {
  const std::string a = env_->account("demo");
  auto b = env_->channel(DirectoryEnv::kTenantB);
  auto directory = v1::UserDirectory::NewStub(b);
  auto check = [&](const char* rpc, const grpc::Status& status) {
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::NOT_FOUND)) << rpc;
    EXPECT_EQ(ErrorInfoOf(status).reason(), "INTEGRATED_ACCOUNT_NOT_FOUND")
        << rpc;
  };
  auto ctx = [] { return std::make_unique<grpc::ClientContext>(); };
  using Stub = v1::UserDirectory::Stub;
  // Calls a List RPC and its Stream twin with tenant A's account.
  auto listing = [&](const char* rpc, auto request, auto page, auto list,
                     auto stream) {
    request.set_integrated_account_id(a);
    check(rpc, list(directory.get(), ctx().get(), request, &page));
    auto context = ctx();
    auto reader = stream(directory.get(), context.get(), request);
    while (reader->Read(&page)) ADD_FAILURE() << rpc << " sent a page";
    check(rpc, reader->Finish());
  };
#define UNIFIED_LISTING(Name, Request)                                       \
  listing(                                                                   \
      #Name, v1::Request(), v1::List##Name##Response(),                      \
      [](Stub* s, grpc::ClientContext* c, const v1::Request& r, auto* out) { \
        return s->List##Name(c, r, out);                                     \
      },                                                                     \
      [](Stub* s, grpc::ClientContext* c, const v1::Request& r) {            \
        return s->Stream##Name(c, r);                                        \
      })
  UNIFIED_LISTING(Users, ListUsersRequest);
  UNIFIED_LISTING(Organizations, ListOrganizationsRequest);
  UNIFIED_LISTING(Workspaces, ListWorkspacesRequest);
  UNIFIED_LISTING(RoleAssignments, ListRoleAssignmentsRequest);
#undef UNIFIED_LISTING
  {
    v1::GetMeRequest r;
    r.set_integrated_account_id(a);
    v1::User out;
    check("GetMe", directory->GetMe(ctx().get(), r, &out));
    v1::GetUserRequest u;
    u.set_integrated_account_id(a);
    u.set_user_id(absl::StrCat(kDemoUserId));
    check("GetUser", directory->GetUser(ctx().get(), u, &out));
  }
  {
    v1::GetOrganizationRequest r;
    r.set_integrated_account_id(a);
    r.set_organization_id(absl::StrCat(podio_sim::kFirstOrgId));
    v1::Organization out;
    check("GetOrganization", directory->GetOrganization(ctx().get(), r, &out));
  }
  {
    v1::GetWorkspaceRequest r;
    r.set_integrated_account_id(a);
    r.set_workspace_id(absl::StrCat(podio_sim::kFirstSpaceId));
    v1::Workspace out;
    check("GetWorkspace", directory->GetWorkspace(ctx().get(), r, &out));
  }
  {
    v1::ListRolesRequest r;
    r.set_integrated_account_id(a);
    v1::ListRolesResponse out;
    check("ListRoles", directory->ListRoles(ctx().get(), r, &out));
    v1::GetRoleRequest g;
    g.set_integrated_account_id(a);
    g.set_role_id("admin");
    v1::Role role;
    check("GetRole", directory->GetRole(ctx().get(), g, &role));
  }
  auto accounts = Accounts(DirectoryEnv::kTenantB);
  {
    v1::GetIntegratedAccountRequest r;
    r.set_integrated_account_id(a);
    v1::IntegratedAccount out;
    check("GetIntegratedAccount",
          accounts->GetIntegratedAccount(ctx().get(), r, &out));
    v1::RefreshCredentialsRequest f;
    f.set_integrated_account_id(a);
    check("RefreshCredentials",
          accounts->RefreshCredentials(ctx().get(), f, &out));
    v1::DeleteIntegratedAccountRequest d;
    d.set_integrated_account_id(a);
    v1::DeleteIntegratedAccountResponse deleted;
    check("DeleteIntegratedAccount",
          accounts->DeleteIntegratedAccount(ctx().get(), d, &deleted));
    v1::ListIntegratedAccountsResponse list;
    ASSERT_THAT(accounts->ListIntegratedAccounts(
                    ctx().get(), v1::ListIntegratedAccountsRequest(), &list),
                IsOk());
    EXPECT_EQ(list.result_size(), 0);
  }
  // Tenant A's account is untouched, and A lists both of its accounts, one
  // per page, through a cursor that B cannot use.
  EXPECT_THAT(GetMe(a), IsOk());
  auto mine = Accounts();
  v1::ListIntegratedAccountsRequest page_request;
  page_request.set_limit(1);
  v1::ListIntegratedAccountsResponse page;
  ASSERT_THAT(mine->ListIntegratedAccounts(ctx().get(), page_request, &page),
              IsOk());
  ASSERT_EQ(page.result_size(), 1);
  ASSERT_FALSE(page.next_cursor().empty());
  page_request.set_cursor(page.next_cursor());
  EXPECT_THAT(
      accounts->ListIntegratedAccounts(ctx().get(), page_request, &page),
      StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  ASSERT_THAT(mine->ListIntegratedAccounts(ctx().get(), page_request, &page),
              IsOk());
  EXPECT_EQ(page.result_size(), 1);
  EXPECT_TRUE(page.next_cursor().empty());

  // A cursor of tenant A's listing is refused with tenant B's own account.
  grpc::ClientContext link;
  v1::LinkWithPasswordRequest lp;
  lp.set_username("regular@example.com");
  lp.set_password("regular-password");
  v1::IntegratedAccount b_account;
  ASSERT_THAT(accounts->LinkWithPassword(&link, lp, &b_account), IsOk());
  EXPECT_NE(b_account.id(), env_->account("regular"));
  v1::ListUsersRequest users;
  users.set_integrated_account_id(env_->account("regular"));
  users.set_limit(2);
  v1::ListUsersResponse users_page;
  ASSERT_THAT(v1::UserDirectory::NewStub(env_->channel())
                  ->ListUsers(ctx().get(), users, &users_page),
              IsOk());
  users.set_integrated_account_id(b_account.id());
  users.set_cursor(users_page.next_cursor());
  EXPECT_THAT(directory->ListUsers(ctx().get(), users, &users_page),
              StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
}

TEST_P(AccountsTest, FiftyCallsOnAnExpiredTokenRefreshOnce) {
  const std::string demo = env_->account("demo");
  env_->AdvanceSimClock(absl::Hours(9));  // Podio now calls the token expired.
  const int64_t position = env_->LogPosition();
  for (const grpc::Status& s : ConcurrentGetMe({env_->channel()}, demo, 50)) {
    EXPECT_THAT(s, IsOk());
  }
  EXPECT_EQ(TokenRequestsSince(position), 1);
}

TEST_P(AccountsTest, ExpiryMidStreamResumesAtTheSamePage) {
  env_.reset();
  // Many Podio pages, so that most come after the expiry: a stream reads
  // at most 16 pages ahead of its reader (docs/streaming.md).
  Start({}, /*users=*/20000);
  const std::string demo = env_->account("demo");
  auto stub = v1::UserDirectory::NewStub(env_->channel());
  v1::ListUsersRequest request;
  request.set_integrated_account_id(demo);
  request.set_limit(500);
  std::vector<std::string> expected;
  {
    grpc::ClientContext context;
    auto reader = stub->StreamUsers(&context, request);
    v1::ListUsersResponse page;
    while (reader->Read(&page)) {
      for (const auto& u : page.result()) expected.push_back(u.id());
    }
    ASSERT_THAT(reader->Finish(), IsOk());
  }
  ASSERT_GT(expected.size(), 19000u);
  grpc::ClientContext context;
  auto reader = stub->StreamUsers(&context, request);
  v1::ListUsersResponse page;
  std::vector<std::string> seen;
  const int64_t position = env_->LogPosition();
  for (int n = 0; reader->Read(&page); ++n) {
    for (const auto& u : page.result()) seen.push_back(u.id());
    if (n == 1) env_->AdvanceSimClock(absl::Hours(9));  // Mid-stream expiry.
  }
  ASSERT_THAT(reader->Finish(), IsOk());
  EXPECT_EQ(seen, expected);  // Nothing lost, nothing repeated.
  EXPECT_EQ(TokenRequestsSince(position), 1);
}

TEST_P(AccountsTest, ARefusedRefreshTokenNeedsReauthorization) {
  const std::string demo = env_->account("demo");
  env_->AdvanceSimClock(absl::Hours(24 * 29));  // The refresh token expired.
  grpc::Status status = GetMe(demo);
  EXPECT_THAT(status, StatusIs(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_EQ(ErrorInfoOf(status).reason(), "NEEDS_REAUTH");
  absl::StatusOr<v1::IntegratedAccount> account = Get(demo);
  ASSERT_THAT(account, IsOk());
  EXPECT_EQ(account->status(), v1::IntegratedAccount::NEEDS_REAUTH);
  EXPECT_THAT(account->status_reason(), HasSubstr("invalid_grant"));
  // Later calls answer at once, without asking Podio again.
  const int64_t position = env_->LogPosition();
  EXPECT_EQ(ErrorInfoOf(GetMe(demo)).reason(), "NEEDS_REAUTH");
  EXPECT_TRUE(env_->CallsSince(position, true).empty());
  EXPECT_TRUE(env_->CallsSince(position).empty());
  // Linking again repairs the same account.
  EXPECT_EQ(env_->LinkPassword("demo@example.com", "demo-password"), demo);
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
  EXPECT_THAT(GetMe(demo), IsOk());
}

// A WatchIntegratedAccounts stream read on its own thread.
class AccountWatcher {
 public:
  AccountWatcher(std::shared_ptr<grpc::Channel> channel,
                 const std::string& resume_token)
      : stub_(v1::IntegratedAccounts::NewStub(std::move(channel))) {
    thread_ = std::thread([this, resume_token] {
      v1::WatchIntegratedAccountsRequest request;
      request.set_resume_token(resume_token);
      auto reader = stub_->WatchIntegratedAccounts(&context_, request);
      v1::AccountEvent e;
      while (reader->Read(&e)) {
        absl::MutexLock lock(&mu_);
        events_.push_back(e);
      }
      grpc::Status s = reader->Finish();
      absl::MutexLock lock(&mu_);
      status_ = s;
      done_ = true;
    });
  }
  ~AccountWatcher() {
    context_.TryCancel();
    thread_.join();
  }
  // The first event of `type` after the first `from`, waiting up to
  // `timeout`; nullopt if none came.
  std::optional<v1::AccountEvent> Next(v1::AccountEvent::Type type,
                                       size_t* from, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    // A pure condition (absl may evaluate it more than once).
    auto index = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      size_t i = *from;
      while (i < events_.size() && events_[i].type() != type) ++i;
      return i;
    };
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_ || index() < events_.size();
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    const size_t i = index();
    *from = std::min(i + 1, events_.size());
    if (i == events_.size()) return std::nullopt;
    return events_[i];
  }
  grpc::Status WaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(30));
    return status_;
  }
  std::vector<v1::AccountEvent> Events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  std::unique_ptr<v1::IntegratedAccounts::Stub> stub_;
  grpc::ClientContext context_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<v1::AccountEvent> events_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

TEST_P(AccountsTest, LifecycleEventsFollowAnAccountFromLinkToDeletion) {
  Start({"--watch_heartbeat=1s"});
  const std::string demo = env_->account("demo");
  AccountWatcher watcher(env_->channel(), "");
  size_t at = 0;
  // The first heartbeat: the stream is open at the present.
  std::optional<v1::AccountEvent> beat =
      watcher.Next(v1::AccountEvent::HEARTBEAT, &at, absl::Seconds(30));
  ASSERT_TRUE(beat.has_value());
  // Podio refuses the refresh token (invalid_grant): NEEDS_REAUTH, with the
  // reason, within 5 s.
  env_->AdvanceSimClock(absl::Hours(24 * 29));
  EXPECT_EQ(ErrorInfoOf(GetMe(demo)).reason(), "NEEDS_REAUTH");
  std::optional<v1::AccountEvent> reauth =
      watcher.Next(v1::AccountEvent::NEEDS_REAUTH, &at, absl::Seconds(5));
  ASSERT_TRUE(reauth.has_value());
  EXPECT_EQ(reauth->integrated_account_id(), demo);
  EXPECT_THAT(reauth->reason(), HasSubstr("invalid_grant"));
  EXPECT_EQ(reauth->sequence(), beat->sequence() + 1);
  // Linking again: RELINKED, then RECOVERED.
  EXPECT_EQ(env_->LinkPassword("demo@example.com", "demo-password"), demo);
  std::optional<v1::AccountEvent> relinked =
      watcher.Next(v1::AccountEvent::RELINKED, &at, absl::Seconds(5));
  std::optional<v1::AccountEvent> recovered =
      watcher.Next(v1::AccountEvent::RECOVERED, &at, absl::Seconds(5));
  ASSERT_TRUE(relinked.has_value() && recovered.has_value()) << [&] {
    std::string out;
    for (const auto& e : watcher.Events()) {
      absl::StrAppend(&out, v1::AccountEvent::Type_Name(e.type()), "#",
                      e.sequence(), " ");
    }
    return out;
  }();
  EXPECT_EQ(recovered->integrated_account_id(), demo);
  EXPECT_EQ(recovered->sequence(), relinked->sequence() + 1);
  // Podio's 420 stops the account's identity for 2 s: RATE_LIMITED with the
  // end, then RATE_LIMIT_CLEARED once it has passed.
  env_->AddFault(R"({"method":"GET","path":"/user/status","kind":"rate_limit",)"
                 R"("wait_seconds":2,"times":1})");
  EXPECT_THAT(GetMe(demo), StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  std::optional<v1::AccountEvent> limited =
      watcher.Next(v1::AccountEvent::RATE_LIMITED, &at, absl::Seconds(5));
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->integrated_account_id(), demo);
  absl::Time until;
  std::string error;
  EXPECT_TRUE(
      absl::ParseTime(absl::RFC3339_full, limited->reason(), &until, &error))
      << limited->reason() << ": " << error;
  std::optional<v1::AccountEvent> cleared = watcher.Next(
      v1::AccountEvent::RATE_LIMIT_CLEARED, &at, absl::Seconds(10));
  ASSERT_TRUE(cleared.has_value());
  EXPECT_EQ(cleared->integrated_account_id(), demo);
  EXPECT_EQ(cleared->sequence(), limited->sequence() + 1);
  EXPECT_THAT(GetMe(demo), IsOk());
  // A new account, and its deletion.
  const std::string other = env_->LinkPassword(
      "regular@example.com", "regular-password", DirectoryEnv::kTenantB);
  {
    grpc::ClientContext context;
    v1::DeleteIntegratedAccountRequest request;
    request.set_integrated_account_id(demo);
    v1::DeleteIntegratedAccountResponse response;
    ASSERT_THAT(
        Accounts()->DeleteIntegratedAccount(&context, request, &response),
        IsOk());
  }
  std::optional<v1::AccountEvent> deleted =
      watcher.Next(v1::AccountEvent::DELETED, &at, absl::Seconds(5));
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->integrated_account_id(), demo);
  // Nothing of tenant-b's link came here; every event has the next number.
  std::vector<v1::AccountEvent> events = watcher.Events();
  int64_t last = beat->sequence();
  for (const v1::AccountEvent& e : events) {
    EXPECT_NE(e.integrated_account_id(), other);
    if (e.type() == v1::AccountEvent::HEARTBEAT) continue;
    EXPECT_EQ(e.sequence(), last + 1);
    last = e.sequence();
  }
  // Resuming from NEEDS_REAUTH's token replays exactly what followed it.
  AccountWatcher resumed(env_->channel(), reauth->resume_token());
  size_t from = 0;
  std::optional<v1::AccountEvent> first =
      resumed.Next(v1::AccountEvent::RELINKED, &from, absl::Seconds(5));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(from, 1u);  // Nothing before it.
  EXPECT_EQ(first->sequence(), relinked->sequence());
  // A token of another tenant's stream is refused.
  AccountWatcher foreign(env_->channel(DirectoryEnv::kTenantB),
                         reauth->resume_token());
  grpc::Status refused = foreign.WaitDone();
  EXPECT_THAT(refused, StatusIs(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(ErrorInfoOf(refused).reason(), "INVALID_RESUME_TOKEN");
}

TEST_P(AccountsTest, ALostOrFailedRefreshNeverMarksCredentialsDead) {
  const std::string demo = env_->account("demo");
  env_->AdvanceSimClock(absl::Hours(9));
  // Podio issues new tokens but every answer is lost on the way back (also
  // the transport's one retry of a request on a reused connection).
  env_->AddFault(R"({"method":"POST","path":"/oauth/token","kind":"reset"})");
  int64_t position = env_->LogPosition();
  grpc::Status lost = GetMe(demo);
  EXPECT_THAT(lost, StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_GE(TokenRequestsSince(position), 1);
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
  // Podio's token endpoint failing: still only UNAVAILABLE.
  env_->ClearFaults();
  env_->AddFault(R"({"method":"POST","path":"/oauth/token","kind":"status",
                     "status":503})");
  EXPECT_THAT(GetMe(demo), StatusIs(grpc::StatusCode::UNAVAILABLE));
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
  env_->ClearFaults();
  // The old refresh token still works (Podio does not rotate it).
  EXPECT_THAT(GetMe(demo), IsOk());
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
}

TEST_P(AccountsTest, ARateLimitedRefreshKeepsTheAccountAndAsksNoMore) {
  const std::string demo = env_->account("demo");
  env_->AdvanceSimClock(absl::Hours(9));
  // Podio's token endpoint throttles on its own (the recorded 420).
  env_->AddFault(R"({"method":"POST","path":"/oauth/token",
                     "kind":"rate_limit","wait_seconds":300})");
  const int64_t position = env_->LogPosition();
  grpc::Status limited = GetMe(demo);
  EXPECT_THAT(limited, StatusIs(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(ErrorInfoOf(limited).reason(), "REFRESH_RATE_LIMITED");
  EXPECT_EQ(testing::RetryDelayOf(limited), absl::Seconds(300));
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
  // Until the wait is over no refresh is asked for, however many calls come,
  // and the token Podio refused is not tried again.
  const int64_t held = env_->LogPosition();
  for (int i = 0; i < 5; ++i) {
    grpc::Status again = GetMe(demo);
    EXPECT_EQ(ErrorInfoOf(again).reason(), "REFRESH_RATE_LIMITED");
    EXPECT_LE(testing::RetryDelayOf(again), absl::Seconds(300));
  }
  EXPECT_EQ(TokenRequestsSince(position), 1);
  EXPECT_TRUE(env_->CallsSince(held).empty());
  EXPECT_TRUE(env_->CallsSince(held, true).empty());
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
}

TEST_P(AccountsTest, ACrashBetweenRefreshAndPersistLosesNothingUsable) {
  const std::string demo = env_->account("demo");
  env_->StopServer();
  ASSERT_TRUE(env_->StartServer({"--testing_crash_after_refresh"}));
  env_->AdvanceSimClock(absl::Hours(9));
  EXPECT_THAT(GetMe(demo), StatusIs(grpc::StatusCode::UNAVAILABLE));
  auto exit_code = env_->server().process->Wait(absl::Seconds(30));
  ASSERT_THAT(exit_code, IsOk());
  EXPECT_EQ(*exit_code, 86);  // Died after Podio answered, before persisting.
  ASSERT_TRUE(env_->StartServer());
  EXPECT_THAT(GetMe(demo), IsOk());
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
}

TEST_P(AccountsTest, ProactiveRefreshBeforeExpiryAndForcedRefresh) {
  auto [access, refresh] =
      DirectTokens("regular@example.com", "regular-password");
  grpc::ClientContext c1;
  v1::ImportTokensRequest import;
  import.set_access_token(access);
  import.set_refresh_token(refresh);
  // Expires in one minute: inside the refresh margin.
  import.mutable_access_token_expires_at()->set_seconds(
      absl::ToUnixSeconds(absl::Now() + absl::Minutes(1)));
  v1::IntegratedAccount account;
  ASSERT_THAT(Accounts()->ImportTokens(&c1, import, &account), IsOk());
  int64_t position = env_->LogPosition();
  EXPECT_THAT(GetMe(account.id()), IsOk());
  EXPECT_EQ(TokenRequestsSince(position), 1);
  // Refreshed before use: no call was refused and replayed, so it made the
  // same calls as a GetMe on a fresh token.
  const std::vector<std::string> first = env_->CallsSince(position);
  position = env_->LogPosition();
  EXPECT_THAT(GetMe(account.id()), IsOk());
  EXPECT_EQ(env_->CallsSince(position), first);
  EXPECT_EQ(TokenRequestsSince(position), 0);
  EXPECT_GT(Get(account.id())->access_token_expires_at().seconds(),
            absl::ToUnixSeconds(absl::Now() + absl::Hours(7)));
  position = env_->LogPosition();
  grpc::ClientContext c2;
  v1::RefreshCredentialsRequest force;
  force.set_integrated_account_id(account.id());
  ASSERT_THAT(Accounts()->RefreshCredentials(&c2, force, &account), IsOk());
  EXPECT_EQ(TokenRequestsSince(position), 1);
}

TEST_P(AccountsTest, RestartKeepsAccountsAndNothingStoresOrLogsAToken) {
  auto [access, refresh] = DirectTokens("demo@example.com", "demo-password");
  grpc::ClientContext c1;
  v1::ImportTokensRequest import;
  import.set_access_token(access);
  import.set_refresh_token(refresh);
  v1::IntegratedAccount account;
  ASSERT_THAT(Accounts()->ImportTokens(&c1, import, &account), IsOk());
  ASSERT_EQ(account.id(), env_->account("demo"));
  EXPECT_EQ(env_->StopServer(), 0);
  ASSERT_TRUE(env_->StartServer());
  EXPECT_THAT(GetMe(account.id()), IsOk());
  EXPECT_THAT(GetMe(env_->account("regular")), IsOk());

  // The stored rows hold only sealed text.
  auto store = accounts::CredentialStore::OpenUrl(StoreUrl());
  ASSERT_THAT(store, IsOk());
  auto rows = (*store)->ListAll("", "", 100);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& row : *rows) {
    EXPECT_THAT(row.sealed_access_token, ::testing::StartsWith("v1.k1."));
    EXPECT_THAT(row.sealed_access_token, Not(HasSubstr(access)));
    EXPECT_THAT(row.sealed_refresh_token, Not(HasSubstr(refresh)));
  }
  // Neither the database files nor the servers' logs hold a token.
  std::vector<std::string> files = {env_->log_path()};
  if (GetParam() == "sqlite") {
    files.push_back(env_->files().dir + "/accounts.db");
    files.push_back(env_->files().dir + "/accounts.db-wal");
  }
  for (const std::string& path : files) {
    const std::string bytes = ReadFile(path);
    EXPECT_THAT(bytes, Not(HasSubstr(access))) << path;
    EXPECT_THAT(bytes, Not(HasSubstr(refresh))) << path;
    EXPECT_THAT(bytes, Not(HasSubstr("demo-password"))) << path;
    EXPECT_THAT(bytes, Not(HasSubstr("demo-secret"))) << path;
  }

  // Deleting wipes the row; the id is gone everywhere.
  grpc::ClientContext c2;
  v1::DeleteIntegratedAccountRequest del;
  del.set_integrated_account_id(account.id());
  v1::DeleteIntegratedAccountResponse deleted;
  ASSERT_THAT(Accounts()->DeleteIntegratedAccount(&c2, del, &deleted), IsOk());
  EXPECT_THAT(GetMe(account.id()), StatusIs(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ((*store)->ListAll("", "", 100)->size(), 1u);
}

TEST_P(AccountsTest, KeyRotationRewrapAndWrongKeys) {
  const std::string demo = env_->account("demo");
  const std::string keys = env_->files().keys_file;
  const std::string old_ring = ReadFile(keys);
  // Add k2: the running server keeps reading k1 rows; new writes use k2.
  ASSERT_THAT(testing::WritePrivateFile(
                  keys, old_ring + accounts::NewKeyRingEntry("k2") + "\n"),
              IsOk());
  env_->StopServer();
  ASSERT_TRUE(env_->StartServer());
  EXPECT_THAT(GetMe(demo), IsOk());
  // Rewrap while the server runs.
  auto admin = testing::Subprocess::Start(
      testing::RunfilePath("service/accounts_admin"),
      {"rewrap", "--store=" + StoreUrl(), "--encryption_keys_file=" + keys});
  ASSERT_THAT(admin, IsOk());
  auto line = (*admin)->WaitForLine("rewrapped ", absl::Seconds(60));
  ASSERT_THAT(line, IsOk());
  EXPECT_EQ(*line, "2 accounts with key k2");
  EXPECT_EQ(*(*admin)->Wait(absl::Seconds(30)), 0);
  auto store = accounts::CredentialStore::OpenUrl(StoreUrl());
  ASSERT_THAT(store, IsOk());
  auto rows = (*store)->ListAll("", "", 100);
  ASSERT_THAT(rows, IsOk());
  ASSERT_EQ(rows->size(), 2u);
  for (const auto& row : *rows) {
    EXPECT_EQ(accounts::Sealer::KeyIdOf(row.sealed_access_token), "k2");
    EXPECT_EQ(accounts::Sealer::KeyIdOf(row.sealed_refresh_token), "k2");
  }
  EXPECT_THAT(GetMe(demo), IsOk());  // The running server reads k2 rows.

  // k1 retired: the ring holds only k2 now, and everything still works.
  const std::string k2_only = ReadFile(keys).substr(old_ring.size());
  ASSERT_THAT(testing::WritePrivateFile(keys, k2_only), IsOk());
  env_->StopServer();
  ASSERT_TRUE(env_->StartServer());
  EXPECT_THAT(GetMe(demo), IsOk());

  // A wrong key (same id, other bytes): a clean DATA_LOSS, no crash, no
  // secret in the message, and the account is not marked dead.
  ASSERT_THAT(
      testing::WritePrivateFile(keys, "k2:" + std::string(43, 'A') + "=\n"),
      IsOk());
  env_->StopServer();
  ASSERT_TRUE(env_->StartServer());
  grpc::Status wrong = GetMe(demo);
  EXPECT_THAT(wrong, StatusIs(grpc::StatusCode::DATA_LOSS));
  EXPECT_EQ(ErrorInfoOf(wrong).reason(), "CREDENTIAL_UNREADABLE");
  EXPECT_EQ(Get(demo)->status(), v1::IntegratedAccount::ACTIVE);
}

TEST_P(AccountsTest, TamperedOrSwappedCiphertextsFailCleanly) {
  const std::string demo = env_->account("demo");
  const std::string regular = env_->account("regular");
  env_->StopServer();
  {
    auto store = accounts::CredentialStore::OpenUrl(StoreUrl());
    ASSERT_THAT(store, IsOk());
    accounts::AccountRecord a = *(*store)->Get(DirectoryEnv::kTenantA, demo);
    accounts::AccountRecord b = *(*store)->Get(DirectoryEnv::kTenantA, regular);
    // Swap the two accounts' sealed tokens; flip one byte of another field.
    auto write = [&](const std::string& id, const std::string& access,
                     const std::string& refresh) {
      ASSERT_THAT(
          (*store)->WithLockedAccount(
              DirectoryEnv::kTenantA, id, absl::Seconds(5),
              [&](const accounts::AccountRecord& current)
                  -> absl::StatusOr<std::optional<accounts::AccountRecord>> {
                accounts::AccountRecord next = current;
                next.sealed_access_token = access;
                next.sealed_refresh_token = refresh;
                return next;
              }),
          IsOk());
    };
    write(demo, b.sealed_access_token, b.sealed_refresh_token);
    std::string tampered = a.sealed_access_token;
    tampered[tampered.size() - 3] ^= 1;
    write(regular, tampered, a.sealed_refresh_token);
  }
  ASSERT_TRUE(env_->StartServer());
  for (const std::string& id : {demo, regular}) {
    grpc::Status status = GetMe(id);
    EXPECT_THAT(status, StatusIs(grpc::StatusCode::DATA_LOSS)) << id;
    EXPECT_EQ(ErrorInfoOf(status).reason(), "CREDENTIAL_UNREADABLE");
  }
  // The server is still healthy and a fresh link repairs an account.
  EXPECT_EQ(env_->LinkPassword("demo@example.com", "demo-password"), demo);
  EXPECT_THAT(GetMe(demo), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Stores, AccountsTest,
                         ::testing::Values("sqlite", "postgresql"));

// Two replicas sharing one PostgreSQL: 50 calls spread over both on an
// expired token cause one token request; a peer's fresh token is re-read.
TEST(ReplicaTest, TwoServersOnPostgresRefreshOnce) {
  DirectoryEnvOptions options;
  options.data.users = 50;
  options.data.orgs = 1;
  options.store = accounts::FreshStoreUrl("postgresql");
  ASSERT_FALSE(options.store.empty());
  DirectoryEnv env(options);
  const std::string demo = env.account("demo");
  ASSERT_FALSE(demo.empty());
  testing::ServerProcess replica = env.LaunchServer();
  ASSERT_FALSE(replica.address.empty());
  auto other = env.ChannelTo(replica.address, DirectoryEnv::kTenantA);
  env.AdvanceSimClock(absl::Hours(9));
  const int64_t position = env.LogPosition();
  for (const grpc::Status& s :
       ConcurrentGetMe({env.channel(), other}, demo, 50)) {
    EXPECT_THAT(s, IsOk());
  }
  EXPECT_EQ(env.TokenRequestsSince(position), 1);
}

// Provider behaviours the documents leave open (docs/podio.md): a
// two-factor account's password grant answers a nonce instead of tokens,
// and a provider may rotate refresh tokens.
TEST(ProviderVariantsTest, SecondFactorIsRefusedAndRotatedRefreshTokensKept) {
  DirectoryEnvOptions options;
  options.data.users = 50;
  options.data.orgs = 1;
  options.link_accounts = false;
  options.extra_sim_flags = {"--regular_mfa", "--rotate_refresh_tokens"};
  DirectoryEnv env(options);
  auto accounts = v1::IntegratedAccounts::NewStub(env.channel());
  // The second factor: refused by its own reason, and not to be retried.
  grpc::ClientContext link;
  v1::LinkWithPasswordRequest request;
  request.set_username("regular@example.com");
  request.set_password("regular-password");
  v1::IntegratedAccount refused;
  const grpc::Status mfa = accounts->LinkWithPassword(&link, request, &refused);
  EXPECT_EQ(mfa.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorInfoOf(mfa).reason(), "SECOND_FACTOR_REQUIRED");
  EXPECT_FALSE(testing::RetryDelayOf(mfa).has_value());
  // Rotation: each refresh answers a new refresh token and retires the one
  // used; the account keeps working across two refreshes only if the
  // service keeps what came back.
  const std::string demo =
      env.LinkPassword("demo@example.com", "demo-password");
  ASSERT_FALSE(demo.empty());
  auto directory = v1::UserDirectory::NewStub(env.channel());
  for (int refresh = 0; refresh < 2; ++refresh) {
    env.AdvanceSimClock(absl::Hours(9));  // The access token expired.
    const int64_t position = env.LogPosition();
    grpc::ClientContext context;
    v1::GetMeRequest me;
    me.set_integrated_account_id(demo);
    v1::User user;
    EXPECT_THAT(directory->GetMe(&context, me, &user), IsOk()) << refresh;
    EXPECT_EQ(env.TokenRequestsSince(position), 1) << refresh;
  }
}

}  // namespace
}  // namespace unified
