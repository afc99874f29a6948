// The Podio connector's pagers and the mappers they feed, against a fake
// HttpClient answering with the recorded-shape fixtures
// (tests/fixtures/podio): the offset pager and its page-size learning, the
// merge of name-ordered listings across organizations, the walk over
// several sources, and the JSON readers the connector no longer does
// itself.
#include "connectors/podio/pagers.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/clock.h"
#include "connectors/common/error_details.h"
#include "connectors/podio/mappers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fixtures/podio/fixture.h"
#include "tests/testing/fixed_token.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::FixedToken;
using ::unified::testing::IsOk;
using ::unified::testing::LoadPodioFixtures;
using ::unified::testing::PodioFixture;

// A fixture's body as JSON text.
std::string FixtureBody(const std::string& name) {
  static const std::vector<PodioFixture>* all =
      new std::vector<PodioFixture>(LoadPodioFixtures());
  for (const PodioFixture& f : *all) {
    if (f.name != name) continue;
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    f["body"].Accept(w);
    return buffer.GetString();
  }
  ADD_FAILURE() << "no fixture " << name;
  return "";
}

rapidjson::Document Parsed(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  return doc;
}

// Answers by path prefix; records every URL asked.
class FakeHttp final : public HttpClient {
 public:
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    urls.push_back(request.url);
    for (const auto& [prefix, answer] : answers) {
      if (absl::StrContains(request.url, prefix)) {
        if (answer.refuse_limit_over > 0) {
          const size_t at = request.url.find("limit=");
          const int limit = at == std::string::npos
                                ? 0
                                : std::atoi(request.url.c_str() + at + 6);
          if (limit > answer.refuse_limit_over) {
            HttpResponse r;
            r.status = 400;
            r.body = R"({"error":"invalid_value","error_description":"x"})";
            return r;
          }
        }
        HttpResponse r;
        r.status = 200;
        r.body = answer.body;
        return r;
      }
    }
    HttpResponse r;
    r.status = 404;
    r.body = R"({"error":"not_found"})";
    return r;
  }
  struct Answer {
    std::string body;
    int refuse_limit_over = 0;  // 400 for a larger `limit`.
  };
  std::map<std::string, Answer> answers;
  std::vector<std::string> urls;
};

class PagersTest : public ::testing::Test {
 protected:
  PagersTest() {
    PodioClientOptions options;
    options.api_base = "https://api.test";
    client_ = std::make_unique<PodioClient>(&http_, RealClock::Get(), options);
    ctx_.tokens = &token_;
    ctx_.deadline = absl::Now() + absl::Minutes(1);
  }

  FakeHttp http_;
  FixedToken token_{"t"};
  std::unique_ptr<PodioClient> client_;
  CallContext ctx_;
};

TEST_F(PagersTest, OffsetPagerLearnsTheLimitARouteTakes) {
  http_.answers["/org/1000/member/"] = {FixtureBody("org_members"), 100};
  OffsetPager pager(client_.get(), PodioConnectorOptions{});
  absl::StatusOr<OffsetPager::Fetched> page =
      pager.Fetch(ctx_, PagedRoute::kOrgMembers, 500, [](int limit) {
        return absl::StrCat("/org/1000/member/?limit=", limit, "&offset=0");
      });
  ASSERT_THAT(page.status(), IsOk());
  EXPECT_EQ(page->asked, 100);
  EXPECT_THAT(
      http_.urls,
      ElementsAre("https://api.test/org/1000/member/?limit=500&offset=0",
                  "https://api.test/org/1000/member/?limit=100&offset=0"));
  // Kept for later pages of the route, and only that route.
  EXPECT_EQ(pager.PageSize(PagedRoute::kOrgMembers, 500), 100);
  EXPECT_EQ(pager.PageSize(PagedRoute::kSpaceMembers, 500), 500);
  EXPECT_EQ(pager.PageSize(PagedRoute::kOrgMembers, 30), 30);
}

TEST_F(PagersTest, OffsetPagerStopsAtTheFloor) {
  http_.answers["/space/1/member/v2/"] = {FixtureBody("space_members_v2"), 1};
  PodioConnectorOptions options;
  options.min_page_size = 10;
  OffsetPager pager(client_.get(), options);
  absl::StatusOr<OffsetPager::Fetched> page =
      pager.Fetch(ctx_, PagedRoute::kSpaceMembers, 500, [](int limit) {
        return absl::StrCat("/space/1/member/v2/?limit=", limit);
      });
  // 500, 100, 50, 25, 12, 10: the floor's 400 is Podio's answer.
  EXPECT_EQ(GetErrorInfo(page.status())->reason(), "UPSTREAM_BAD_REQUEST");
  EXPECT_EQ(http_.urls.size(), 6u);
}

v1::User Member(const std::string& name, int id, const std::string& org) {
  v1::User u;
  u.set_id(absl::StrCat(id));
  u.set_name(name);
  u.add_organizations()->set_id(org);
  return u;
}

TEST(MergeByNameTest, MergesOnePerUserAndStopsWhereASourceRunsDry) {
  PodioPageToken token;
  token.add_sources()->set_id(1);
  token.add_sources()->set_id(2);
  std::vector<SourceBuffer> buffers(2);
  buffers[0].users = {Member("Ada", 7, "1"), Member("Cy", 3, "1")};
  buffers[0].more = false;
  buffers[1].users = {Member("Ada", 7, "2"), Member("Bo", 9, "2")};
  buffers[1].more = true;  // Its next page is unknown.
  std::vector<v1::User> out =
      MergeByName(&token, &buffers, 10, [](const v1::User&) { return true; });
  // Ada (both orgs), Bo; then source 2 is dry and may hold someone before
  // Cy: the merge stops.
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name(), "Ada");
  EXPECT_EQ(out[0].organizations_size(), 2);
  EXPECT_EQ(out[1].name(), "Bo");
  EXPECT_EQ(token.sources(0).offset(), 1);
  EXPECT_EQ(token.sources(1).offset(), 2);
  EXPECT_FALSE(token.sources(0).done());
  EXPECT_FALSE(token.sources(1).done());
  // The next page refills source 2 with its last row: Cy, then Dee.
  buffers[1].users = {Member("Dee", 1, "2")};
  buffers[1].more = false;
  out = MergeByName(&token, &buffers, 10,
                    [](const v1::User& u) { return u.name() != "Dee"; });
  ASSERT_EQ(out.size(), 1u);  // Dee was consumed but not kept.
  EXPECT_EQ(out[0].name(), "Cy");
  EXPECT_TRUE(token.sources(0).done());
  EXPECT_TRUE(token.sources(1).done());
}

TEST(ReadSourcesTest, WalksSourcesAndKeepsThePosition) {
  PodioPageToken token;
  for (int i = 0; i < 3; ++i) token.add_sources()->set_id(i);
  std::vector<int> items;
  std::map<int64_t, int> left = {{0, 2}, {1, 5}, {2, 1}};
  auto read = [&](PageSource& s, int room) -> absl::StatusOr<bool> {
    const int take = std::min(room, left[s.id()]);
    for (int i = 0; i < take; ++i) items.push_back(static_cast<int>(s.id()));
    left[s.id()] -= take;
    return left[s.id()] == 0;
  };
  auto held = [&] { return static_cast<int>(items.size()); };
  ASSERT_THAT(ReadSources(&token, 4, held, read), IsOk());
  EXPECT_THAT(items, ElementsAre(0, 0, 1, 1));
  EXPECT_EQ(token.position(), 1);
  items.clear();
  ASSERT_THAT(ReadSources(&token, 4, held, read), IsOk());
  EXPECT_THAT(items, ElementsAre(1, 1, 1, 2));
  EXPECT_EQ(token.position(), 3);
}

TEST(PageTokenTest, BoundToVersionAndListing) {
  PodioPageToken token;
  token.set_position(3);
  const std::string bytes = EncodeToken(token, "workspaces");
  ASSERT_THAT(DecodeToken(bytes, "workspaces").status(), IsOk());
  EXPECT_EQ(DecodeToken(bytes, "workspaces")->position(), 3);
  EXPECT_EQ(GetErrorInfo(DecodeToken(bytes, "users").status())->reason(),
            "INVALID_CURSOR");
  EXPECT_FALSE(DecodeToken("garbage", "users").ok());
}

TEST(ListReadersTest, ReadTheRecordedShapes) {
  rapidjson::Document orgs = Parsed(FixtureBody("orgs"));
  absl::StatusOr<std::vector<SourceInfo>> listed = ReadOrgList(orgs);
  ASSERT_THAT(listed.status(), IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, 1000);
  EXPECT_EQ((*listed)[0].name, "Acme");

  v1::User me;
  ASSERT_THAT(AddMemberships(orgs, &me), IsOk());
  EXPECT_EQ(me.organizations(0).id(), "1000");
  std::vector<std::string> roles;
  for (const v1::ScopedRole& r : me.roles()) {
    roles.push_back(r.role_id() + "@" + r.scope_id());
  }
  EXPECT_THAT(
      roles, ElementsAre("organization.admin@1000", "workspace.admin@3000001"));

  rapidjson::Document spaces = Parsed(FixtureBody("org_spaces"));
  absl::StatusOr<std::vector<SourceInfo>> space_list = ReadSpaceList(spaces);
  ASSERT_THAT(space_list.status(), IsOk());
  EXPECT_EQ((*space_list)[0].name, "Sales");

  rapidjson::Document memberships = Parsed(FixtureBody("org_member_spaces"));
  absl::StatusOr<v1::User> part = MapSpaceMemberships(memberships);
  ASSERT_THAT(part.status(), IsOk());
  EXPECT_EQ(part->workspaces(0).id(), "3000001");
  EXPECT_EQ(part->roles(0).role_id(), "workspace.admin");

  rapidjson::Document members = Parsed(FixtureBody("org_members"));
  absl::StatusOr<std::optional<v1::RoleAssignment>> a = MapMemberAssignment(
      members[0], v1::ROLE_SCOPE_ORGANIZATION, 1000, "Acme");
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->id(), "1000:2468975");
  EXPECT_EQ((*a)->role_id(), "organization.admin");

  // An answer that is not a list is the provider's fault, named.
  rapidjson::Document object = Parsed(R"({"org_id":1})");
  EXPECT_EQ(GetErrorInfo(ReadOrgList(object).status())->reason(),
            "UPSTREAM_MALFORMED_RESPONSE");
  EXPECT_EQ(GetErrorInfo(AddMemberships(object, &me))->reason(),
            "UPSTREAM_MALFORMED_RESPONSE");
}

}  // namespace
}  // namespace unified::podio
