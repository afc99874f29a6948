// The Podio connector's pagers (listings.h) and their parts (pagers.h),
// talked to as the listing driver talks to them, with the recorded-shape
// fixtures (tests/fixtures/podio) as answers and no simulator: what each
// listing asks for, in which order and how far ahead it guesses, page
// sizes learned from 400s, the contacts read for a non-admin, the merge of
// name-ordered listings across organizations, and the JSON readers.
#include "connectors/podio/pagers.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/podio/listings.h"
#include "connectors/podio/mappers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fixtures/podio/fixture.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::IsOk;
using ::unified::testing::LoadPodioFixtures;
using ::unified::testing::PodioFixture;
using ::unified::testing::StatusIs;

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

// `count` copies of a recorded list answer's first row, with user ids
// from `first_id` and names "User 0001", ... (so they sort by id too).
std::string Rows(const std::string& fixture, int count, int64_t first_id) {
  rapidjson::Document doc = Parsed(FixtureBody(fixture));
  rapidjson::Document out(rapidjson::kArrayType);
  auto& alloc = out.GetAllocator();
  for (int i = 0; i < count; ++i) {
    rapidjson::Value row(doc[0], alloc);
    const std::string name = absl::StrCat("User ", 10000 + first_id + i);
    rapidjson::Value* user = row.HasMember("user") ? &row["user"] : &row;
    (*user)["user_id"].SetInt64(first_id + i);
    for (rapidjson::Value* holder :
         {user, row.HasMember("profile") ? &row["profile"] : nullptr}) {
      if (holder != nullptr && holder->HasMember("name")) {
        (*holder)["name"].SetString(name.c_str(), alloc);
      }
    }
    out.PushBack(row, alloc);
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  out.Accept(w);
  return buffer.GetString();
}

HttpResponse Answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Runs a pager the way the driver does, answering each GET from `answers`
// (exact path), and records what it wanted: the GET needed, and with it
// the guesses ahead.
template <typename T>
struct Conversation {
  std::map<std::string, HttpResponse> answers;
  // Answers that change between asks of one path (the list moved): each
  // ask takes the next, the last repeats. Before `answers`.
  std::map<std::string, std::vector<HttpResponse>> sequences;
  std::map<std::string, size_t> times;
  // Answers any other path when set.
  std::function<HttpResponse(const std::string&)> otherwise;
  std::vector<std::string> asked;
  std::vector<std::vector<std::string>> wants;

  // Every page from `pager` until its end or an error.
  absl::Status Drain(Pager<T>& pager, std::vector<Page<T>>* pages,
                     int ahead = 4) {
    Page<T> page;
    for (int step = 0; step < 1000 && !pager.done(); ++step) {
      if (pager.TakePage(&page)) {
        pages->push_back(page);
        continue;
      }
      std::vector<std::string> want = pager.Wants(ahead);
      if (want.empty()) return absl::InternalError("stalled");
      wants.push_back(want);
      asked.push_back(want[0]);
      auto it = answers.find(want[0]);
      HttpResponse answer = it != answers.end() ? it->second
                            : otherwise
                                ? otherwise(want[0])
                                : Answer(404, R"({"error":"not_found"})");
      if (auto seq = sequences.find(want[0]); seq != sequences.end()) {
        const size_t n = times[want[0]]++;
        answer = seq->second[std::min(n, seq->second.size() - 1)];
      }
      if (absl::Status fed = pager.Feed(want[0], std::move(answer));
          !fed.ok()) {
        return fed;
      }
    }
    return absl::OkStatus();
  }
};

std::vector<std::string> IdsOf(const std::vector<Page<v1::User>>& pages) {
  std::vector<std::string> ids;
  for (const auto& page : pages) {
    for (const v1::User& u : page.items) ids.push_back(u.id());
  }
  return ids;
}

// A page of 5 asks 6 rows; pages after the first are asked from the last
// row read (PlaceAnswer).
constexpr char kMembers0[] = "/org/1000/member/?limit=6&offset=0&sort_by=name";
constexpr char kMembers5[] = "/org/1000/member/?limit=6&offset=5&sort_by=name";

TEST(PageSizesTest, A400ShrinksTheRouteOnceAndOnlyThatRoute) {
  PodioConnectorOptions options;
  options.min_page_size = 10;
  PageSizes sizes(options);
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 1000), 500);
  EXPECT_TRUE(sizes.ShrinkAfter400(PagedRoute::kOrgMembers, 500));
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 500), 100);
  EXPECT_EQ(sizes.Size(PagedRoute::kSpaceMembers, 500), 500);
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 30), 30);
  // Then halves, down to the floor, where the 400 is the answer.
  EXPECT_TRUE(sizes.ShrinkAfter400(PagedRoute::kOrgMembers, 100));
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 500), 50);
  EXPECT_TRUE(sizes.ShrinkAfter400(PagedRoute::kOrgMembers, 12));
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 500), 10);
  EXPECT_FALSE(sizes.ShrinkAfter400(PagedRoute::kOrgMembers, 10));
}

TEST(UsersPagerTest, AnOrganizationsMembersPageAfterPageOnRecordedShapes) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 5;
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));  // 12 members.
  talk.answers[kMembers0] = Answer(200, Rows("org_members", 6, 1));
  talk.answers[kMembers5] = Answer(200, Rows("org_members", 3, 6));
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(talk.asked, ElementsAre("/org/", kMembers0, kMembers5));
  // Nothing guessed before the source's first answer; then its count (12)
  // bounds the guesses, overlapping by a row: offsets 5 and 10, not 15.
  EXPECT_THAT(talk.wants[1], ElementsAre(kMembers0));
  EXPECT_THAT(talk.wants[2],
              ElementsAre(kMembers5,
                          "/org/1000/member/?limit=6&offset=10&sort_by=name"));
  ASSERT_EQ(pages.size(), 2u);
  EXPECT_THAT(IdsOf(pages),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8"));
  EXPECT_EQ(pages[1].next_page_token, "");
  EXPECT_EQ(pages[0].items[0].organizations(0).name(), "Acme");
  // The first page's token opens a pager at the second page.
  request.page_token = pages[0].next_page_token;
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> resumed =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(resumed.status(), IsOk());
  Conversation<v1::User> again;
  again.answers = talk.answers;
  const std::string members4 =
      "/org/1000/member/?limit=6&offset=4&sort_by=name";
  again.answers[members4] = Answer(200, Rows("org_members", 4, 5));
  std::vector<Page<v1::User>> rest;
  ASSERT_THAT(again.Drain(**resumed, &rest), IsOk());
  // From the last user taken (5), which it finds there.
  EXPECT_THAT(again.asked, ElementsAre(members4));
  EXPECT_THAT(IdsOf(rest), ElementsAre("6", "7", "8"));
}

TEST(UsersPagerTest, A400ShrinksTheLimitAndA403ReadsTheContacts) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 500;
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  talk.answers["/org/1000/member/?limit=500&offset=0&sort_by=name"] =
      Answer(400, R"({"error":"invalid_value"})");
  talk.answers["/org/1000/member/?limit=100&offset=0&sort_by=name"] =
      Answer(403, R"({"error":"forbidden"})");
  const std::string contacts =
      "/contact/org/1000?limit=500&offset=0&type=full&exclude_self=0";
  talk.answers[contacts] = Answer(200, Rows("contacts", 2, 40));
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  // Two rows are fewer than any cap: the end, with no call to confirm it.
  EXPECT_THAT(
      talk.asked,
      ElementsAre("/org/", "/org/1000/member/?limit=500&offset=0&sort_by=name",
                  "/org/1000/member/?limit=100&offset=0&sort_by=name",
                  contacts));
  EXPECT_THAT(IdsOf(pages), ElementsAre("40", "41"));
  EXPECT_EQ(pages[0].items[0].roles_size(), 0);  // Contacts carry none.
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 500), 100);  // Kept.
}

// An organization whose answers carry no member count, behind a route that
// caps its pages at 3 rows without saying so: a short answer is not taken
// for the end until the next page confirms it, and the cap is learned.
TEST(UsersPagerTest, AShortAnswerIsConfirmedAndASilentCapLearned) {
  PodioConnectorOptions options;
  // Small pages make the point: a cap of 3 is taken as possible here (the
  // default trusts any answer below 100 rows as the end).
  options.trusted_rows = 3;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 500;
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  rapidjson::Document orgs = Parsed(FixtureBody("orgs"));
  orgs[0].RemoveMember("member_count");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  orgs.Accept(w);
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, buffer.GetString());
  auto url = [](int limit, int offset) {
    return absl::StrCat("/org/1000/member/?limit=", limit, "&offset=", offset,
                        "&sort_by=name");
  };
  talk.answers[url(500, 0)] = Answer(200, Rows("org_members", 3, 1));
  talk.answers[url(500, 2)] = Answer(200, Rows("org_members", 3, 3));
  talk.answers[url(3, 4)] = Answer(200, Rows("org_members", 3, 5));
  talk.answers[url(3, 6)] = Answer(200, Rows("org_members", 1, 7));
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(IdsOf(pages), ElementsAre("1", "2", "3", "4", "5", "6", "7"));
  // Three rows to 500 may be the end or a cap: asked again (from the last
  // row read); new rows came, so the route caps at 3; then a short answer
  // to 3 (proven) is the end.
  EXPECT_THAT(talk.asked, ElementsAre("/org/", url(500, 0), url(500, 2),
                                      url(3, 4), url(3, 6)));
  EXPECT_EQ(sizes.Size(PagedRoute::kOrgMembers, 500), 3);
  // Once proven, a route's short answer ends a listing at once.
  Conversation<v1::User> again;
  again.answers["/org/"] = talk.answers["/org/"];
  again.answers[url(3, 0)] = Answer(200, Rows("org_members", 2, 1));
  pager = NewUsersPager(&sizes, UserFilter(), request);
  pages.clear();
  ASSERT_THAT(again.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(again.asked, ElementsAre("/org/", url(3, 0)));
  EXPECT_THAT(IdsOf(pages), ElementsAre("1", "2"));
}

// A member row nobody can read (no user_id anywhere) fails neither the
// listing nor the page: it is left out and counted, and its place still
// counts, so a token taken after it resumes without a repeat.
TEST(UsersPagerTest, AnUnreadableRowIsCountedNotFatal) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 1;
  rapidjson::Document rows = Parsed(Rows("org_members", 3, 1));
  rows[1]["user"].SetNull();
  rows[1]["profile"].SetNull();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  rows.Accept(w);
  const std::string body = buffer.GetString();
  auto url = [](int offset) {
    return absl::StrCat("/org/1000/member/?limit=2&offset=", offset,
                        "&sort_by=name");
  };
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  // Two rows an answer (a page of one, and a row to find the place by):
  // user 1 and the unreadable row; the unreadable row and user 3; user 3.
  for (int i = 0; i < 3; ++i) {
    rapidjson::Document page(rapidjson::kArrayType);
    for (int k = i; k < std::min(i + 2, 3); ++k) {
      rapidjson::Value row(rows[k], page.GetAllocator());
      page.PushBack(row, page.GetAllocator());
    }
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> pw(b);
    page.Accept(pw);
    talk.answers[url(i)] = Answer(200, b.GetString());
  }
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(IdsOf(pages), ElementsAre("1", "3"));
  int64_t unreadable = 0;
  for (const auto& p : pages) unreadable += p.unreadable;
  EXPECT_EQ(unreadable, 1);
  // The first page's token resumes after user 1: asked from there, the
  // answer opens with the unreadable row, so it is asked again a row
  // back, with a row more; the unreadable row is passed again (and
  // counted again), user 3 comes once.
  request.page_token = pages[0].next_page_token;
  pager = NewUsersPager(&sizes, UserFilter(), request);
  Conversation<v1::User> again;
  again.answers = talk.answers;
  again.answers["/org/1000/member/?limit=3&offset=0&sort_by=name"] =
      Answer(200, body);
  std::vector<Page<v1::User>> rest;
  ASSERT_THAT(again.Drain(**pager, &rest), IsOk());
  EXPECT_THAT(IdsOf(rest), ElementsAre("3"));
}

// A member added before the stream's offset between two pages pushes rows
// read already into the next page: the stream passes over them instead of
// returning them twice.
TEST(UsersPagerTest, AMemberAddedBeforeTheOffsetIsNotReturnedTwice) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 2;
  auto url = [](int offset) {
    return absl::StrCat("/org/1000/member/?limit=3&offset=", offset,
                        "&sort_by=name");
  };
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  // Users 1..4; a page of 2 asks 3 rows: 1 and 2 taken, 3 buffered.
  talk.answers[url(0)] = Answer(200, Rows("org_members", 3, 1));
  // Someone joined before offset 0 since: 2 and 3 come again.
  talk.answers[url(2)] = Answer(200, Rows("org_members", 3, 2));
  talk.answers[url(4)] = Answer(200, Rows("org_members", 1, 4));
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(IdsOf(pages), ElementsAre("1", "2", "3", "4"));
  EXPECT_THAT(talk.asked, ElementsAre("/org/", url(0), url(2), url(4)));
}

// Members removed before the stream's offset between two pages pull rows
// back: the next answer holds no row read before, so the listing asks again
// a page further back until one does, and goes on after it. Nobody present
// throughout is missed; nobody comes twice.
TEST(UsersPagerTest, MembersRemovedBeforeTheOffsetAreReadAroundNotMissed) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 3;
  auto url = [](int offset) {
    return absl::StrCat("/org/1000/member/?limit=4&offset=", offset,
                        "&sort_by=name");
  };
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  // Users 1..9; 1 and 2 leave once the first answer is read: 3..9 remain.
  talk.answers[url(0)] = Answer(200, Rows("org_members", 4, 1));
  talk.answers[url(3)] = Answer(200, Rows("org_members", 4, 6));
  const std::string back = "/org/1000/member/?limit=7&offset=0&sort_by=name";
  talk.answers[back] = Answer(200, Rows("org_members", 7, 3));
  talk.answers[url(6)] = Answer(200, Rows("org_members", 1, 9));
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(IdsOf(pages),
              ElementsAre("1", "2", "3", "4", "5", "6", "7", "8", "9"));
  // The answer at 3 (6, 7, 8, 9) holds nobody read: back 3 rows, to 0,
  // asking 3 more (3 to 9), where 4 is found.
  EXPECT_THAT(talk.asked, ElementsAre("/org/", url(0), url(3), back, url(6)));
}

// A list that keeps moving back faster than it can be re-read ends the
// listing with ABORTED and its own reason, never with a short OK.
TEST(UsersPagerTest, AListThatKeepsMovingAbortsTheListing) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 3;
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  // After the first answer, every answer holds only members never read,
  // as many as asked.
  talk.answers["/org/1000/member/?limit=4&offset=0&sort_by=name"] =
      Answer(200, Rows("org_members", 4, 1));
  int64_t strangers = 100000;
  talk.otherwise = [&](const std::string& path) {
    int limit = 0;
    const size_t at = path.find("limit=") + 6;
    (void)absl::SimpleAtoi(path.substr(at, path.find('&', at) - at), &limit);
    strangers += 1000;
    return Answer(200, Rows("org_members", limit, strangers));
  };
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  std::vector<Page<v1::User>> pages;
  const absl::Status status = talk.Drain(**pager, &pages);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(GetErrorInfo(status)->reason(), "UPSTREAM_LIST_MOVED");
}

TEST(UsersPagerTest, A403AfterTheMembersAnsweredStopsTheListing) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 5;
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::User> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  talk.answers[kMembers0] = Answer(200, Rows("org_members", 6, 1));
  talk.answers[kMembers5] = Answer(403, R"({"error":"forbidden"})");
  std::vector<Page<v1::User>> pages;
  const absl::Status status = talk.Drain(**pager, &pages);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "LISTING_SOURCE_REVOKED");
  ASSERT_EQ(pages.size(), 1u);  // Its token resumes at the refused page.
  EXPECT_FALSE(pages[0].next_page_token.empty());
}

TEST(UsersPagerTest, AWorkspacesMembersOpenWithTheSpace) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 2;
  UserFilter filter;
  filter.workspace_id = "3000001";
  filter.organization_id = "1000";
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, filter, request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::User> talk;
  talk.answers["/space/3000001"] = Answer(200, FixtureBody("space"));
  // A page of 2 asks 3 rows (a row more, to find the place by).
  talk.answers["/space/3000001/member/v2/?limit=3&offset=0"] =
      Answer(200, Rows("space_members_v2", 3, 1));
  talk.answers["/space/3000001/member/v2/?limit=3&offset=2"] =
      Answer(200, Rows("space_members_v2", 1, 3));
  std::vector<Page<v1::User>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  EXPECT_THAT(IdsOf(pages), ElementsAre("1", "2", "3"));
  EXPECT_EQ(pages[0].items[0].workspaces(0).name(), "Sales");
  EXPECT_EQ(pages[0].items[0].organizations(0).id(), "1000");
  // Another organization's workspace is refused by name.
  filter.organization_id = "999";
  pager = NewUsersPager(&sizes, filter, request);
  Conversation<v1::User> other;
  other.answers = talk.answers;
  std::vector<Page<v1::User>> none;
  EXPECT_EQ(GetErrorInfo(other.Drain(**pager, &none))->reason(),
            "WORKSPACE_NOT_IN_ORGANIZATION");
}

// Space member v2 rows as the docs show them (the profile under `user`), as
// official clients read them (under `profile`), and with the account alone
// under `user` or `user` null: the same named member each time.
TEST(UsersPagerTest, AWorkspaceMemberIsNamedWhereverItsProfileIs) {
  rapidjson::Document recorded = Parsed(FixtureBody("space_members_v2"));
  const rapidjson::Value& row = recorded[0];
  const std::string name = row["user"]["name"].GetString();
  const int64_t id = row["user"]["user_id"].GetInt64();
  auto reshaped = [&](const char* user_kind) {
    rapidjson::Document out(rapidjson::kArrayType);
    auto& a = out.GetAllocator();
    rapidjson::Value copy(row, a);
    rapidjson::Value profile(copy["user"], a);
    copy.RemoveMember("user");
    const std::string kind = user_kind;
    if (kind == "account") {
      rapidjson::Value account(rapidjson::kObjectType);
      account.AddMember("user_id", id, a);
      account.AddMember("mail", "member@example.com", a);
      account.AddMember("status", "active", a);
      copy.AddMember("user", account, a);
    } else if (kind == "null") {
      copy.AddMember("user", rapidjson::Value(), a);
    }
    copy.AddMember("profile", profile, a);
    out.PushBack(copy, a);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    out.Accept(w);
    return std::string(buffer.GetString());
  };
  for (const char* kind : {"none", "account", "null"}) {
    PodioConnectorOptions options;
    PageSizes sizes(options);
    PageRequest request;
    request.limit = 5;
    UserFilter filter;
    filter.workspace_id = "3000001";
    absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
        NewUsersPager(&sizes, filter, request);
    ASSERT_THAT(pager.status(), IsOk());
    Conversation<v1::User> talk;
    talk.answers["/space/3000001"] = Answer(200, FixtureBody("space"));
    talk.answers["/space/3000001/member/v2/?limit=6&offset=0"] =
        Answer(200, reshaped(kind));
    std::vector<Page<v1::User>> pages;
    ASSERT_THAT(talk.Drain(**pager, &pages), IsOk()) << kind;
    ASSERT_EQ(pages.size(), 1u) << kind;
    ASSERT_EQ(pages[0].items.size(), 1u) << kind;
    EXPECT_EQ(pages[0].items[0].id(), absl::StrCat(id)) << kind;
    EXPECT_EQ(pages[0].items[0].name(), name) << kind;
  }
}

TEST(WorkspacesPagerTest, EachOrganizationsSpacesWithTheTotal) {
  PageRequest request;
  request.limit = 10;
  absl::StatusOr<std::unique_ptr<Pager<v1::Workspace>>> pager =
      NewWorkspacesPager("", request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::Workspace> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  talk.answers["/org/1000/space/"] = Answer(200, FixtureBody("org_spaces"));
  std::vector<Page<v1::Workspace>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_EQ(pages[0].items[0].name(), "Sales");
  EXPECT_EQ(pages[0].total_size, 1);
}

TEST(AssignmentsPagerTest, OrganizationRolesThenWorkspaceRolesAcrossPages) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 2;
  absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>> pager =
      NewAssignmentsPager(&sizes, RoleAssignmentFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  Conversation<v1::RoleAssignment> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  talk.answers["/org/1000/member/?limit=2&offset=0&sort_by=name"] =
      Answer(200, Rows("org_members", 2, 1));
  // From the last member read (connectors/common/overlap.h).
  talk.answers["/org/1000/member/?limit=2&offset=1&sort_by=name"] =
      Answer(200, Rows("org_members", 2, 2));
  talk.answers["/org/1000/member/?limit=2&offset=2&sort_by=name"] =
      Answer(200, Rows("org_members", 1, 3));
  talk.answers["/org/1000/space/"] = Answer(200, FixtureBody("org_spaces"));
  talk.answers["/space/3000001/member/v2/?limit=2&offset=0"] =
      Answer(200, Rows("space_members_v2", 1, 1));
  std::vector<Page<v1::RoleAssignment>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  std::vector<std::string> ids;
  for (const auto& page : pages) {
    for (const auto& a : page.items) ids.push_back(a.id());
  }
  EXPECT_THAT(ids, ElementsAre("1000:1", "1000:2", "1000:3", "3000001:1"));
  EXPECT_EQ(pages.back().next_page_token, "");
}

// A member removed before the listing's place between two pages: the next
// answer holds nobody taken, so the organization's members are asked again
// from a row back, and nobody present throughout is missed.
TEST(AssignmentsPagerTest, AMemberRemovedBeforeThePlaceMissesNobody) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  PageRequest request;
  request.limit = 2;
  absl::StatusOr<std::unique_ptr<Pager<v1::RoleAssignment>>> pager =
      NewAssignmentsPager(&sizes, RoleAssignmentFilter(), request);
  ASSERT_THAT(pager.status(), IsOk());
  auto url = [](int offset) {
    return absl::StrCat("/org/1000/member/?limit=2&offset=", offset,
                        "&sort_by=name");
  };
  Conversation<v1::RoleAssignment> talk;
  talk.answers["/org/"] = Answer(200, FixtureBody("orgs"));
  // Members 1..5; 1 leaves once the first page is taken: 2..5 remain.
  talk.sequences[url(0)] = {Answer(200, Rows("org_members", 2, 1)),
                            Answer(200, Rows("org_members", 2, 2))};
  talk.answers[url(1)] = Answer(200, Rows("org_members", 2, 3));
  talk.answers[url(2)] = Answer(200, Rows("org_members", 2, 4));
  talk.answers[url(3)] = Answer(200, Rows("org_members", 1, 5));
  talk.answers["/org/1000/space/"] = Answer(200, "[]");
  std::vector<Page<v1::RoleAssignment>> pages;
  ASSERT_THAT(talk.Drain(**pager, &pages), IsOk());
  std::vector<std::string> ids;
  for (const auto& page : pages) {
    for (const auto& a : page.items) ids.push_back(a.id());
  }
  EXPECT_THAT(ids,
              ElementsAre("1000:1", "1000:2", "1000:3", "1000:4", "1000:5"));
  // At 1, nobody taken (3, 4): back to 0, where 2 opens the answer.
  EXPECT_THAT(talk.asked, ElementsAre("/org/", url(0), url(1), url(0), url(1),
                                      url(2), url(3), "/org/1000/space/"));
}

TEST(PagerTest, AnAnswerToAnotherRequestOrAnotherListingsTokenIsRefused) {
  PodioConnectorOptions options;
  PageSizes sizes(options);
  absl::StatusOr<std::unique_ptr<Pager<v1::User>>> pager =
      NewUsersPager(&sizes, UserFilter(), PageRequest());
  ASSERT_THAT(pager.status(), IsOk());
  EXPECT_THAT((*pager)->Feed("/org/1", Answer(200, "[]")),
              StatusIs(absl::StatusCode::kInternal));
  PageRequest request;
  request.page_token = EncodeToken(PodioPageToken(), "workspaces");
  EXPECT_EQ(GetErrorInfo(NewUsersPager(&sizes, UserFilter(), request).status())
                ->reason(),
            "INVALID_CURSOR");
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
  // Each at its upstream place: an unreadable row came before Cy.
  buffers[0].users = {Buffered{Member("Ada", 7, "1"), 0},
                      Buffered{Member("Cy", 3, "1"), 2}};
  buffers[0].more = false;
  buffers[1].users = {Buffered{Member("Ada", 7, "2"), 0},
                      Buffered{Member("Bo", 9, "2"), 1}};
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
  buffers[1].users = {Buffered{Member("Dee", 1, "2"), 2}};
  buffers[1].more = false;
  out = MergeByName(&token, &buffers, 10,
                    [](const v1::User& u) { return u.name() != "Dee"; });
  ASSERT_EQ(out.size(), 1u);  // Dee was consumed but not kept.
  EXPECT_EQ(out[0].name(), "Cy");
  EXPECT_EQ(token.sources(0).offset(), 3);  // Ada, the unreadable row, Cy.
  EXPECT_TRUE(token.sources(0).done());
  EXPECT_TRUE(token.sources(1).done());
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
