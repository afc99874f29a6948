#include "connectors/podio/podio_errors.h"

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::StatusIs;

// The recorded 420 (R-420).
constexpr char k420[] =
    R"({"error_parameters":{},"error_detail":null,"error_propagate":false,)"
    R"("request":{"url":"http://api.podio.com/oauth/token","query_string":"",)"
    R"("method":"POST"},"error_description":"You have hit the rate limit. )"
    R"(Please wait 300 seconds before trying again","error":"rate_limit"})";

TEST(PodioErrorsTest, EveryStatusMapsToOneCode) {
  const struct {
    int http;
    absl::StatusCode code;
    const char* reason;
  } cases[] = {
      {400, absl::StatusCode::kInvalidArgument, "UPSTREAM_BAD_REQUEST"},
      {401, absl::StatusCode::kUnauthenticated, "UPSTREAM_UNAUTHENTICATED"},
      {403, absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED"},
      {404, absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"},
      {410, absl::StatusCode::kNotFound, "UPSTREAM_NOT_FOUND"},
      {409, absl::StatusCode::kAborted, "UPSTREAM_CONFLICT"},
      {420, absl::StatusCode::kResourceExhausted, "UPSTREAM_RATE_LIMITED"},
      {429, absl::StatusCode::kResourceExhausted, "UPSTREAM_RATE_LIMITED"},
      {500, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
      {503, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE"},
      {418, absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"},
      {302, absl::StatusCode::kInternal, "UPSTREAM_UNEXPECTED_STATUS"},
      {100, absl::StatusCode::kInternal, "UPSTREAM_UNEXPECTED_STATUS"},
  };
  for (const auto& c : cases) {
    absl::Status s = StatusForHttpError(c.http, R"({"error":"x"})");
    EXPECT_EQ(s.code(), c.code) << c.http;
    ASSERT_TRUE(GetErrorInfo(s).has_value());
    EXPECT_EQ(GetErrorInfo(s)->reason(), c.reason);
    EXPECT_EQ(GetErrorInfo(s)->metadata().at("upstream_status"),
              std::to_string(c.http));
  }
}

TEST(PodioErrorsTest, RateLimitCarriesTheWaitPodioNames) {
  absl::Status s = StatusForHttpError(420, k420);
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted,
                          HasSubstr("rate_limit")));
  EXPECT_EQ(GetRetryDelay(s), absl::Seconds(300));
  EXPECT_EQ(GetErrorInfo(s)->metadata().at("upstream_error"), "rate_limit");
  // Without a number: a conservative default.
  EXPECT_EQ(GetRetryDelay(StatusForHttpError(420, "{}")), absl::Seconds(60));
  EXPECT_EQ(ParseRateLimitWait("Please wait 99999999999999 seconds"),
            std::nullopt);
  EXPECT_EQ(ParseRateLimitWait("wait x seconds"), std::nullopt);
}

TEST(PodioErrorsTest, ExpiredTokenDetection) {
  EXPECT_TRUE(IsExpiredToken(
      401,
      ReadPodioError(
          R"({"error":"unauthorized","error_description":"expired_token"})")));
  EXPECT_TRUE(IsExpiredToken(401, PodioError{"invalid_token", ""}));
  EXPECT_FALSE(IsExpiredToken(
      401,
      ReadPodioError(
          R"({"error":"unauthorized","error_description":"invalid_request"})")));
  EXPECT_FALSE(
      IsExpiredToken(403, PodioError{"unauthorized", "expired_token"}));
}

TEST(PodioErrorsTest, HostileBodiesAreNotEchoed) {
  absl::Status s = StatusForHttpError(
      400, R"({"error":"<script>alert(1)</script>","error_description":")" +
               std::string(1000, 'y') + R"("})");
  EXPECT_EQ(GetErrorInfo(s)->metadata().at("upstream_error"), "");
  EXPECT_LT(s.message().size(), 300u);
  EXPECT_EQ(StatusForHttpError(502, "<html>bad gateway</html>").code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace unified::podio
