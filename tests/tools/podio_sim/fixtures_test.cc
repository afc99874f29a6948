// The simulator against the recorded-shape fixtures (tests/fixtures/podio):
// for every directory route and error, the status line, the headers and the
// body's fields, types and formats are those the cited sources show.
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fixtures/podio/fixture.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::unified::testing::CheckShape;
using ::unified::testing::LoadPodioFixtures;
using ::unified::testing::PodioFixture;

struct RawAnswer {
  int status = 0;
  std::string reason_phrase;
  std::map<std::string, std::string> headers;  // Lower-cased names.
  std::string body;
};

RawAnswer ParseAnswer(const std::string& text) {
  RawAnswer answer;
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return answer;
  std::vector<std::string> lines = absl::StrSplit(text.substr(0, end), "\r\n");
  // "HTTP/1.1 200 OK"
  std::vector<std::string> status =
      absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status.size() >= 2) (void)absl::SimpleAtoi(status[1], &answer.status);
  if (status.size() == 3) answer.reason_phrase = status[2];
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    answer.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  answer.body = text.substr(end + 4);
  return answer;
}

class FixturesTest : public SimTest,
                     public ::testing::WithParamInterface<PodioFixture> {
 protected:
  // The fixtures show the documented shapes, with the fields recorded real
  // answers lack (routes_test checks the default, recorded shape).
  void Configure(SimulatorOptions& options) override {
    options.documented_fields = true;
  }

  std::string Fill(const std::string& text) {
    std::string space_url;
    sim_->ReadDirectory([&](const Directory& d) {
      const SimSpace* s = d.FindSpace(FirstSpace());
      space_url =
          absl::StrCat("https://podio.com/", d.FindOrg(s->org_id)->url_label,
                       "/", s->url_label);
    });
    return absl::StrReplaceAll(
        text,
        {{"{org_id}", absl::StrCat(FirstOrg())},
         {"{space_id}", absl::StrCat(FirstSpace())},
         {"{admin_user_id}", absl::StrCat(AdminId())},
         {"{regular_user_id}", absl::StrCat(kFirstUserId + kRegularUserIndex)},
         {"{space_url}", httplib::detail::encode_query_param(space_url)},
         {"{client_id}", sim_->options().oauth.client_id},
         {"{client_secret}", sim_->options().oauth.client_secret},
         {"{admin_username}", "demo@example.com"},
         {"{admin_password}", sim_->options().admin_password}});
  }
};

TEST_P(FixturesTest, TheSimulatorAnswersAsTheFixtureShows) {
  const PodioFixture& fixture = GetParam();
  ASSERT_EQ(fixture.problem, "") << fixture.name;
  if (fixture.Has("fault")) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    fixture["fault"].Accept(writer);
    absl::StatusOr<FaultRule> rule = ParseFaultRule(buffer.GetString());
    ASSERT_TRUE(rule.ok()) << rule.status();
    sim_->faults().Add(*rule);
  }
  const rapidjson::Value& request = fixture["request"];
  const std::string as =
      request.HasMember("as") ? request["as"].GetString() : "admin";
  std::string authorization;
  if (as == "admin") authorization = "OAuth2 " + AdminToken();
  if (as == "regular") authorization = "OAuth2 " + RegularToken();
  if (as == "bogus") authorization = "OAuth2 not-a-token";
  if (as == "empty") authorization = "OAuth2 ";
  const std::string form =
      request.HasMember("form") ? Fill(request["form"].GetString()) : "";
  std::string raw = absl::StrCat(request["method"].GetString(), " ",
                                 Fill(request["path"].GetString()),
                                 " HTTP/1.1\r\nHost: localhost\r\n");
  if (!authorization.empty()) {
    absl::StrAppend(&raw, "Authorization: ", authorization, "\r\n");
  }
  if (request.HasMember("form")) {
    absl::StrAppend(&raw,
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    "Content-Length: ",
                    form.size(), "\r\n");
  }
  absl::StrAppend(&raw, "Connection: close\r\n\r\n", form);
  const RawAnswer answer = ParseAnswer(RawExchange(raw));

  EXPECT_EQ(answer.status, fixture["status"].GetInt());
  if (fixture.Has("reason_phrase")) {
    EXPECT_EQ(answer.reason_phrase, fixture.String("reason_phrase"));
  }
  for (const auto& h : fixture["headers"].GetObject()) {
    const std::string name = h.name.GetString();
    const std::string want = h.value.GetString();
    auto it = answer.headers.find(name);
    if (it == answer.headers.end()) {
      ADD_FAILURE() << "missing header " << name;
      continue;
    }
    int64_t n = 0;
    if (want == "#int") {
      EXPECT_TRUE(absl::SimpleAtoi(it->second, &n))
          << name << ": " << it->second;
    } else if (want != "#any") {
      EXPECT_EQ(it->second, want) << name;
    }
  }
  for (const std::string& name : fixture.Set("absent_headers")) {
    EXPECT_EQ(answer.headers.count(name), 0u) << "unexpected header " << name;
  }
  rapidjson::Document body;
  body.Parse(answer.body.c_str(), answer.body.size());
  ASSERT_FALSE(body.HasParseError()) << answer.body.substr(0, 200);
  std::vector<std::string> problems;
  CheckShape(fixture["body"], body, "", fixture.Set("nullable"), &problems);
  EXPECT_THAT(problems, ::testing::IsEmpty()) << answer.body.substr(0, 400);
  for (const std::string& key : fixture.Set("exact")) {
    ASSERT_TRUE(body.IsObject() && body.HasMember(key.c_str())) << key;
    EXPECT_TRUE(body[key.c_str()] == fixture["body"][key.c_str()]) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Podio, FixturesTest, ::testing::ValuesIn(LoadPodioFixtures()),
    [](const ::testing::TestParamInfo<PodioFixture>& info) {
      return info.param.name;
    });

TEST(FixtureSetTest, EveryRouteAndErrorHasOne) {
  std::set<std::string> names;
  for (const PodioFixture& f : LoadPodioFixtures()) names.insert(f.name);
  EXPECT_GE(names.size(), 30u);
  for (const char* needed :
       {"user", "user_status", "contacts", "contact_org", "contact_space",
        "orgs", "org", "org_members", "org_member", "space", "space_by_url",
        "space_members_v2", "error_expired_token", "error_unknown_route",
        "error_rate_limit", "error_token_rate_limit"}) {
    EXPECT_EQ(names.count(needed), 1u) << needed;
  }
}

}  // namespace
}  // namespace unified::podio_sim::testing
