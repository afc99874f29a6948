// OAuth grants, token expiry and authentication answers of the simulator,
// against docs/podio.md §2 and §8.
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tools/podio_sim/sim_test_util.h"

namespace unified::podio_sim::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::set<std::string> kTokenFields = {"access_token", "token_type",
                                            "expires_in",   "refresh_token",
                                            "scope",        "ref"};
const std::set<std::string> kErrorFields = {
    "error",           "error_description",
    "error_detail",    "error_parameters",
    "error_propagate", "request"};

class OAuthTest : public SimTest {};

void ExpectError(const HttpResponse& r, int status, const std::string& error,
                 const std::string& description_part = "") {
  EXPECT_EQ(r.status, status) << r.body;
  rapidjson::Document doc = ParseJson(r.body);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(Keys(doc), kErrorFields);
  EXPECT_EQ(std::string(doc["error"].GetString()), error);
  EXPECT_THAT(std::string(doc["error_description"].GetString()),
              HasSubstr(description_part));
  EXPECT_EQ(r.Header("content-type"), "application/json; charset=utf-8");
}

TEST_F(OAuthTest, PasswordGrantAnswersThePodioTokenShape) {
  HttpResponse r = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=demo%40example.com&password=demo-password");
  ASSERT_EQ(r.status, 200) << r.body;
  rapidjson::Document doc = ParseJson(r.body);
  EXPECT_EQ(Keys(doc), kTokenFields);
  EXPECT_EQ(std::string(doc["token_type"].GetString()), "bearer");
  EXPECT_EQ(doc["expires_in"].GetInt64(), 28800);
  EXPECT_EQ(std::string(doc["scope"].GetString()), "global:all");
  EXPECT_EQ(std::string(doc["ref"]["type"].GetString()), "user");
  EXPECT_EQ(doc["ref"]["id"].GetInt64(), AdminId());
  EXPECT_EQ(std::string(doc["access_token"].GetString()).size(), 64u);
}

TEST_F(OAuthTest, TokenV2TakesJson) {
  HttpResponse r = Send("POST", "/oauth/token/v2", "",
                        R"({"grant_type":"password","client_id":"demo-client",)"
                        R"("client_secret":"demo-secret",)"
                        R"("username":"regular@example.com",)"
                        R"("password":"regular-password"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(ParseJson(r.body)["ref"]["id"].GetInt64(), AdminId() + 1);
}

TEST_F(OAuthTest, AuthorizationCodeFlowWithStateAndSingleUseCodes) {
  const std::string redirect = "http://127.0.0.1:9/callback";
  HttpResponse r = Get(
      "/oauth/authorize?response_type=code&client_id=demo-client&state=s%201"
      "&redirect_uri=" +
          redirect,
      "");
  ASSERT_EQ(r.status, 302);
  const std::string location = r.Header("location");
  ASSERT_THAT(location, StartsWith(redirect + "?code="));
  EXPECT_THAT(location, HasSubstr("&state=s%201"));
  const std::string code = location.substr(
      redirect.size() + 6, location.find('&') - redirect.size() - 6);
  const std::string form = absl::StrCat(
      "grant_type=authorization_code&client_id=demo-client&client_secret="
      "demo-secret&code=",
      code, "&redirect_uri=", redirect);
  HttpResponse wrong_redirect = TokenCall(absl::StrCat(
      "grant_type=authorization_code&client_id=demo-client&client_secret="
      "demo-secret&code=",
      code, "&redirect_uri=http://127.0.0.1:9/other"));
  ExpectError(wrong_redirect, 400, "invalid_grant");
  // The failed attempt consumed the code, as a single-use code must be.
  ExpectError(TokenCall(form), 400, "invalid_grant");

  r = Get("/oauth/authorize?client_id=demo-client&redirect_uri=" + redirect,
          "");
  const std::string code2 = r.Header("location").substr(redirect.size() + 6);
  const std::string form2 = absl::StrCat(
      "grant_type=authorization_code&client_id=demo-client&client_secret="
      "demo-secret&code=",
      code2, "&redirect_uri=", redirect);
  HttpResponse token = TokenCall(form2);
  ASSERT_EQ(token.status, 200) << token.body;
  EXPECT_EQ(ParseJson(token.body)["ref"]["id"].GetInt64(), AdminId());
  ExpectError(TokenCall(form2), 400, "invalid_grant");
}

TEST_F(OAuthTest, AuthorizationCodesExpire) {
  const std::string redirect = "http://127.0.0.1:9/cb";
  HttpResponse r = Get(
      "/oauth/authorize?client_id=demo-client&redirect_uri=" + redirect, "");
  const std::string code = r.Header("location").substr(redirect.size() + 6);
  sim_->clock().Advance(absl::Minutes(11));
  ExpectError(TokenCall(absl::StrCat(
                  "grant_type=authorization_code&client_id=demo-client&"
                  "client_secret=demo-secret&code=",
                  code, "&redirect_uri=", redirect)),
              400, "invalid_grant", "expired");
}

TEST_F(OAuthTest, DeniedConsentRedirectsWithTheDocumentedError) {
  HttpResponse deny = Send("POST", "/_sim/consent?deny=1");
  ASSERT_EQ(deny.status, 204);
  HttpResponse r =
      Get("/oauth/authorize?client_id=demo-client&state=abc&redirect_uri="
          "http://127.0.0.1:9/cb",
          "");
  ASSERT_EQ(r.status, 302);
  EXPECT_EQ(r.Header("location"),
            "http://127.0.0.1:9/cb?error_reason=user_denied&error="
            "access_denied&error_description=The+user+denied+your+request."
            "&state=abc");
}

TEST_F(OAuthTest, AuthorizeRefusesUnknownClientsAndForeignRedirects) {
  ExpectError(Get("/oauth/authorize?client_id=nope&redirect_uri="
                  "http://127.0.0.1:9/cb",
                  ""),
              400, "invalid_client");
  ExpectError(Get("/oauth/authorize?client_id=demo-client&redirect_uri="
                  "http://evil.example/cb",
                  ""),
              400, "invalid_request");
}

TEST_F(OAuthTest, RefreshKeepsTheRefreshTokenAndIssuesANewAccessToken) {
  HttpResponse first = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=demo@example.com&password=demo-password");
  rapidjson::Document a = ParseJson(first.body);
  const std::string refresh = a["refresh_token"].GetString();
  HttpResponse second = TokenCall(absl::StrCat(
      "grant_type=refresh_token&client_id=demo-client&client_secret="
      "demo-secret&refresh_token=",
      refresh));
  ASSERT_EQ(second.status, 200) << second.body;
  rapidjson::Document b = ParseJson(second.body);
  EXPECT_EQ(std::string(b["refresh_token"].GetString()), refresh);
  EXPECT_NE(std::string(b["access_token"].GetString()),
            std::string(a["access_token"].GetString()));
  EXPECT_EQ(Get("/user/", b["access_token"].GetString()).status, 200);
}

TEST_F(OAuthTest, AccessTokensExpireAfterEightHoursAndRefreshAfter28Days) {
  HttpResponse first = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=demo@example.com&password=demo-password");
  rapidjson::Document doc = ParseJson(first.body);
  const std::string access = doc["access_token"].GetString();
  const std::string refresh = doc["refresh_token"].GetString();
  sim_->clock().Advance(absl::Hours(8) - absl::Seconds(1));
  EXPECT_EQ(Get("/user/", access).status, 200);
  sim_->clock().Advance(absl::Seconds(1));
  HttpResponse expired = Get("/user/", access);
  ExpectError(expired, 401, "unauthorized", "expired_token");
  EXPECT_EQ(expired.Header("www-authenticate"),
            "Bearer realm=\"podio\", error=\"expired_token\"");
  sim_->clock().Advance(absl::Hours(24 * 28));
  ExpectError(
      TokenCall(absl::StrCat("grant_type=refresh_token&client_id=demo-client&"
                             "client_secret=demo-secret&refresh_token=",
                             refresh)),
      400, "invalid_grant");
}

TEST_F(OAuthTest, AppGrantActsAsTheAppOnly) {
  HttpResponse r = TokenCall(
      "grant_type=app&client_id=demo-client&client_secret=demo-secret"
      "&app_id=1001&app_token=demo-app-token");
  ASSERT_EQ(r.status, 200) << r.body;
  rapidjson::Document doc = ParseJson(r.body);
  EXPECT_EQ(std::string(doc["ref"]["type"].GetString()), "app");
  EXPECT_EQ(doc["ref"]["id"].GetInt64(), 1001);
  const std::string token = doc["access_token"].GetString();
  ExpectError(Get("/user/status", token), 403, "forbidden");
  EXPECT_EQ(Get(absl::StrCat("/space/", FirstSpace()), token).status, 200);
  HttpResponse scope = Get("/oauth/scope", token);
  ASSERT_EQ(scope.status, 200);
  rapidjson::Document scopes = ParseJson(scope.body);
  EXPECT_EQ(std::string(scopes[0]["ref_type"].GetString()), "app");
  ExpectError(TokenCall("grant_type=app&client_id=demo-client&client_secret="
                        "demo-secret&app_id=1001&app_token=wrong"),
              400, "invalid_grant");
}

TEST_F(OAuthTest, TokenEndpointErrorsCarryPodioDetails) {
  HttpResponse bad_client = TokenCall(
      "grant_type=password&client_id=nope&client_secret=demo-secret"
      "&username=demo@example.com&password=demo-password");
  ExpectError(bad_client, 400, "invalid_client",
              "Sorry, you've supplied an invalid client id.");
  EXPECT_EQ(std::string(ParseJson(bad_client.body)["error_detail"].GetString()),
            "oauth.client.invalid_id");
  HttpResponse bad_secret = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=x"
      "&username=demo@example.com&password=demo-password");
  EXPECT_EQ(std::string(ParseJson(bad_secret.body)["error_detail"].GetString()),
            "oauth.client.invalid_secret");
  HttpResponse bad_password = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=demo@example.com&password=wrong");
  ExpectError(bad_password, 400, "invalid_grant");
  EXPECT_EQ(
      std::string(ParseJson(bad_password.body)["error_detail"].GetString()),
      "user.invalid.password");
  HttpResponse bad_user = TokenCall(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=nobody@example.com&password=x");
  EXPECT_EQ(std::string(ParseJson(bad_user.body)["error_detail"].GetString()),
            "user.invalid.username");
  ExpectError(TokenCall("grant_type=refresh_token&client_id=demo-client&"
                        "client_secret=demo-secret&refresh_token=bogus"),
              400, "invalid_grant");
  ExpectError(TokenCall("grant_type=magic&client_id=demo-client&"
                        "client_secret=demo-secret"),
              400, "unsupported_grant_type");
}

TEST_F(OAuthTest, AuthenticationFailuresAnswerLikeTheRecordings) {
  HttpResponse missing = Get("/user/status", "");
  ExpectError(missing, 401, "unauthorized", "invalid_request");
  rapidjson::Document doc = ParseJson(missing.body);
  EXPECT_EQ(std::string(doc["request"]["url"].GetString()), "/user/status");
  EXPECT_EQ(std::string(doc["request"]["method"].GetString()), "GET");
  EXPECT_TRUE(doc["error_detail"].IsNull());
  EXPECT_FALSE(doc["error_propagate"].GetBool());

  HttpRequest empty;
  empty.url = Url("/user/status");
  empty.headers = {{"Authorization", "OAuth2 "}};
  absl::StatusOr<HttpResponse> r = http_->Send(empty);
  ASSERT_TRUE(r.ok());
  ExpectError(*r, 400, "Invalid authorization header",
              "Invalid authorization header");

  // Both schemes carry a token: OAuth2 (documented) and Bearer (what
  // production clients send, and what Podio's 401 advertises).
  for (const char* scheme : {"OAuth2 ", "Bearer "}) {
    HttpRequest with_scheme;
    with_scheme.url = Url("/user/status");
    with_scheme.headers = {{"Authorization", scheme + AdminToken()}};
    absl::StatusOr<HttpResponse> answer = http_->Send(with_scheme);
    ASSERT_TRUE(answer.ok());
    EXPECT_EQ(answer->status, 200) << scheme << answer->body;
  }
  HttpRequest other_scheme;
  other_scheme.url = Url("/user/status");
  other_scheme.headers = {{"Authorization", "Basic " + AdminToken()}};
  r = http_->Send(other_scheme);
  ASSERT_TRUE(r.ok());
  ExpectError(*r, 400, "Invalid authorization header",
              "Invalid authorization header");

  HttpResponse bogus = Get("/user/status", "bogus-token");
  ExpectError(bogus, 401, "unauthorized", "expired_token");
  EXPECT_EQ(bogus.Header("www-authenticate"),
            "Bearer realm=\"podio\", error=\"expired_token\"");
  EXPECT_FALSE(bogus.Header("x-podio-request-id").empty());
}

TEST_F(OAuthTest, ScopeOfAUserToken) {
  HttpResponse r = Get("/oauth/scope", AdminToken());
  ASSERT_EQ(r.status, 200);
  rapidjson::Document doc = ParseJson(r.body);
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 1u);
  EXPECT_EQ(Keys(doc[0]), (std::set<std::string>{"ref_type", "ref_id",
                                                 "permissions", "ref_data"}));
  EXPECT_TRUE(doc[0]["ref_type"].IsNull());
}

}  // namespace
}  // namespace unified::podio_sim::testing
