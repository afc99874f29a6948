// The SCIM connector's pager (connectors/scim/scim_listings.h) talked to as
// the listing driver talks to it, with the recorded-shape list answer
// (tests/fixtures/scim/list_users.json: totalResults 3, two per page) and
// no server: what it asks, how far it guesses once it knows the total,
// where it resumes when a provider answers fewer than asked, tokens that
// skip inside an answer, and errors by the connector's one table.
#include "connectors/scim/scim_listings.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_mappers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace unified::scim {
namespace {

using ::testing::ElementsAre;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// The recorded list answer's body, with `resources` of its users (by
// index, repeats allowed) and `total` as totalResults.
std::string ListBody(const std::vector<int>& resources, int total) {
  std::ifstream in(
      ::unified::testing::RunfilePath("tests/fixtures/scim/list_users.json"));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document fixture;
  fixture.Parse(text.str().c_str());
  rapidjson::Document body;
  body.CopyFrom(fixture["body"], body.GetAllocator());
  rapidjson::Value picked(rapidjson::kArrayType);
  for (int i : resources) {
    rapidjson::Value copy(fixture["body"]["Resources"][i], body.GetAllocator());
    picked.PushBack(copy, body.GetAllocator());
  }
  body["Resources"] = picked;
  body["totalResults"].SetInt(total);
  body["itemsPerPage"].SetInt(static_cast<int>(resources.size()));
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  body.Accept(w);
  return buffer.GetString();
}

HttpResponse Answer(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A list answer of resources with these ids.
std::string Ids(const std::vector<std::string>& ids, int total, int start = 0) {
  std::string out = absl::StrCat(R"({"totalResults":)", total);
  if (start > 0) absl::StrAppend(&out, R"(,"startIndex":)", start);
  absl::StrAppend(&out, R"(,"Resources":[)");
  for (size_t i = 0; i < ids.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", R"({"id":")", ids[i], R"("})");
  }
  return out + "]}";
}

ScimListing<std::string> UserIds(int count) {
  ScimListing<std::string> listing;
  listing.kind = 'u';
  listing.collection = "/Users";
  listing.count = count;
  listing.map = [](const rapidjson::Value& r, std::vector<std::string>* out) {
    out->push_back(json::StringOr(r, "id"));
    return absl::OkStatus();
  };
  return listing;
}

TEST(ScimPagerTest, PagesAfterWhatEachAnswerHeldAndGuessesUpToTheTotal) {
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(UserIds(2), 2, "");
  ASSERT_THAT(pager.status(), IsOk());
  // Nothing guessed before the total is known.
  EXPECT_THAT((*pager)->Wants(8), ElementsAre("/Users?startIndex=1&count=2"));
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=1&count=2",
                             Answer(200, ListBody({0, 1}, 5))),
              IsOk());
  Page<std::string> page;
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-1", "u-2"));
  EXPECT_EQ(page.total_size, 5);
  // The next answer is asked from the last record read, which the token
  // holds: the answer must open with it (connectors/common/overlap.h).
  EXPECT_EQ(page.next_page_token, "u1:2:0:5:dS0y");  // "u-2"
  // Then every page up to the total, one answer's new records apart.
  EXPECT_THAT((*pager)->Wants(8), ElementsAre("/Users?startIndex=2&count=2",
                                              "/Users?startIndex=3&count=2",
                                              "/Users?startIndex=4&count=2",
                                              "/Users?startIndex=5&count=2"));
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=2&count=2",
                             Answer(200, Ids({"u-2", "u-3"}, 5, 2))),
              IsOk());
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-3"));
  EXPECT_EQ(page.next_page_token, "u1:3:0:5:dS0z");  // "u-3"
  // A provider may answer fewer than asked: here the record asked from
  // alone, so the next start is past it, with nothing to find there.
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=3&count=2",
                             Answer(200, Ids({"u-3"}, 5, 3))),
              IsOk());
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.next_page_token, "u1:4:0");
  EXPECT_THAT((*pager)->Wants(0), ElementsAre("/Users?startIndex=4&count=2"));
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=4&count=2",
                             Answer(200, Ids({"u-4", "u-5"}, 5, 4))),
              IsOk());
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_EQ(page.next_page_token, "");
  EXPECT_TRUE((*pager)->done());
  EXPECT_FALSE((*pager)->TakePage(&page));
}

TEST(ScimPagerTest, FilledPagesResumeInsideAnAnswer) {
  ScimListing<std::string> listing = UserIds(3);
  listing.kind = 'a';
  listing.fill_pages = true;
  // Two records per user.
  listing.map = [](const rapidjson::Value& r, std::vector<std::string>* out) {
    out->push_back(json::StringOr(r, "id") + "/a");
    out->push_back(json::StringOr(r, "id") + "/b");
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(listing, 3, "");
  ASSERT_THAT(pager.status(), IsOk());
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=1&count=3",
                             Answer(200, ListBody({0, 1}, 2))),
              IsOk());
  Page<std::string> page;
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-1/a", "u-1/b", "u-2/a"));
  // Inside that answer, after u-2's first record.
  EXPECT_EQ(page.next_page_token, "a1:1:1:2::dS0y");
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-2/b"));
  EXPECT_EQ(page.next_page_token, "");
  // The token reads the same answer again and skips what was returned:
  // the records of u-1 and before, then u-2's first (named by resource, so
  // a change in which resources the listing keeps before it moves nothing:
  // churn_test's SCIMMY workspace).
  pager = NewScimPager(listing, 3, "a1:1:1:2::dS0y");
  ASSERT_THAT(pager.status(), IsOk());
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=1&count=3",
                             Answer(200, ListBody({0, 1}, 2))),
              IsOk());
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-2/b"));
  // A token counting records (before resources were named) still works.
  pager = NewScimPager(listing, 3, "a1:1:3");
  ASSERT_THAT(pager.status(), IsOk());
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=1&count=3",
                             Answer(200, ListBody({0, 1}, 2))),
              IsOk());
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("u-2/b"));
}

// Drains `pager` answering each GET from `answers` (exact URL); a URL in
// `sequences` answers its next body each time (the last repeats): the
// directory moved.
absl::Status Drain(
    Pager<std::string>& pager,
    const std::map<std::string, std::string>& answers,
    std::vector<std::string>* items, std::vector<std::string>* asked,
    const std::map<std::string, std::vector<std::string>>& sequences = {}) {
  std::map<std::string, size_t> times;
  Page<std::string> page;
  for (int step = 0; step < 100 && !pager.done(); ++step) {
    if (pager.TakePage(&page)) {
      items->insert(items->end(), page.items.begin(), page.items.end());
      continue;
    }
    const std::vector<std::string> wants = pager.Wants(0);
    if (wants.empty()) return absl::InternalError("stalled");
    asked->push_back(wants[0]);
    if (auto seq = sequences.find(wants[0]); seq != sequences.end()) {
      const size_t n = times[wants[0]]++;
      RETURN_IF_ERROR(pager.Feed(
          wants[0],
          Answer(200, seq->second[std::min(n, seq->second.size() - 1)])));
      continue;
    }
    auto it = answers.find(wants[0]);
    if (it == answers.end()) return absl::NotFoundError(wants[0]);
    RETURN_IF_ERROR(pager.Feed(wants[0], Answer(200, it->second)));
  }
  return absl::OkStatus();
}

TEST(ScimPagerTest, AProviderThatIgnoresStartIndexIsRefused) {
  // It says so: the answer starts elsewhere than asked.
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(UserIds(2), 2, "u1:3:0");
  ASSERT_THAT(pager.status(), IsOk());
  absl::Status fed = (*pager)->Feed("/Users?startIndex=3&count=2",
                                    Answer(200, Ids({"a", "b"}, 6, 1)));
  EXPECT_THAT(fed, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(GetErrorInfo(fed)->reason(), "UPSTREAM_PAGING_IGNORED");
  // Or it echoes the start asked and answers the first page again: the
  // stream, and a List page from the token before, both see it.
  const std::map<std::string, std::string> answers = {
      {"/Users?startIndex=1&count=2", Ids({"a", "b"}, 6, 1)},
      {"/Users?startIndex=2&count=2", Ids({"a", "b"}, 6, 2)},
      {"/Users?startIndex=3&count=2", Ids({"a", "b"}, 6, 3)}};
  std::vector<std::string> items, asked;
  pager = NewScimPager(UserIds(2), 2, "");
  fed = Drain(**pager, answers, &items, &asked);
  EXPECT_EQ(GetErrorInfo(fed)->reason(), "UPSTREAM_PAGING_IGNORED");
  EXPECT_THAT(items, ElementsAre("a", "b"));
  pager = NewScimPager(UserIds(2), 2, "u1:3:0:6:Yg");  // After "b".
  items.clear();
  fed = Drain(**pager, answers, &items, &asked);
  EXPECT_EQ(GetErrorInfo(fed)->reason(), "UPSTREAM_PAGING_IGNORED");
  EXPECT_TRUE(items.empty());
}

TEST(ScimPagerTest, RecordsAddedBeforeAPageAreNotReturnedTwice) {
  // "x" was added before "b" after the first page was read: the answer
  // from "b"'s place holds nothing new, the next one "b" again.
  const std::map<std::string, std::string> answers = {
      {"/Users?startIndex=1&count=2", Ids({"a", "b"}, 4)},
      {"/Users?startIndex=2&count=2", Ids({"x", "b"}, 5)},
      {"/Users?startIndex=3&count=2", Ids({"b", "c"}, 5)},
      {"/Users?startIndex=4&count=2", Ids({"c", "d"}, 5)}};
  std::vector<std::string> items, asked;
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(UserIds(2), 2, "");
  ASSERT_THAT(Drain(**pager, answers, &items, &asked), IsOk());
  EXPECT_THAT(items, ElementsAre("a", "b", "c", "d"));
}

TEST(ScimPagerTest, RecordsRemovedBeforeAPageAreReadAgainNotLost) {
  // "a" was removed after the first page was read: "c" moved to "b"'s
  // place, and the answer from there holds nothing read; asked again a
  // record back, it opens with "b".
  const std::map<std::string, std::string> answers = {
      {"/Users?startIndex=2&count=2", Ids({"c", "d"}, 4)},
      {"/Users?startIndex=3&count=2", Ids({"d", "e"}, 4)}};
  const std::map<std::string, std::vector<std::string>> moving = {
      {"/Users?startIndex=1&count=2",
       {Ids({"a", "b"}, 5), Ids({"b", "c"}, 4)}}};
  std::vector<std::string> items, asked;
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(UserIds(2), 2, "");
  ASSERT_THAT(Drain(**pager, answers, &items, &asked, moving), IsOk());
  EXPECT_THAT(items, ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_THAT(
      asked,
      ElementsAre("/Users?startIndex=1&count=2", "/Users?startIndex=2&count=2",
                  "/Users?startIndex=1&count=2", "/Users?startIndex=2&count=2",
                  "/Users?startIndex=3&count=2"));
}

TEST(ScimPagerTest, AnUnreadableResourceIsCountedNotFatal) {
  ScimListing<std::string> listing = UserIds(3);
  listing.map = [](const rapidjson::Value& r, std::vector<std::string>* out) {
    const std::string id = json::StringOr(r, "id");
    if (id == "bad") return absl::InternalError("unreadable");
    out->push_back(id);
    return absl::OkStatus();
  };
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(listing, 3, "");
  ASSERT_THAT(pager.status(), IsOk());
  ASSERT_THAT((*pager)->Feed("/Users?startIndex=1&count=3",
                             Answer(200, Ids({"a", "bad", "c"}, 3, 1))),
              IsOk());
  Page<std::string> page;
  ASSERT_TRUE((*pager)->TakePage(&page));
  EXPECT_THAT(page.items, ElementsAre("a", "c"));
  EXPECT_EQ(page.unreadable, 1);
  EXPECT_EQ(page.next_page_token, "");
}

TEST(ScimPagerTest, PreconditionErrorsAndTokens) {
  ScimListing<std::string> listing = UserIds(2);
  listing.precondition = "/Groups/g?excludedAttributes=members";
  listing.query = "filter=groups.value%20eq%20%22g%22";
  absl::StatusOr<std::unique_ptr<Pager<std::string>>> pager =
      NewScimPager(listing, 2, "");
  ASSERT_THAT(pager.status(), IsOk());
  EXPECT_THAT((*pager)->Wants(4),
              ElementsAre("/Groups/g?excludedAttributes=members"));
  EXPECT_EQ(GetErrorInfo((*pager)->Feed("/Groups/g?excludedAttributes=members",
                                        Answer(404, R"({"status":"404"})")))
                ->reason(),
            "UPSTREAM_NOT_FOUND");
  // Resumed from a token, the precondition was met on the first page.
  pager = NewScimPager(listing, 2, "u1:3:0");
  ASSERT_THAT(pager.status(), IsOk());
  EXPECT_THAT((*pager)->Wants(0),
              ElementsAre("/Users?startIndex=3&count=2&filter=groups.value%20eq"
                          "%20%22g%22"));
  // An answer to another request, a malformed body, another listing's
  // token.
  EXPECT_THAT((*pager)->Feed("/Users?startIndex=1&count=2", Answer(200, "{}")),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_EQ(
      GetErrorInfo(NewScimPager(UserIds(2), 2, "w1:1:0").status())->reason(),
      "INVALID_CURSOR");
  pager = NewScimPager(UserIds(2), 2, "");
  EXPECT_EQ(GetErrorInfo((*pager)->Feed("/Users?startIndex=1&count=2",
                                        Answer(200, "{not json")))
                ->reason(),
            "UPSTREAM_MALFORMED_RESPONSE");
}

}  // namespace
}  // namespace unified::scim
