// Fault injection and the request log of the simulator.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::StatusIs;

class FaultsTest : public SimTest {
 protected:
  void SetUp() override {
    SimTest::SetUp();
    token_ = AdminToken();
  }
  void AddFault(const std::string& json) {
    HttpResponse r = Send("POST", "/_sim/faults", "", json);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  absl::StatusOr<HttpResponse> Raw(const std::string& path) {
    HttpRequest request;
    request.url = Url(path);
    request.headers = {{"Authorization", "OAuth2 " + token_}};
    request.timeout = absl::Seconds(10);
    return http_->Send(request);
  }
  std::string token_;
};

TEST_F(FaultsTest, StatusFaultOnTheKthCallOnly) {
  AddFault(R"({"method":"GET","path":"/org/*","kind":"status","status":503,)"
           R"("skip":1,"times":1})");
  EXPECT_EQ(Get("/org/", token_).status, 200);
  HttpResponse failed = Get("/org/", token_);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(std::string(ParseJson(failed.body)["error"].GetString()),
            "server_error");
  EXPECT_EQ(Get("/org/", token_).status, 200);
  EXPECT_EQ(Get("/user/", token_).status, 200);  // Path not matched.
}

TEST_F(FaultsTest, InjectedRateLimitAndUnauthorized) {
  AddFault(R"({"path":"/user/","kind":"rate_limit","times":1})");
  AddFault(
      R"({"path":"/user/status","kind":"unauthorized","skip":2,"times":1})");
  HttpResponse limited = Get("/user/", token_);
  EXPECT_EQ(limited.status, 420);
  EXPECT_THAT(limited.body, HasSubstr("Please wait 300 seconds"));
  EXPECT_EQ(Get("/user/status", token_).status, 200);
  EXPECT_EQ(Get("/user/status", token_).status, 200);
  HttpResponse third = Get("/user/status", token_);
  EXPECT_EQ(third.status, 401);
  EXPECT_EQ(third.Header("www-authenticate"),
            "Bearer realm=\"podio\", error=\"expired_token\"");
  EXPECT_EQ(Get("/user/status", token_).status, 200);
}

TEST_F(FaultsTest, ResetAndTruncateAreTransportErrors) {
  // Every call: libcurl retries once by itself when a reused connection
  // closes without an answer, so a single reset could go unseen.
  AddFault(R"({"path":"/user/","kind":"reset"})");
  EXPECT_THAT(Raw("/user/"), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_EQ(Send("DELETE", "/_sim/faults").status, 204);
  EXPECT_TRUE(Raw("/user/").ok());
  AddFault(R"({"path":"/org/","kind":"truncate","times":1})");
  EXPECT_THAT(Raw("/org/"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(Raw("/org/").ok());
}

TEST_F(FaultsTest, MalformedJsonAndInvalidUtf8) {
  AddFault(R"({"path":"/org/","kind":"malformed_json","times":1})");
  HttpResponse malformed = Get("/org/", token_);
  EXPECT_EQ(malformed.status, 200);
  rapidjson::Document doc;
  doc.Parse(malformed.body.c_str(), malformed.body.size());
  EXPECT_TRUE(doc.HasParseError());

  AddFault(R"({"path":"/user/profile/","kind":"invalid_utf8","times":1})");
  HttpResponse bad = Get("/user/profile/", token_);
  EXPECT_EQ(bad.status, 200);
  rapidjson::Document strict;
  strict.Parse<rapidjson::kParseValidateEncodingFlag>(bad.body.c_str(),
                                                      bad.body.size());
  EXPECT_TRUE(strict.HasParseError());
  rapidjson::Document lax;
  lax.Parse(bad.body.c_str(), bad.body.size());
  EXPECT_FALSE(lax.HasParseError());  // Still JSON, just not UTF-8.
}

TEST_F(FaultsTest, LatencyAndSlowBodyDelayButDeliverEverything) {
  HttpResponse normal = Get("/org/", token_);
  AddFault(R"({"path":"/org/","kind":"latency","latency_ms":40,"times":1})");
  AddFault(
      R"({"path":"/org/","kind":"slow_body","chunk_delay_ms":5,"skip":1,"times":1})");
  absl::Time start = absl::Now();
  HttpResponse delayed = Get("/org/", token_);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(40));
  EXPECT_EQ(delayed.body, normal.body);
  HttpResponse slow = Get("/org/", token_);
  EXPECT_EQ(slow.body, normal.body);
  EXPECT_GT(normal.body.size(), 256u);  // So it came in several pieces.
}

TEST_F(FaultsTest, AdminApiRefusesBadRulesAndLists) {
  EXPECT_EQ(Send("POST", "/_sim/faults", "", R"({"kind":"explode"})").status,
            400);
  EXPECT_EQ(Send("POST", "/_sim/faults", "", "not json").status, 400);
  EXPECT_EQ(Send("POST", "/_sim/faults", "", R"({"kind":"status","status":99})")
                .status,
            400);
  AddFault(
      R"([{"kind":"latency","latency_ms":1},{"kind":"status","path":"/x"}])");
  rapidjson::Document list = ParseJson(Get("/_sim/faults", "").body);
  EXPECT_EQ(list.Size(), 2u);
  EXPECT_EQ(Send("DELETE", "/_sim/faults").status, 204);
  EXPECT_EQ(ParseJson(Get("/_sim/faults", "").body).Size(), 0u);
}

TEST_F(FaultsTest, RequestLogRecordsCallsButNeverTokens) {
  ASSERT_EQ(Send("DELETE", "/_sim/requests").status, 204);
  const int64_t since =
      ParseJson(Get("/_sim/requests?since=999999999", "").body)["next"]
          .GetInt64();
  Get("/org/?x=1", token_);
  Get("/user/", "");
  HttpResponse log = Get(absl::StrCat("/_sim/requests?since=", since), "");
  rapidjson::Document doc = ParseJson(log.body);
  ASSERT_EQ(doc["requests"].Size(), 2u);
  const rapidjson::Value& first = doc["requests"][0];
  EXPECT_EQ(std::string(first["method"].GetString()), "GET");
  EXPECT_EQ(std::string(first["path"].GetString()), "/org/");
  EXPECT_EQ(std::string(first["query"].GetString()), "x=1");
  EXPECT_EQ(std::string(first["identity"].GetString()),
            absl::StrCat("user:", AdminId(), "/demo-client"));
  EXPECT_EQ(std::string(first["authorization_scheme"].GetString()), "OAuth2");
  EXPECT_EQ(first["status"].GetInt(), 200);
  EXPECT_EQ(doc["requests"][1]["status"].GetInt(), 401);
  EXPECT_THAT(log.body, Not(HasSubstr(token_)));
}

TEST_F(FaultsTest, ClockAdvancesOnlyWhenTold) {
  rapidjson::Document before = ParseJson(Get("/_sim/clock", "").body);
  EXPECT_EQ(std::string(before["now"].GetString()), "2026-01-01 00:00:00");
  EXPECT_EQ(Send("POST", "/_sim/clock/advance?seconds=90").status, 200);
  rapidjson::Document after = ParseJson(Get("/_sim/clock", "").body);
  EXPECT_EQ(after["unix"].GetInt64() - before["unix"].GetInt64(), 90);
  EXPECT_EQ(Send("POST", "/_sim/clock/advance?seconds=-5").status, 400);
}

class NoAdminTest : public SimTest {
 protected:
  void Configure(SimulatorOptions& options) override {
    options.admin_api = false;
  }
};

TEST_F(NoAdminTest, AdminApiIsOffUnlessEnabled) {
  EXPECT_EQ(Get("/_sim/clock", "").status, 404);
}

}  // namespace
}  // namespace unified::podio_sim::testing
