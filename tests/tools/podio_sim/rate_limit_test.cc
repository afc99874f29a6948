// Rate limits of the simulator (docs/podio.md §5), with the simulated clock.
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RateLimitTest : public SimTest {
 protected:
  void Configure(SimulatorOptions& options) override {
    options.rate.limit = 5;
    options.rate.restricted_limit = 2;
  }
  static int64_t Remaining(const HttpResponse& r) {
    int64_t v = -1;
    EXPECT_TRUE(absl::SimpleAtoi(r.Header("x-rate-limit-remaining"), &v));
    return v;
  }
};

TEST_F(RateLimitTest, CountsDownThenAnswers420ForEveryCallUntilTheWindowFrees) {
  const std::string token = AdminToken();
  for (int i = 4; i >= 0; --i) {
    HttpResponse r = Get("/user/", token);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("x-rate-limit-limit"), "5");
    EXPECT_EQ(Remaining(r), i);
  }
  for (const std::string path : {"/user/", "/org/", "/user/status"}) {
    HttpResponse r = Get(path, token);
    ASSERT_EQ(r.status, 420) << path;
    EXPECT_EQ(Remaining(r), 0);
    rapidjson::Document doc = ParseJson(r.body);
    EXPECT_EQ(std::string(doc["error"].GetString()), "rate_limit");
    EXPECT_THAT(std::string(doc["error_description"].GetString()),
                HasSubstr("You have hit the rate limit. Please wait 3600 "
                          "seconds before trying again"));
  }
  // Another user of the same client has a budget of its own.
  EXPECT_EQ(Get("/user/", RegularToken()).status, 200);
  sim_->clock().Advance(absl::Minutes(59));
  HttpResponse still = Get("/user/", token);
  EXPECT_EQ(still.status, 420);
  EXPECT_THAT(still.body, HasSubstr("Please wait 60 seconds"));
  sim_->clock().Advance(absl::Minutes(1));
  HttpResponse again = Get("/user/", token);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(Remaining(again), 4);
}

TEST_F(RateLimitTest, RateLimitedOperationsHaveTheSmallerBudget) {
  const std::string token = AdminToken();
  HttpResponse first = Get("/contact/", token);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("x-rate-limit-limit"), "2");
  EXPECT_EQ(Remaining(first), 1);
  EXPECT_EQ(Get("/contact/", token).status, 200);
  EXPECT_EQ(Get("/contact/", token).status, 420);
  // The general budget still has room: 2 of 5 spent.
  HttpResponse general = Get("/user/", token);
  EXPECT_EQ(general.status, 200);
  EXPECT_EQ(Remaining(general), 2);
}

TEST_F(RateLimitTest, HeadersGoOnAnswersToAKnownCallerAndNeverRefill) {
  // Unauthenticated answers carry none (the recorded 401 has none).
  HttpResponse missing = Get("/user/", "");
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(missing.Header("x-rate-limit-limit"), "");
  EXPECT_EQ(missing.Header("x-rate-limit-remaining"), "");
  HttpResponse expired = Get("/user/", "not-a-token");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.Header("x-rate-limit-remaining"), "");
  HttpRequest bad;
  bad.url = Url("/user/");
  bad.headers = {{"Authorization", "Basic abc"}};
  absl::StatusOr<HttpResponse> sent = http_->Send(bad);
  ASSERT_TRUE(sent.ok());
  const HttpResponse& bad_header = *sent;
  EXPECT_EQ(bad_header.status, 400);
  EXPECT_EQ(bad_header.Header("x-rate-limit-remaining"), "");
  // Token calls are not counted against the API budget.
  const std::string token = AdminToken();
  AdminToken();
  AdminToken();
  HttpResponse r = Get("/user/", token);
  EXPECT_EQ(Remaining(r), 4);
  // An unknown route is not counted, and reports the budget as it stands,
  // not a full one.
  HttpResponse not_found = Get("/nope/", token);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.Header("x-rate-limit-limit"), "5");
  EXPECT_EQ(Remaining(not_found), 4);
  EXPECT_EQ(Get("/nope/", "").Header("x-rate-limit-remaining"), "");
  EXPECT_EQ(Remaining(Get("/user/", token)), 3);
}

TEST_F(RateLimitTest, The420StatusLineNamesTheRateLimit) {
  const std::string token = AdminToken();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Get("/user/", token).status, 200);
  const std::string answer = RawExchange(absl::StrCat(
      "GET /user/ HTTP/1.1\r\nHost: localhost\r\nAuthorization: OAuth2 ", token,
      "\r\nConnection: close\r\n\r\n"));
  EXPECT_TRUE(absl::StartsWith(answer, "HTTP/1.1 420 Enhance Your Calm\r\n"))
      << answer.substr(0, 40);
  EXPECT_THAT(answer, Not(HasSubstr("Internal Server Error")));
}

class TokenThrottleTest : public RateLimitTest {
 protected:
  void Configure(SimulatorOptions& options) override {
    RateLimitTest::Configure(options);
    options.rate.token_limit = 3;
  }
  std::pair<std::string, std::string> Tokens() {
    HttpResponse r = TokenCall(
        "grant_type=password&client_id=demo-client&client_secret=demo-secret"
        "&username=demo@example.com&password=demo-password");
    EXPECT_EQ(r.status, 200) << r.body;
    rapidjson::Document doc = ParseJson(r.body);
    return {doc["access_token"].GetString(), doc["refresh_token"].GetString()};
  }
  HttpResponse Refresh(const std::string& refresh_token) {
    return TokenCall(absl::StrCat(
        "grant_type=refresh_token&client_id=demo-client&client_secret=demo-"
        "secret&refresh_token=",
        refresh_token));
  }
};

TEST_F(TokenThrottleTest, TheTokenEndpointHasALimitOfItsOwn) {
  auto [access, refresh] = Tokens();  // 1 of 3.
  ASSERT_EQ(Get("/user/", access).status, 200);
  ASSERT_EQ(Refresh(refresh).status, 200);  // 2 of 3.
  ASSERT_EQ(Refresh(refresh).status, 200);  // 3 of 3.
  HttpResponse limited = Refresh(refresh);
  ASSERT_EQ(limited.status, 420);
  rapidjson::Document doc = ParseJson(limited.body);
  EXPECT_EQ(std::string(doc["error"].GetString()), "rate_limit");
  EXPECT_THAT(std::string(doc["error_description"].GetString()),
              HasSubstr("Please wait 3600 seconds"));
  EXPECT_EQ(std::string(doc["request"]["url"].GetString()), "/oauth/token");
  // As recorded: the API budget is not spent (1 call of 5), and says so.
  EXPECT_EQ(limited.Header("x-rate-limit-limit"), "5");
  EXPECT_EQ(Remaining(limited), 4);
  EXPECT_EQ(limited.Header("x-podio-auth-ref"), "None");
  // The API itself still answers; another principal has its own throttle.
  EXPECT_EQ(Get("/user/", access).status, 200);
  EXPECT_FALSE(RegularToken().empty());
  sim_->clock().Advance(absl::Hours(1));
  EXPECT_EQ(Refresh(refresh).status, 200);
}

}  // namespace
}  // namespace unified::podio_sim::testing
