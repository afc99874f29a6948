// Directory routes of the simulator: shapes (field sets from docs/podio.md
// §3), routing rules, permissions, paging, filters and sorting, checked
// against the generated data.
#include <regex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

class RoutesTest : public SimTest {
 protected:
  void SetUp() override {
    SimTest::SetUp();
    token_ = AdminToken();
  }

  rapidjson::Document GetJson(const std::string& path, int status = 200) {
    HttpResponse r = Get(path, token_);
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    return ParseJson(r.body);
  }

  // Every page of `path` (which has no query yet) with `limit`.
  std::vector<int64_t> WalkUserIds(const std::string& path, int limit,
                                   const std::string& extra = "") {
    std::vector<int64_t> ids;
    for (int offset = 0;; offset += limit) {
      rapidjson::Document page = GetJson(
          absl::StrCat(path, "?limit=", limit, "&offset=", offset, extra));
      if (!page.IsArray()) break;
      for (const auto& member : page.GetArray()) {
        const rapidjson::Value& user =
            member.HasMember("user") ? member["user"] : member;
        ids.push_back(user["user_id"].GetInt64());
      }
      if (static_cast<int>(page.Size()) < limit) break;
    }
    return ids;
  }

  std::string token_;
};

const std::regex kDateTime(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})");

TEST_F(RoutesTest, UserRoutesAnswerTheDocumentedShapes) {
  for (const char* path : {"/user/", "/user"}) {
    rapidjson::Document user = GetJson(path);
    EXPECT_THAT(Keys(user),
                IsSupersetOf({"user_id", "mail", "status", "locale", "timezone",
                              "created_on", "mails", "flags"}))
        << path;
    EXPECT_EQ(user["user_id"].GetInt64(), AdminId());
    EXPECT_TRUE(std::regex_match(user["created_on"].GetString(), kDateTime));
  }
  rapidjson::Document status = GetJson("/user/status");
  EXPECT_THAT(Keys(status), IsSupersetOf({"user", "profile", "properties",
                                          "referral", "flags", "betas",
                                          "inbox_new", "message_unread_count",
                                          "calendar_code", "mailbox"}));
  EXPECT_EQ(status["profile"]["profile_id"].GetInt64(),
            kFirstProfileId + kAdminUserIndex);
  rapidjson::Document profile = GetJson("/user/profile/");
  ASSERT_TRUE(profile["mail"].IsArray());  // Multi-valued: arrays of strings.
  EXPECT_EQ(std::string(profile["mail"][0].GetString()), "demo@example.com");
}

TEST_F(RoutesTest, OrganizationsCarryTheirSpacesAndDocumentedFields) {
  rapidjson::Document orgs = GetJson("/org/");
  ASSERT_TRUE(orgs.IsArray());
  ASSERT_EQ(orgs.Size(), 2u);
  EXPECT_THAT(Keys(orgs[0]),
              IsSupersetOf({"org_id", "name", "url", "url_label", "status",
                            "type", "logo", "user_limit", "domains", "role",
                            "rights", "created_by", "spaces"}));
  // The recorded real shape (docs/podio.md, "Counts"): no member_count, no
  // created_on.
  for (const char* absent : {"member_count", "contact_count", "created_on"}) {
    EXPECT_FALSE(orgs[0].HasMember(absent)) << absent;
  }
  EXPECT_EQ(orgs[0]["spaces"].Size(), 3u);
  EXPECT_THAT(Keys(orgs[0]["spaces"][0]),
              IsSupersetOf({"space_id", "name", "url", "url_label", "org_id",
                            "type", "privacy", "role"}));
  rapidjson::Document org = GetJson(absl::StrCat("/org/", FirstOrg()));
  EXPECT_EQ(org["org_id"].GetInt64(), FirstOrg());
  EXPECT_FALSE(org.HasMember("spaces"));
  GetJson("/org/999999", 404);
  rapidjson::Document admins =
      GetJson(absl::StrCat("/org/", FirstOrg(), "/admin/"));
  ASSERT_TRUE(admins.IsArray());
  bool found_demo = false;
  for (const auto& admin : admins.GetArray()) {
    EXPECT_THAT(Keys(admin), IsSupersetOf({"user_id", "profile_id", "name"}));
    found_demo |= admin["user_id"].GetInt64() == AdminId();
  }
  EXPECT_TRUE(found_demo);
}

TEST_F(RoutesTest, SpacesByOrgAndById) {
  rapidjson::Document all =
      GetJson(absl::StrCat("/org/", FirstOrg(), "/space/"));
  ASSERT_EQ(all.Size(), 3u);
  rapidjson::Document mine =
      GetJson(absl::StrCat("/space/org/", FirstOrg(), "/"));
  ASSERT_EQ(mine.Size(), 3u);
  rapidjson::Document space = GetJson(absl::StrCat("/space/", FirstSpace()));
  EXPECT_THAT(Keys(space),
              IsSupersetOf({"space_id", "name", "description", "url",
                            "url_label", "org_id", "org", "privacy", "role",
                            "rights", "created_on", "created_by", "push"}));
  // The recorded real shape: no member_count, no archived.
  EXPECT_FALSE(space.HasMember("member_count"));
  EXPECT_FALSE(space.HasMember("archived"));
  EXPECT_EQ(space["org"]["org_id"].GetInt64(), FirstOrg());
}

TEST_F(RoutesTest, EveryDirectoryRouteAnswersBothSlashSpellings) {
  const std::string org = absl::StrCat(FirstOrg());
  const std::string space = absl::StrCat(FirstSpace());
  const std::string user = absl::StrCat(AdminId());
  for (const std::string documented :
       {std::string("/user/"),
        std::string("/user/status"),
        std::string("/user/profile/"),
        std::string("/contact/"),
        "/contact/user/" + user,
        "/contact/org/" + org,
        "/contact/space/" + space + "/",
        std::string("/org/"),
        "/org/" + org,
        "/org/" + org + "/member/",
        "/org/" + org + "/member/" + user,
        "/org/" + org + "/member/" + user + "/space_member/",
        "/org/" + org + "/admin/",
        "/org/" + org + "/space/",
        "/space/org/" + org + "/",
        "/space/" + space,
        "/space/" + space + "/member/",
        "/space/" + space + "/member/v2/",
        "/space/" + space + "/member/ended/",
        "/space/" + space + "/member/admin/",
        "/space/" + space + "/member/" + user,
        "/hook/space/" + space + "/"}) {
    const std::string other = absl::EndsWith(documented, "/")
                                  ? documented.substr(0, documented.size() - 1)
                                  : documented + "/";
    HttpResponse a = Get(documented, token_);
    HttpResponse b = Get(other, token_);
    EXPECT_EQ(a.status, 200) << documented << ": " << a.body;
    EXPECT_EQ(b.status, 200) << other << ": " << b.body;
    // The same operation: the same kind of answer.
    EXPECT_EQ(ParseJson(a.body).GetType(), ParseJson(b.body).GetType())
        << other;
  }
  // OAuth paths stay exact.
  EXPECT_EQ(Get("/oauth/scope/", token_).status, 404);
}

TEST_F(RoutesTest, UnknownRoutesAre404NoMatchingOperation) {
  for (const std::string path :
       {std::string("/org/abc"), std::string("/nothing/here/"),
        absl::StrCat("/space/", FirstSpace(), "/member/superuser/"),
        std::string("/space/url")}) {
    HttpResponse r = Get(path, token_);
    EXPECT_EQ(r.status, 404) << path;
    rapidjson::Document doc = ParseJson(r.body);
    EXPECT_EQ(std::string(doc["error"].GetString()), "not_found");
    const std::string description = doc["error_description"].GetString();
    EXPECT_THAT(description, HasSubstr("No matching operation could be found"));
    // Sentences end in one full stop, as in the recorded answers.
    EXPECT_TRUE(absl::EndsWith(description, ".")) << description;
    EXPECT_FALSE(absl::EndsWith(description, "..")) << description;
  }
  // A known path with the wrong method is no operation either.
  EXPECT_EQ(Send("PATCH", "/user/", token_).status, 404);
}

TEST_F(RoutesTest, SpaceByUrlOrSlugs) {
  rapidjson::Document space = GetJson(absl::StrCat("/space/", FirstSpace()));
  const std::string url = space["url"].GetString();
  rapidjson::Document by_url = GetJson(absl::StrCat(
      "/space/url?url=", httplib::detail::encode_query_param(url)));
  EXPECT_EQ(by_url["space_id"].GetInt64(), FirstSpace());
  EXPECT_EQ(by_url["org"]["org_id"].GetInt64(), FirstOrg());
  rapidjson::Document by_slugs = GetJson(absl::StrCat(
      "/space/url?org_slug=", space["org"]["url_label"].GetString(),
      "&space_slug=", space["url_label"].GetString()));
  EXPECT_EQ(by_slugs["space_id"].GetInt64(), FirstSpace());
  GetJson("/space/url?url=https%3A%2F%2Fpodio.com%2Fno%2Fsuch", 404);
  // The regular user cannot see the second organization's spaces.
  rapidjson::Document other =
      GetJson(absl::StrCat("/space/", FirstSpace() + 1));
  HttpResponse refused =
      Get(absl::StrCat("/space/url?url=", httplib::detail::encode_query_param(
                                              other["url"].GetString())),
          RegularToken());
  EXPECT_EQ(refused.status, 403);
}

TEST_F(RoutesTest, AnswersCarryPodiosHeadersAndGzipWhenAsked) {
  const std::string request = absl::StrCat(
      "GET /org/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: OAuth2 ", token_,
      "\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n");
  const std::string answer = RawExchange(request);
  const size_t end = answer.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  const std::string head = answer.substr(0, end);
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nContent-Encoding: gzip"));
  EXPECT_THAT(head, HasSubstr("\r\nServer: nginx"));
  EXPECT_THAT(
      head, HasSubstr(absl::StrCat("\r\nX-Podio-Auth-Ref: user:", AdminId())));
  EXPECT_TRUE(std::regex_search(
      head, std::regex("\r\nDate: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \\d\\d "
                       "[A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d GMT")))
      << head;
  const std::string body = answer.substr(end + 4);
  ASSERT_GE(body.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x1f);  // gzip's magic.
  EXPECT_EQ(static_cast<unsigned char>(body[1]), 0x8b);
  // The HTTP client decodes it, and says nothing of the encoding after.
  HttpResponse decoded = Get("/org/", token_);
  EXPECT_EQ(decoded.Header("content-encoding"), "");
  EXPECT_TRUE(ParseJson(decoded.body).IsArray());
  // Not asked: plain.
  const std::string plain = RawExchange(absl::StrCat(
      "GET /org/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: OAuth2 ", token_,
      "\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(plain, Not(HasSubstr("Content-Encoding")));
  // Unauthenticated: X-Podio-Auth-Ref: None.
  EXPECT_EQ(Get("/user/", "").Header("x-podio-auth-ref"), "None");
}

TEST_F(RoutesTest, APostWithoutBodyOrLengthIsEmpty) {
  // RFC 7230 §3.3.3: neither Content-Length nor Transfer-Encoding means no
  // body. The route runs (an unknown hook), rather than "Malformed request".
  const std::string answer = RawExchange(absl::StrCat(
      "POST /hook/999999/verify/request HTTP/1.1\r\nHost: localhost\r\n"
      "Authorization: OAuth2 ",
      token_, "\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 404 Not Found\r\n"))
      << answer.substr(0, 60);
  EXPECT_THAT(answer, HasSubstr("Object not found"));
  EXPECT_THAT(answer, Not(HasSubstr("Malformed")));
}

TEST_F(RoutesTest, OrgMemberListingIsForOrgAdminsOnly) {
  const std::string regular = RegularToken();
  HttpResponse r = Get(absl::StrCat("/org/", FirstOrg(), "/member/"), regular);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(std::string(ParseJson(r.body)["error"].GetString()), "forbidden");
  // Not a member of the second organization at all.
  EXPECT_EQ(Get(absl::StrCat("/org/", FirstOrg() + 1), regular).status, 403);
  EXPECT_EQ(Get(absl::StrCat("/space/", FirstSpace() + 1), regular).status,
            403);
  EXPECT_EQ(Get(absl::StrCat("/space/", FirstSpace()), regular).status, 200);
}

TEST_F(RoutesTest, OrgMembersPageThroughEveryMemberOnceInNameOrder) {
  std::vector<int64_t> expected;
  sim_->ReadDirectory([&](const Directory& d) {
    expected = d.FindOrg(FirstOrg())->member_order;
  });
  const std::string path = absl::StrCat("/org/", FirstOrg(), "/member/");
  EXPECT_EQ(WalkUserIds(path, 7), expected);
  EXPECT_EQ(WalkUserIds(path, 500), expected);
  std::vector<int64_t> reversed(expected.rbegin(), expected.rend());
  EXPECT_EQ(WalkUserIds(path, 5, "&sort_desc=1"), reversed);
  EXPECT_EQ(WalkUserIds(path, 5, "&sort_desc=true"), reversed);

  rapidjson::Document page = GetJson(path + "?limit=1");
  EXPECT_THAT(Keys(page[0]), IsSupersetOf({"user", "profile", "employee",
                                           "role", "space_memberships"}));
  // 64-bit ids arrive as JSON integers.
  EXPECT_TRUE(page[0]["user"]["user_id"].IsInt64());
  EXPECT_GT(page[0]["user"]["user_id"].GetInt64(), int64_t{1} << 32);

  GetJson(path + "?limit=501", 400);
  GetJson(path + "?limit=0", 400);
  GetJson(path + "?offset=-1", 400);
  GetJson(path + "?limit=ten", 400);
  GetJson(path + "?sort_by=age", 400);
  GetJson(path + "?member_type=boss", 400);
}

TEST_F(RoutesTest, OrgMemberFiltersAndSorting) {
  const std::string path = absl::StrCat("/org/", FirstOrg(), "/member/");
  rapidjson::Document admins = GetJson(path + "?member_type=admin&limit=500");
  ASSERT_GE(admins.Size(), 1u);
  for (const auto& m : admins.GetArray()) {
    EXPECT_EQ(std::string(m["role"].GetString()), "admin");
  }
  rapidjson::Document external = GetJson(path + "?member_type=external");
  for (const auto& m : external.GetArray()) {
    EXPECT_FALSE(m["employee"].GetBool());
  }
  rapidjson::Document found = GetJson(path + "?query=DEMO%20ADMIN");
  ASSERT_EQ(found.Size(), 1u);
  EXPECT_EQ(found[0]["user"]["user_id"].GetInt64(), AdminId());
  // Filtered paging: two pages of one equal the first two of a page of two.
  rapidjson::Document two = GetJson(path + "?member_type=employee&limit=2");
  rapidjson::Document second =
      GetJson(path + "?member_type=employee&limit=1&offset=1");
  ASSERT_EQ(two.Size(), 2u);
  EXPECT_EQ(two[1]["user"]["user_id"].GetInt64(),
            second[0]["user"]["user_id"].GetInt64());
  rapidjson::Document by_seen =
      GetJson(path + "?sort_by=last_seen_on&limit=500");
  std::string previous;  // Invited members show no last_seen_on.
  for (const auto& m : by_seen.GetArray()) {
    if (!m["profile"].HasMember("last_seen_on")) continue;
    const std::string seen = m["profile"]["last_seen_on"].GetString();
    EXPECT_LE(previous, seen);
    previous = seen;
  }
}

TEST_F(RoutesTest, OneOrgMemberHasTheSingleView) {
  rapidjson::Document m =
      GetJson(absl::StrCat("/org/", FirstOrg(), "/member/", AdminId()));
  EXPECT_THAT(Keys(m), IsSupersetOf({"user", "profile", "employee", "role",
                                     "tier", "spaces"}));
  EXPECT_FALSE(m.HasMember("space_memberships"));
  EXPECT_EQ(m["spaces"]["started"].GetInt(), 3);
  GetJson(absl::StrCat("/org/", FirstOrg(), "/member/123"), 404);
}

TEST_F(RoutesTest, SpaceMembersV1V2ByRoleOneAndEnded) {
  std::vector<int64_t> active, ended, admins;
  sim_->ReadDirectory([&](const Directory& d) {
    const SimSpace* s = d.FindSpace(FirstSpace());
    active = s->member_order;
    for (int64_t id : active) {
      if (s->members.at(id).role == "admin") admins.push_back(id);
    }
    for (const auto& [id, m] : s->members) {
      if (m.ended_on) ended.push_back(id);
    }
  });
  const std::string base = absl::StrCat("/space/", FirstSpace(), "/member/");
  rapidjson::Document v1 = GetJson(base);
  ASSERT_EQ(v1.Size(), active.size());
  EXPECT_THAT(Keys(v1[0]), IsSupersetOf({"user", "role", "invited_on",
                                         "started_on", "ended_on"}));
  EXPECT_TRUE(v1[0]["ended_on"].IsNull());
  EXPECT_EQ(WalkUserIds(base + "v2/", 3), active);
  rapidjson::Document v2 = GetJson(base + "v2/?limit=1");
  EXPECT_EQ(Keys(v2[0]),
            (std::set<std::string>{"user", "employee", "role", "grants"}));
  rapidjson::Document by_role = GetJson(base + "admin/");
  std::vector<int64_t> by_role_ids;
  for (const auto& m : by_role.GetArray()) {
    by_role_ids.push_back(m["user"]["user_id"].GetInt64());
  }
  EXPECT_EQ(by_role_ids, admins);
  rapidjson::Document light = GetJson(base + "v2/?member_type=light&limit=500");
  for (const auto& m : light.GetArray()) {
    EXPECT_EQ(std::string(m["role"].GetString()), "light");
  }
  rapidjson::Document one = GetJson(base + absl::StrCat(AdminId()));
  EXPECT_EQ(std::string(one["role"].GetString()), "admin");
  rapidjson::Document gone = GetJson(base + "ended/");
  EXPECT_EQ(gone.Size(), ended.size());
  for (const auto& m : gone.GetArray()) {
    EXPECT_TRUE(std::regex_match(m["ended_on"].GetString(), kDateTime));
  }
}

TEST_F(RoutesTest, ContactsOfTheUserOrgAndSpace) {
  rapidjson::Document mini = GetJson("/contact/?limit=3");
  ASSERT_EQ(mini.Size(), 3u);
  EXPECT_FALSE(mini[0].HasMember("mail"));  // type=mini by default.
  for (const auto& c : mini.GetArray()) {
    EXPECT_NE(c["user_id"].GetInt64(), AdminId());  // exclude_self default.
  }
  rapidjson::Document full = GetJson("/contact/?limit=3&type=full");
  EXPECT_TRUE(full[0]["mail"].IsArray());
  rapidjson::Document with_self = GetJson("/contact/?limit=500&exclude_self=0");
  rapidjson::Document without_self = GetJson("/contact/?limit=500");
  EXPECT_EQ(with_self.Size(), without_self.Size() + 1);
  rapidjson::Document org = GetJson(absl::StrCat("/contact/org/", FirstOrg()));
  EXPECT_GT(org.Size(), 0u);
  rapidjson::Document space =
      GetJson(absl::StrCat("/contact/space/", FirstSpace(), "/"));
  ASSERT_GT(space.Size(), 0u);
  EXPECT_TRUE(space[0]["role"].IsInt());  // Space contacts: integer role.
  EXPECT_TRUE(space[0].HasMember("removable"));
  rapidjson::Document one =
      GetJson(absl::StrCat("/contact/user/", AdminId() + 1));
  EXPECT_EQ(one["user_id"].GetInt64(), AdminId() + 1);
}

TEST_F(RoutesTest, WritesChangeTheDirectory) {
  const std::string base = absl::StrCat("/space/", FirstSpace(), "/member/");
  // A user of the first organization not yet in the space.
  int64_t newcomer = 0;
  sim_->ReadDirectory([&](const Directory& d) {
    for (int64_t id : d.FindOrg(FirstOrg())->member_order) {
      if (!d.FindOrg(FirstOrg())->members.at(id).invited &&
          !d.FindSpace(FirstSpace())->members.count(id)) {
        newcomer = id;
        break;
      }
    }
  });
  ASSERT_NE(newcomer, 0);
  HttpResponse add =
      Send("POST", base, token_,
           absl::StrCat(R"({"role":"light","users":[)", newcomer, "]}"));
  ASSERT_EQ(add.status, 200) << add.body;
  EXPECT_EQ(
      std::string(GetJson(base + absl::StrCat(newcomer))["role"].GetString()),
      "light");
  ASSERT_EQ(
      Send("PUT", base + absl::StrCat(newcomer), token_, R"({"role":"admin"})")
          .status,
      204);
  EXPECT_EQ(
      std::string(GetJson(base + absl::StrCat(newcomer))["role"].GetString()),
      "admin");
  ASSERT_EQ(Send("DELETE", base + absl::StrCat(newcomer), token_).status, 204);
  GetJson(base + absl::StrCat(newcomer), 404);
  rapidjson::Document ended = GetJson(base + "ended/");
  bool found = false;
  for (const auto& m : ended.GetArray()) {
    found |= m["user"]["user_id"].GetInt64() == newcomer;
  }
  EXPECT_TRUE(found);
  // Bad bodies and non-admins.
  EXPECT_EQ(Send("POST", base, token_, "[]").status, 400);
  EXPECT_EQ(
      Send("PUT", base + absl::StrCat(AdminId()), token_, R"({"role":"owner"})")
          .status,
      400);
  EXPECT_EQ(
      Send("DELETE", base + absl::StrCat(AdminId()), RegularToken()).status,
      403);
  // Ending an org membership ends its space memberships too.
  ASSERT_EQ(
      Send("DELETE",
           absl::StrCat("/org/", FirstOrg(), "/member/", AdminId() + 1), token_)
          .status,
      204);
  GetJson(absl::StrCat("/org/", FirstOrg(), "/member/", AdminId() + 1), 404);
  GetJson(base + absl::StrCat(AdminId() + 1), 404);
}

}  // namespace
}  // namespace unified::podio_sim::testing
