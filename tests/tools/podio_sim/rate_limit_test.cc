// Rate limits of the simulator (podio-api.md §5), with the simulated clock.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::testing::HasSubstr;

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

TEST_F(RateLimitTest, HeadersAreOnEveryAnswerAndTokenCallsAreNotCounted) {
  HttpResponse unauthenticated = Get("/user/", "");
  EXPECT_EQ(unauthenticated.Header("x-rate-limit-limit"), "5");
  EXPECT_EQ(Remaining(unauthenticated), 5);
  const std::string token = AdminToken();
  AdminToken();
  AdminToken();
  HttpResponse r = Get("/user/", token);
  EXPECT_EQ(Remaining(r), 4);
  HttpResponse not_found = Get("/nope/", token);
  EXPECT_FALSE(not_found.Header("x-rate-limit-limit").empty());
}

}  // namespace
}  // namespace unified::podio_sim::testing
