// The SCIM connector through the real server, side by side with Podio: one
// server process configured with both plug-ins, the Podio simulator and the
// SCIM simulator. SCIM accounts link by bearer token and by client
// credentials; every UserDirectory RPC answers for them and is compared with
// what the SCIM simulator serves; the proxy passes SCIM calls through; and
// WatchDirectory sees a departure from the reconciliation poll (SCIM has no
// webhooks).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/rich_error.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;
using ::unified::testing::DirectoryEnv;
using ::unified::testing::DirectoryEnvOptions;
using ::unified::testing::ErrorInfoOf;
using ::unified::testing::RunfilePath;
using ::unified::testing::Subprocess;

constexpr char kToken[] = "scim-demo-token";

class ScimIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::ScimSimProcess sim = testing::StartScimSim(
        {"--users=30", "--groups=4", "--max_results=8", "--seed=7"});
    ASSERT_FALSE(sim.base.empty());
    scim_ = sim.process.release();
    base_ = new std::string(sim.base);
    DirectoryEnvOptions options;
    options.data.users = 20;
    options.extra_server_flags = {
        "--scim_base_url=" + sim.base, "--scim_token_url=" + sim.token_url,
        // A poll every second, with budget enough to run it that often.
        "--watch_poll_interval=1s", "--watch_poll_share=1",
        "--rate_limit=100000"};
    env_ = new DirectoryEnv(options);
  }
  static void TearDownTestSuite() {
    // Every path the SCIM connector called is one of its route templates.
    EXPECT_THAT(env_->UnlistedRouteLines(), ::testing::IsEmpty());
    delete env_;
    delete scim_;
    delete base_;
  }

  void SetUp() override {
    accounts_ = v1::IntegratedAccounts::NewStub(env_->channel());
    directory_ = v1::UserDirectory::NewStub(env_->channel());
    if (account_.empty()) {
      grpc::ClientContext context;
      v1::ImportTokensRequest request;
      request.set_provider("scim");
      request.set_access_token(kToken);
      v1::IntegratedAccount linked;
      grpc::Status s = accounts_->ImportTokens(&context, request, &linked);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(linked.provider(), "scim");
      EXPECT_EQ(linked.provider_ref_type(), "user");
      EXPECT_EQ(linked.provider_ref_id(), "u-000001");
      account_ = linked.id();
    }
  }

  // What the SCIM simulator serves, read directly: `collection` ids in
  // order, and each group's members.
  static std::vector<std::string> SimIds(
      const std::string& collection,
      std::map<std::string, std::vector<std::string>>* members = nullptr) {
    std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
    std::vector<std::string> ids;
    for (int start = 1;; start += 8) {
      HttpRequest request;
      request.url = absl::StrCat(*base_, "/", collection, "?startIndex=", start,
                                 "&count=8");
      request.headers = {{"Authorization", absl::StrCat("Bearer ", kToken)}};
      absl::StatusOr<HttpResponse> r = http->Send(request);
      EXPECT_TRUE(r.ok());
      if (!r.ok()) break;
      rapidjson::Document doc;
      doc.Parse(r->body.c_str());
      for (const auto& res : doc["Resources"].GetArray()) {
        ids.push_back(res["id"].GetString());
        if (members != nullptr && res.HasMember("members")) {
          for (const auto& m : res["members"].GetArray()) {
            (*members)[ids.back()].push_back(m["value"].GetString());
          }
        }
      }
      if (start + 8 > doc["totalResults"].GetInt()) break;
    }
    return ids;
  }

  std::vector<std::string> ListedUserIds(v1::ListUsersRequest request) {
    std::vector<std::string> ids;
    request.set_integrated_account_id(account_);
    do {
      grpc::ClientContext context;
      v1::ListUsersResponse page;
      grpc::Status s = directory_->ListUsers(&context, request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      for (const v1::User& u : page.result()) ids.push_back(u.id());
      request.set_cursor(page.next_cursor());
    } while (!request.cursor().empty());
    return ids;
  }

  static Subprocess* scim_;
  static std::string* base_;
  static DirectoryEnv* env_;
  static std::string account_;
  std::unique_ptr<v1::IntegratedAccounts::Stub> accounts_;
  std::unique_ptr<v1::UserDirectory::Stub> directory_;
};

Subprocess* ScimIntegrationTest::scim_ = nullptr;
std::string* ScimIntegrationTest::base_ = nullptr;
DirectoryEnv* ScimIntegrationTest::env_ = nullptr;
std::string ScimIntegrationTest::account_;

TEST_F(ScimIntegrationTest, LinksByClientCredentialsAndRefusesOtherGrants) {
  grpc::ClientContext context;
  v1::LinkWithClientCredentialsRequest request;
  request.set_provider("scim");
  request.set_client_id("scim-client");
  request.set_client_secret("scim-secret");
  v1::IntegratedAccount linked;
  grpc::Status s =
      accounts_->LinkWithClientCredentials(&context, request, &linked);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(linked.provider_ref_type(), "client");
  v1::ListUsersRequest list;
  list.set_limit(100);
  std::vector<std::string> ids;
  {
    grpc::ClientContext c;
    list.set_integrated_account_id(linked.id());
    v1::ListUsersResponse page;
    ASSERT_TRUE(directory_->ListUsers(&c, list, &page).ok());
    EXPECT_EQ(page.result_size(), 8);  // The provider's maxResults.
  }
  // An API client has no /Me at the provider.
  {
    grpc::ClientContext c;
    v1::GetMeRequest me;
    me.set_integrated_account_id(linked.id());
    v1::User user;
    grpc::Status refused = directory_->GetMe(&c, me, &user);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(ErrorInfoOf(refused).reason(), "UPSTREAM_REJECTED");
  }
  // A wrong secret is the customer's credential: INVALID_GRANT.
  {
    grpc::ClientContext c;
    request.set_client_secret("wrong");
    grpc::Status refused =
        accounts_->LinkWithClientCredentials(&c, request, &linked);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(ErrorInfoOf(refused).reason(), "INVALID_GRANT");
    EXPECT_EQ(refused.error_message().find("wrong"), std::string::npos);
  }
  // SCIM has no password grant; an unknown provider is named as such.
  for (const char* provider : {"scim", "nope"}) {
    grpc::ClientContext c;
    v1::LinkWithPasswordRequest password;
    password.set_provider(provider);
    password.set_username("a@example.com");
    password.set_password("secret");
    grpc::Status refused = accounts_->LinkWithPassword(&c, password, &linked);
    EXPECT_EQ(ErrorInfoOf(refused).reason(), std::string(provider) == "scim"
                                                 ? "GRANT_NOT_SUPPORTED"
                                                 : "UNKNOWN_PROVIDER");
  }
}

TEST_F(ScimIntegrationTest, EveryDirectoryRpcAnswersForAScimAccount) {
  std::map<std::string, std::vector<std::string>> members;
  const std::vector<std::string> users = SimIds("Users");
  const std::vector<std::string> groups = SimIds("Groups", &members);
  ASSERT_EQ(users.size(), 30u);
  ASSERT_EQ(groups.size(), 4u);

  {
    grpc::ClientContext c;
    v1::GetMeRequest r;
    r.set_integrated_account_id(account_);
    v1::User me;
    ASSERT_TRUE(directory_->GetMe(&c, r, &me).ok());
    EXPECT_EQ(me.id(), users[0]);
  }
  v1::ListUsersRequest list;
  list.set_limit(7);
  EXPECT_THAT(ListedUserIds(list), ElementsAreArray(users));
  {
    grpc::ClientContext c;
    list.set_integrated_account_id(account_);
    list.set_limit(5);
    std::vector<std::string> streamed;
    auto reader = directory_->StreamUsers(&c, list);
    v1::ListUsersResponse page;
    while (reader->Read(&page)) {
      for (const v1::User& u : page.result()) streamed.push_back(u.id());
    }
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_THAT(streamed, ElementsAreArray(users));
  }
  v1::ListUsersRequest in_group;
  in_group.set_workspace_id(groups[2]);
  EXPECT_THAT(ListedUserIds(in_group),
              UnorderedElementsAreArray(members[groups[2]]));
  {
    grpc::ClientContext c;
    v1::GetUserRequest r;
    r.set_integrated_account_id(account_);
    r.set_user_id(users[4]);
    v1::User user;
    ASSERT_TRUE(directory_->GetUser(&c, r, &user).ok());
    v1::ListUsersRequest by_email;
    by_email.set_email(user.emails(0).email());
    EXPECT_THAT(ListedUserIds(by_email), ElementsAreArray({users[4]}));
  }
  {
    grpc::ClientContext c;
    v1::ListOrganizationsRequest r;
    r.set_integrated_account_id(account_);
    v1::ListOrganizationsResponse orgs;
    ASSERT_TRUE(directory_->ListOrganizations(&c, r, &orgs).ok());
    ASSERT_EQ(orgs.result_size(), 1);
    EXPECT_EQ(orgs.result(0).member_count(), 30);
    grpc::ClientContext c2;
    v1::GetOrganizationRequest g;
    g.set_integrated_account_id(account_);
    g.set_organization_id(orgs.result(0).id());
    v1::Organization org;
    ASSERT_TRUE(directory_->GetOrganization(&c2, g, &org).ok());
    EXPECT_EQ(org.name(), "SCIM directory");
  }
  {
    std::vector<std::string> listed;
    v1::ListWorkspacesRequest r;
    r.set_integrated_account_id(account_);
    r.set_limit(3);
    do {
      grpc::ClientContext c;
      v1::ListWorkspacesResponse page;
      ASSERT_TRUE(directory_->ListWorkspaces(&c, r, &page).ok());
      for (const auto& w : page.result()) listed.push_back(w.id());
      r.set_cursor(page.next_cursor());
    } while (!r.cursor().empty());
    EXPECT_THAT(listed, ElementsAreArray(groups));
    grpc::ClientContext c;
    v1::GetWorkspaceRequest g;
    g.set_integrated_account_id(account_);
    g.set_workspace_id(groups[0]);
    v1::Workspace ws;
    ASSERT_TRUE(directory_->GetWorkspace(&c, g, &ws).ok());
    EXPECT_EQ(ws.member_count(),
              static_cast<int64_t>(members[groups[0]].size()));
  }
  {
    grpc::ClientContext c;
    v1::ListRolesRequest r;
    r.set_integrated_account_id(account_);
    v1::ListRolesResponse roles;
    ASSERT_TRUE(directory_->ListRoles(&c, r, &roles).ok());
    EXPECT_EQ(roles.result_size(), 3);
  }
  {
    size_t want = users.size() + 1;  // Every member, and one admin.
    for (const auto& [group, ids] : members) want += ids.size();
    std::set<std::string> listed;
    v1::ListRoleAssignmentsRequest r;
    r.set_integrated_account_id(account_);
    r.set_limit(4);
    do {
      grpc::ClientContext c;
      v1::ListRoleAssignmentsResponse page;
      ASSERT_TRUE(directory_->ListRoleAssignments(&c, r, &page).ok());
      for (const auto& a : page.result()) listed.insert(a.id());
      r.set_cursor(page.next_cursor());
    } while (!r.cursor().empty());
    EXPECT_EQ(listed.size(), want);
    grpc::ClientContext c;
    r.set_cursor("");
    r.set_limit(6);
    size_t streamed = 0;
    auto reader = directory_->StreamRoleAssignments(&c, r);
    v1::ListRoleAssignmentsResponse page;
    while (reader->Read(&page)) streamed += page.result_size();
    ASSERT_TRUE(reader->Finish().ok());
    EXPECT_EQ(streamed, want);
  }
  // The Podio account of the same server is served as before.
  {
    grpc::ClientContext c;
    v1::GetMeRequest r;
    r.set_integrated_account_id(env_->account("demo"));
    v1::User me;
    ASSERT_TRUE(directory_->GetMe(&c, r, &me).ok());
    EXPECT_FALSE(me.id().empty());
  }
}

// total_size is the provider's totalResults, on every page, matching what
// the pages hold; where the service filters rows itself it is left unset.
TEST_F(ScimIntegrationTest, TotalsAreTheProvidersCountWhereItHolds) {
  std::map<std::string, std::vector<std::string>> members;
  SimIds("Users");
  const std::vector<std::string> groups = SimIds("Groups", &members);
  // Every page of the listing: the users listed and each page's total
  // (-1: none).
  auto list = [&](v1::ListUsersRequest request) {
    std::pair<size_t, std::set<int64_t>> seen;
    request.set_integrated_account_id(account_);
    request.set_limit(7);
    do {
      grpc::ClientContext context;
      v1::ListUsersResponse page;
      grpc::Status s = directory_->ListUsers(&context, request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      seen.first += page.result_size();
      seen.second.insert(page.has_total_size() ? page.total_size() : -1);
      request.set_cursor(page.next_cursor());
    } while (!request.cursor().empty());
    return seen;
  };
  using Seen = std::pair<size_t, std::set<int64_t>>;
  EXPECT_EQ(list(v1::ListUsersRequest()), Seen(30, {30}));
  v1::ListUsersRequest in_group;
  in_group.set_workspace_id(groups[2]);
  const int64_t group_size = static_cast<int64_t>(members[groups[2]].size());
  EXPECT_EQ(list(in_group), Seen(group_size, {group_size}));
  v1::ListUsersRequest inactive;
  inactive.set_status(v1::USER_STATUS_INVITED);
  EXPECT_EQ(list(inactive), Seen(0, {0}));
  // The search is the service's own filter: the provider's count would be
  // wrong, so there is none.
  v1::ListUsersRequest searched;
  searched.set_query("a");
  EXPECT_EQ(list(searched).second, std::set<int64_t>{-1});
  v1::ListUsersRequest admins;
  admins.set_role("organization.admin");
  EXPECT_EQ(list(admins), Seen(1, {-1}));

  grpc::ClientContext c1;
  v1::ListWorkspacesRequest workspaces;
  workspaces.set_integrated_account_id(account_);
  workspaces.set_limit(3);
  v1::ListWorkspacesResponse ws_page;
  ASSERT_TRUE(directory_->ListWorkspaces(&c1, workspaces, &ws_page).ok());
  ASSERT_TRUE(ws_page.has_total_size());
  EXPECT_EQ(ws_page.total_size(), static_cast<int64_t>(groups.size()));
  grpc::ClientContext c2;
  v1::ListOrganizationsRequest orgs;
  orgs.set_integrated_account_id(account_);
  v1::ListOrganizationsResponse org_page;
  ASSERT_TRUE(directory_->ListOrganizations(&c2, orgs, &org_page).ok());
  ASSERT_TRUE(org_page.has_total_size());
  EXPECT_EQ(org_page.total_size(), 1);
}

TEST_F(ScimIntegrationTest, ProxyChangeIsSeenByTheWatchPoll) {
  std::map<std::string, std::vector<std::string>> members;
  const std::vector<std::string> groups = SimIds("Groups", &members);
  const std::string group = groups[1];
  ASSERT_FALSE(members[group].empty());
  const std::string leaving = members[group].back();

  grpc::ClientContext watch_context;
  watch_context.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Minutes(1)));
  v1::WatchDirectoryRequest watch;
  watch.set_integrated_account_id(account_);
  watch.set_include_snapshot(true);
  auto reader = directory_->WatchDirectory(&watch_context, watch);
  v1::DirectoryEvent event;
  size_t snapshot_members = 0;
  while (reader->Read(&event) &&
         event.type() != v1::DirectoryEvent::SNAPSHOT_COMPLETE) {
    if (event.type() == v1::DirectoryEvent::MEMBER_ADDED) ++snapshot_members;
  }
  ASSERT_EQ(event.type(), v1::DirectoryEvent::SNAPSHOT_COMPLETE);
  size_t all_members = 0;
  for (const auto& [g, ids] : members) all_members += ids.size();
  EXPECT_EQ(snapshot_members, all_members);

  // The departure, sent through the proxy as a SCIM PATCH.
  auto proxy = v1::Proxy::NewStub(env_->channel());
  grpc::ClientContext c;
  v1::ProxyRequest call;
  call.set_integrated_account_id(account_);
  call.set_method("PATCH");
  call.set_path("/Groups/" + group);
  auto* type = call.add_headers();
  type->set_name("Content-Type");
  type->set_value("application/scim+json");
  call.set_body(absl::StrCat(
      R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],)",
      R"("Operations":[{"op":"remove","path":"members[value eq \")", leaving,
      R"(\"]"}]})"));
  v1::ProxyResponse answer;
  grpc::Status s = proxy->Call(&c, call, &answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(answer.status(), 204) << answer.body();

  // The poll (every second here) finds it.
  bool seen = false;
  while (!seen && reader->Read(&event)) {
    seen = event.type() == v1::DirectoryEvent::MEMBER_REMOVED &&
           event.user().id() == leaving && event.workspace().id() == group;
    if (event.type() != v1::DirectoryEvent::HEARTBEAT) {
      EXPECT_EQ(event.source(), v1::DirectoryEvent::SOURCE_POLL);
    }
  }
  EXPECT_TRUE(seen);
  watch_context.TryCancel();
  (void)reader->Finish();
}

// A token imported without a refresh token is not disabled by one 401: the
// provider may answer so once by mistake. The token is checked on /Me, which
// accepts it, and the call goes on; the account stays active.
TEST_F(ScimIntegrationTest, OneSpurious401DoesNotDisableAnImportedToken) {
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  HttpRequest fault;
  fault.method = "POST";
  fault.url = absl::StrCat(base_->substr(0, base_->rfind("/scim/v2")),
                           "/_sim/faults?status=401&count=1");
  absl::StatusOr<HttpResponse> injected = http->Send(fault);
  ASSERT_TRUE(injected.ok() && injected->status == 200);
  grpc::ClientContext context;
  v1::GetUserRequest get;
  get.set_integrated_account_id(account_);
  get.set_user_id("u-000002");
  v1::User user;
  grpc::Status s = directory_->GetUser(&context, get, &user);
  EXPECT_TRUE(s.ok()) << s.error_message();
  grpc::ClientContext c;
  v1::GetIntegratedAccountRequest request;
  request.set_integrated_account_id(account_);
  v1::IntegratedAccount account;
  ASSERT_TRUE(accounts_->GetIntegratedAccount(&c, request, &account).ok());
  EXPECT_EQ(account.status(), v1::IntegratedAccount::ACTIVE)
      << account.status_reason();
}

}  // namespace
}  // namespace unified
