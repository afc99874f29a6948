// The SCIM connector against the SCIM simulator over loopback: every
// listing paged to the end equals the simulator's directory, filters are
// the provider's, and the shared pipeline's policies hold for SCIM (429
// stops the identity, a 401 renews a client credentials token once, a 503
// is retried).
#include "connectors/scim/scim_connector.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/clock.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/rate_budget.h"
#include "connectors/scim/scim_auth.h"
#include "connectors/scim/scim_mappers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/testing/fixed_token.h"
#include "tests/testing/status_matchers.h"
#include "tools/scim_sim/scim_sim.h"

namespace unified::scim {
namespace {

using ::testing::ElementsAreArray;
using ::testing::UnorderedElementsAreArray;
using ::unified::testing::FixedToken;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

std::string Reason(const absl::Status& s) {
  auto info = GetErrorInfo(s);
  return info ? info->reason() : "";
}

// Client credentials tokens, renewed by the SCIM auth scheme.
class GrantedTokens final : public TokenSource {
 public:
  explicit GrantedTokens(ProviderAuth* auth) : auth_(auth) {}
  absl::StatusOr<std::string> AccessToken(absl::Time deadline) override {
    if (grant_.access_token.empty()) {
      absl::StatusOr<Grant> g =
          auth_->ClientCredentialsGrant("scim-client", "scim-secret", deadline);
      if (!g.ok()) return g.status();
      grant_ = *g;
    }
    return grant_.access_token;
  }
  absl::StatusOr<std::string> Refresh(const std::string&,
                                      absl::Time deadline) override {
    ++refreshes;
    absl::StatusOr<Grant> g = auth_->Refresh(grant_.refresh_token, deadline);
    if (!g.ok()) return g.status();
    grant_ = *g;
    return grant_.access_token;
  }
  int refreshes = 0;

 private:
  ProviderAuth* const auth_;
  Grant grant_;
};

class ScimConnectorTest : public ::testing::Test {
 protected:
  void Start(scim_sim::ScimSimOptions options) {
    auto sim = scim_sim::ScimSimulator::Start(options);
    ASSERT_THAT(sim.status(), IsOk());
    sim_ = std::move(*sim);
    RequestPipelineOptions pipeline_options;
    pipeline_options.api_base = sim_->base_url();
    pipeline_options.accept = "application/scim+json";
    pipeline_options.initial_backoff = absl::Milliseconds(1);
    pipeline_ = std::make_unique<RequestPipeline>(http_.get(), RealClock::Get(),
                                                  &protocol_, pipeline_options);
    connector_ = NewScimConnector(pipeline_.get());
    ScimAuthOptions auth_options;
    auth_options.api_base = sim_->base_url();
    auth_options.token_url = sim_->token_url();
    auth_ = NewScimAuth(http_.get(), RealClock::Get(), auth_options);
    ctx_.deadline = absl::Now() + absl::Minutes(1);
    ctx_.tokens = &demo_token_;
  }

  void SetUp() override {
    scim_sim::ScimSimOptions options;
    options.users = 30;
    options.groups = 4;
    options.max_results = 8;  // Caps every page the connector asks for.
    Start(options);
  }

  std::vector<v1::User> AllUsers(const UserFilter& filter, int limit,
                                 int* pages = nullptr) {
    std::vector<v1::User> out;
    PageRequest page;
    page.limit = limit;
    do {
      absl::StatusOr<Page<v1::User>> p =
          connector_->ListUsers(ctx_, filter, page);
      EXPECT_THAT(p.status(), IsOk());
      if (!p.ok()) break;
      EXPECT_LE(static_cast<int>(p->items.size()), limit);
      out.insert(out.end(), p->items.begin(), p->items.end());
      page.page_token = p->next_page_token;
      if (pages != nullptr) ++*pages;
    } while (!page.page_token.empty());
    return out;
  }

  // The e-mail, workspace, status and role filters give exactly their
  // users.
  void ExpectFiltersHold() {
    const std::vector<scim_sim::SimUser> users = sim_->Users();
    UserFilter by_email;
    by_email.email = absl::AsciiStrToUpper(users[3].email);
    EXPECT_THAT(Ids(AllUsers(by_email, 10)), ElementsAreArray({users[3].id}));

    const scim_sim::SimGroup group = sim_->Groups()[1];
    UserFilter by_group;
    by_group.workspace_id = group.id;
    EXPECT_THAT(Ids(AllUsers(by_group, 3)),
                UnorderedElementsAreArray(group.members));
    by_group.role_id = "workspace.member";
    EXPECT_EQ(AllUsers(by_group, 3).size(), group.members.size());

    std::vector<std::string> active;
    for (const auto& u : users) {
      if (u.active) active.push_back(u.id);
    }
    ASSERT_LT(active.size(), users.size());  // The seed has inactive users.
    UserFilter by_status;
    by_status.status = v1::USER_STATUS_ACTIVE;
    EXPECT_THAT(Ids(AllUsers(by_status, 10)), ElementsAreArray(active));
    by_status.status = v1::USER_STATUS_INVITED;
    EXPECT_TRUE(AllUsers(by_status, 10).empty());

    UserFilter admins;
    admins.role_id = "organization.admin";
    EXPECT_THAT(Ids(AllUsers(admins, 10)), ElementsAreArray({users[0].id}));
  }

  static std::vector<std::string> Ids(const std::vector<v1::User>& users) {
    std::vector<std::string> ids;
    for (const v1::User& u : users) ids.push_back(u.id());
    return ids;
  }

  // Destroyed last: the client's kept-alive connections close first.
  std::unique_ptr<scim_sim::ScimSimulator> sim_;
  std::unique_ptr<HttpClient> http_ = NewCurlHttpClient({});
  ScimProtocol protocol_;
  std::unique_ptr<RequestPipeline> pipeline_;
  std::unique_ptr<DirectoryConnector> connector_;
  std::unique_ptr<ProviderAuth> auth_;
  FixedToken demo_token_{"scim-demo-token"};
  CallContext ctx_;
};

TEST_F(ScimConnectorTest, UsersPagedToTheEndAreTheDirectory) {
  std::vector<std::string> want;
  for (const scim_sim::SimUser& u : sim_->Users()) want.push_back(u.id);
  int pages = 0;
  // 20 per page asked, 8 answered (maxResults): the next page starts at
  // the last record that came (connectors/common/overlap.h), so nothing is
  // skipped: 8 + 7 + 7 + 7 + 1 of the 30.
  EXPECT_THAT(Ids(AllUsers({}, 20, &pages)), ElementsAreArray(want));
  EXPECT_EQ(pages, 5);
  EXPECT_THAT(Ids(AllUsers({}, 7)), ElementsAreArray(want));
}

TEST_F(ScimConnectorTest, FiltersAreSentToTheProvider) { ExpectFiltersHold(); }

// A provider that accepts a filter and ignores it answers every user: the
// connector checks each resource against the filter it sent, and drops the
// provider's total, which counted them all.
TEST_F(ScimConnectorTest, AFilterTheProviderIgnoredIsAppliedHere) {
  scim_sim::ScimSimOptions options;
  options.users = 30;
  options.groups = 4;
  options.max_results = 8;
  options.ignore_filter = true;
  Start(options);
  ExpectFiltersHold();
  UserFilter by_email;
  by_email.email = sim_->Users()[3].email;
  PageRequest page;
  page.limit = 10;
  absl::StatusOr<Page<v1::User>> first =
      connector_->ListUsers(ctx_, by_email, page);
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_FALSE(first->total_size.has_value());
}

TEST_F(ScimConnectorTest, ASearchIsAppliedToEveryPageTheProviderReturns) {
  const std::vector<scim_sim::SimUser> users = sim_->Users();
  // A part of one user's e-mail: SCIM providers need not support `co`, so
  // the connector filters what the unfiltered pages hold.
  const std::string part = users[5].email.substr(1, 5);
  std::vector<std::string> want;
  for (const scim_sim::SimUser& u : users) {
    const std::string name =
        absl::AsciiStrToLower(absl::StrCat(u.given_name, " ", u.family_name));
    if (absl::StrContains(absl::AsciiStrToLower(u.email), part) ||
        absl::StrContains(name, part)) {
      want.push_back(u.id);
    }
  }
  UserFilter search;
  search.query = part;
  EXPECT_THAT(Ids(AllUsers(search, 3)), ElementsAreArray(want));
}

TEST_F(ScimConnectorTest, RefusesWhatCannotBeAsked) {
  PageRequest page;
  UserFilter f;
  f.role_id = "workspace.member";
  EXPECT_EQ(Reason(connector_->ListUsers(ctx_, f, page).status()),
            "ROLE_NEEDS_WORKSPACE");
  f.role_id = "workspace.admin";
  EXPECT_EQ(Reason(connector_->ListUsers(ctx_, f, page).status()),
            "UNKNOWN_ROLE");
  f = {};
  f.organization_id = "42";
  EXPECT_THAT(connector_->ListUsers(ctx_, f, page).status(),
              StatusIs(absl::StatusCode::kNotFound));
  f = {};
  f.workspace_id = "g-9999";
  EXPECT_THAT(connector_->ListUsers(ctx_, f, page).status(),
              StatusIs(absl::StatusCode::kNotFound));
  f.workspace_id = "../Users";
  EXPECT_EQ(Reason(connector_->ListUsers(ctx_, f, page).status()),
            "INVALID_ID");
  page.page_token = "w1:1:0";  // A workspace listing's token.
  EXPECT_EQ(Reason(connector_->ListUsers(ctx_, {}, page).status()),
            "INVALID_CURSOR");
  EXPECT_THAT(connector_->GetUser(ctx_, "u-nobody", {}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ScimConnectorTest, ReadsMeOrganizationAndWorkspaces) {
  const std::vector<scim_sim::SimUser> users = sim_->Users();
  absl::StatusOr<v1::User> me = connector_->GetMe(ctx_, false);
  ASSERT_THAT(me.status(), IsOk());
  EXPECT_EQ(me->id(), users[0].id);
  EXPECT_EQ(me->emails(0).email(), users[0].email);

  absl::StatusOr<Page<v1::Organization>> orgs =
      connector_->ListOrganizations(ctx_, {});
  ASSERT_THAT(orgs.status(), IsOk());
  ASSERT_EQ(orgs->items.size(), 1u);
  EXPECT_EQ(orgs->items[0].id(), kOrganizationId);
  EXPECT_EQ(orgs->items[0].member_count(), static_cast<int64_t>(users.size()));

  std::vector<std::string> groups;
  for (const auto& g : sim_->Groups()) groups.push_back(g.id);
  std::vector<std::string> listed;
  PageRequest page;
  page.limit = 1;
  do {
    absl::StatusOr<Page<v1::Workspace>> p =
        connector_->ListWorkspaces(ctx_, kOrganizationId, page);
    ASSERT_THAT(p.status(), IsOk());
    for (const auto& w : p->items) listed.push_back(w.id());
    page.page_token = p->next_page_token;
  } while (!page.page_token.empty());
  EXPECT_THAT(listed, ElementsAreArray(groups));
  absl::StatusOr<v1::Workspace> ws =
      connector_->GetWorkspace(ctx_, groups[0], true);
  ASSERT_THAT(ws.status(), IsOk());
  EXPECT_EQ(ws->member_count(),
            static_cast<int64_t>(sim_->Groups()[0].members.size()));
  EXPECT_TRUE(ws->remote_data().fields().contains("displayName"));
}

TEST_F(ScimConnectorTest, RoleAssignmentsPagedToTheEndAreComplete) {
  std::multiset<std::string> want;
  const std::vector<scim_sim::SimUser> users = sim_->Users();
  for (const auto& u : users) {
    want.insert(u.id + "/organization.member/directory");
    if (u.id == users[0].id)
      want.insert(u.id + "/organization.admin/directory");
  }
  for (const auto& g : sim_->Groups()) {
    for (const auto& m : g.members) {
      want.insert(m + "/workspace.member/" + g.id);
    }
  }
  // Pages of 3 cut through users' assignments: resuming inside a user
  // must neither repeat nor lose one.
  std::multiset<std::string> got;
  PageRequest page;
  page.limit = 3;
  do {
    absl::StatusOr<Page<v1::RoleAssignment>> p =
        connector_->ListRoleAssignments(ctx_, {}, page);
    ASSERT_THAT(p.status(), IsOk());
    EXPECT_LE(p->items.size(), 3u);
    for (const auto& a : p->items) got.insert(a.id());
    page.page_token = p->next_page_token;
  } while (!page.page_token.empty());
  EXPECT_EQ(got, want);

  RoleAssignmentFilter one;
  one.user_id = users[0].id;
  absl::StatusOr<Page<v1::RoleAssignment>> mine =
      connector_->ListRoleAssignments(ctx_, one, {});
  ASSERT_THAT(mine.status(), IsOk());
  EXPECT_GE(mine->items.size(), 3u);  // Member, admin, and a group.
}

TEST_F(ScimConnectorTest, RateLimitStopsTheIdentityForRetryAfter) {
  scim_sim::ScimSimOptions options;
  options.rate_limit = 3;
  Start(options);
  RateBudgetOptions budget_options;
  std::unique_ptr<RateLedger> ledger = NewMemoryRateLedger(budget_options);
  RateBudget budget(ledger.get(), RealClock::Get(), budget_options);
  ctx_.budget = &budget;
  ctx_.budget_key = "scim:user:u-000001/customer";
  ctx_.deadline = absl::Now() + absl::Seconds(5);
  // Three reads spend the limit; the fourth is refused by the provider.
  for (const char* id : {"u-000001", "u-000002", "u-000003"}) {
    ASSERT_THAT(connector_->GetUser(ctx_, id, {}).status(), IsOk());
  }
  absl::Status limited = connector_->GetUser(ctx_, "u-000004", {}).status();
  EXPECT_EQ(sim_->requests(), 4);
  EXPECT_THAT(limited, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(Reason(limited), "UPSTREAM_RATE_LIMITED");
  ASSERT_TRUE(GetRetryDelay(limited).has_value());
  absl::StatusOr<BudgetState> state = budget.State(ctx_.budget_key);
  ASSERT_THAT(state.status(), IsOk());
  EXPECT_GT(state->blocked_until, absl::Now() + absl::Minutes(59));
  // Stopped: refused here, the provider is not asked again.
  const int64_t asked = sim_->requests();
  EXPECT_THAT(connector_->GetUser(ctx_, "u-000001", {}).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(sim_->requests(), asked);
}

TEST_F(ScimConnectorTest, ClientCredentialsRenewOnceWhenRejected) {
  GrantedTokens tokens(auth_.get());
  ctx_.tokens = &tokens;
  ASSERT_THAT(connector_->GetUser(ctx_, "u-000001", {}).status(), IsOk());
  HttpRequest expire;
  expire.method = "POST";
  expire.url =
      absl::StrCat("http://127.0.0.1:", sim_->port(), "/_sim/expire_tokens");
  ASSERT_EQ(http_->Send(expire)->status, 200);
  ASSERT_THAT(connector_->GetUser(ctx_, "u-000002", {}).status(), IsOk());
  EXPECT_EQ(tokens.refreshes, 1);
  // An API client has no /Me.
  EXPECT_EQ(Reason(connector_->GetMe(ctx_, false).status()),
            "UPSTREAM_REJECTED");
  // A wrong secret is the customer's credential, refused as a grant.
  EXPECT_EQ(Reason(auth_
                       ->ClientCredentialsGrant("scim-client", "wrong",
                                                absl::Now() + absl::Seconds(5))
                       .status()),
            "INVALID_GRANT");
  EXPECT_EQ(
      AuthRefusalOf(auth_
                        ->ClientCredentialsGrant("scim-client", "wrong",
                                                 absl::Now() + absl::Seconds(5))
                        .status()),
      AuthRefusal::kGrantRefused);
  // An imported bearer token cannot be renewed here.
  absl::Status renewed =
      auth_->Refresh("opaque", absl::Now() + absl::Seconds(5)).status();
  EXPECT_EQ(Reason(renewed), "INVALID_GRANT");
  EXPECT_EQ(AuthRefusalOf(renewed), AuthRefusal::kGrantRefused);
  EXPECT_EQ(Reason(auth_->PasswordGrant("a", "b", absl::Now()).status()),
            "GRANT_NOT_SUPPORTED");
}

TEST_F(ScimConnectorTest, ServerErrorsAreRetriedAndProxyPassesThrough) {
  HttpRequest fault;
  fault.method = "POST";
  fault.url = absl::StrCat("http://127.0.0.1:", sim_->port(),
                           "/_sim/faults?status=503&count=1");
  ASSERT_EQ(http_->Send(fault)->status, 200);
  EXPECT_THAT(connector_->GetUser(ctx_, "u-000001", {}).status(), IsOk());

  HttpRequest patch;
  patch.method = "PATCH";
  const std::string group = sim_->Groups()[0].id;
  patch.url = "/Groups/" + group;
  patch.headers = {{"Content-Type", "application/scim+json"}};
  patch.body = absl::StrCat(
      R"({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],)",
      R"("Operations":[{"op":"remove","path":"members[value eq \"u-000001\"]"}]})");
  absl::StatusOr<HttpResponse> answer =
      connector_->Proxy(ctx_, patch, /*retry=*/false);
  ASSERT_THAT(answer.status(), IsOk());
  EXPECT_EQ(answer->status, 204) << answer->body;
  const auto members = sim_->Groups()[0].members;
  EXPECT_EQ(std::count(members.begin(), members.end(), "u-000001"), 0);
}

// A provider that ignores startIndex (and echoes it back) answers the first
// page again and again: a walk must not end OK with those repeated. Both
// the paged walk and the stream refuse it, by reason.
TEST_F(ScimConnectorTest, AProviderIgnoringStartIndexIsRefusedNotRepeated) {
  scim_sim::ScimSimOptions options;
  options.users = 30;
  options.max_results = 8;
  options.ignore_start_index = true;
  Start(options);
  PageRequest page;
  page.limit = 8;
  absl::StatusOr<Page<v1::User>> first =
      connector_->ListUsers(ctx_, UserFilter(), page);
  ASSERT_THAT(first.status(), IsOk());
  ASSERT_FALSE(first->next_page_token.empty());
  page.page_token = first->next_page_token;
  EXPECT_EQ(Reason(connector_->ListUsers(ctx_, UserFilter(), page).status()),
            "UPSTREAM_PAGING_IGNORED");
  page.page_token.clear();
  std::unique_ptr<PageIterator<v1::User>> pages =
      connector_->IterateUsers(ctx_, UserFilter(), page);
  Page<v1::User> p;
  int read = 0;
  while (pages->Next(&p)) read += static_cast<int>(p.items.size());
  EXPECT_EQ(read, 8);  // The first page, once.
  EXPECT_THAT(pages->status(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Reason(pages->status()), "UPSTREAM_PAGING_IGNORED");
}

// A provider without /Me answers 404 to any token: a token is then tried on
// a read that needs one before it links, so a bogus token is refused.
TEST_F(ScimConnectorTest, WithoutMeATokenIsCheckedOnAListing) {
  scim_sim::ScimSimOptions options;
  options.no_me_route = true;
  Start(options);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::StatusOr<Grant> good = auth_->Identify("scim-demo-token", deadline);
  ASSERT_THAT(good.status(), IsOk());
  EXPECT_EQ(good->ref_type, "token");
  absl::Status rejected = auth_->Identify("not-a-token", deadline).status();
  EXPECT_EQ(Reason(rejected), "CREDENTIALS_REJECTED");
  EXPECT_EQ(AuthRefusalOf(rejected), AuthRefusal::kCredentialsRejected);
}

// A provider whose users carry no `groups` attribute, and that refuses a
// filter on it (SCIMMY is one): a workspace's members come from the
// group's `members`, every user page read and only they kept; a user's
// workspaces from the groups that name them; role assignments likewise.
TEST_F(ScimConnectorTest, WithoutAGroupsAttributeMembershipComesFromGroups) {
  scim_sim::ScimSimOptions options;
  options.users = 30;
  options.groups = 4;
  options.max_results = 8;
  options.no_groups_attribute = true;
  Start(options);
  for (const scim_sim::SimGroup& g : sim_->Groups()) {
    const std::set<std::string> want(g.members.begin(), g.members.end());
    UserFilter filter;
    filter.workspace_id = g.id;
    std::set<std::string> got;
    for (const v1::User& u : AllUsers(filter, 5)) {
      got.insert(u.id());
      ASSERT_EQ(u.workspaces_size(), 1) << u.id();
      EXPECT_EQ(u.workspaces(0).id(), g.id);
      EXPECT_EQ(u.workspaces(0).name(), g.display_name);
    }
    EXPECT_EQ(got, want) << g.id;
    RoleAssignmentFilter assignments;
    assignments.workspace_id = g.id;
    PageRequest page;
    page.limit = 100;
    absl::StatusOr<Page<v1::RoleAssignment>> listed =
        connector_->ListRoleAssignments(ctx_, assignments, page);
    ASSERT_THAT(listed.status(), IsOk());
    std::set<std::string> assigned;
    for (const v1::RoleAssignment& a : listed->items)
      assigned.insert(a.user_id());
    EXPECT_EQ(assigned, want) << g.id;
  }
  const scim_sim::SimGroup first = sim_->Groups()[0];
  absl::StatusOr<v1::User> member =
      connector_->GetUser(ctx_, first.members[0], {});
  ASSERT_THAT(member.status(), IsOk());
  bool found = false;
  for (const v1::WorkspaceRef& ws : member->workspaces()) {
    found |= ws.id() == first.id;
  }
  EXPECT_TRUE(found);
}

// A provider that advertises RFC 9865 cursor pagination is paged by its
// cursors: the place is the provider's, so users removed and added before
// it between pages move nothing, and no overlap is needed; tokens carry
// the cursor.
TEST_F(ScimConnectorTest, CursorPaginationIsUsedWhereAdvertised) {
  scim_sim::ScimSimOptions options;
  options.users = 30;
  options.max_results = 8;
  options.cursor_paging = true;
  Start(options);
  std::vector<std::string> before;
  for (const scim_sim::SimUser& u : sim_->Users()) before.push_back(u.id);
  PageRequest page;
  page.limit = 8;
  std::vector<std::string> listed;
  int pages = 0;
  do {
    absl::StatusOr<Page<v1::User>> got =
        connector_->ListUsers(ctx_, UserFilter(), page);
    ASSERT_THAT(got.status(), IsOk());
    for (const v1::User& u : got->items) listed.push_back(u.id());
    if (++pages == 2) {
      // Before the place: one removed, one added.
      ASSERT_THAT(sim_->DeleteUser(before[1]), IsOk());
      ASSERT_THAT(sim_->CreateUserAfter(before[2]).status(), IsOk());
    }
    page.page_token = got->next_page_token;
  } while (!page.page_token.empty());
  EXPECT_GT(sim_->cursor_requests(), 0);
  // Everyone present throughout, once; the removed user came before.
  EXPECT_THAT(listed, ElementsAreArray(before));
  EXPECT_EQ(pages, 4);
}

}  // namespace
}  // namespace unified::scim
