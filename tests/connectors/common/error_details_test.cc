#include "connectors/common/error_details.h"

#include "absl/status/status.h"
#include "connectors/common/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

TEST(ErrorDetailsTest, OkStaysOkAndBare) {
  absl::Status ok =
      WithRetryDelay(WithErrorInfo(absl::OkStatus(), "X"), absl::Seconds(1));
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(GetErrorInfo(ok).has_value());
  EXPECT_FALSE(GetRetryDelay(ok).has_value());
}

TEST(ErrorDetailsTest, RoundTripsReasonMetadataAndDelay) {
  absl::Status status = WithRetryDelay(
      WithErrorInfo(absl::UnavailableError("upstream down"), "UPSTREAM_5XX",
                    {{"upstream_status", "503"}}),
      absl::Microseconds(2500));
  ASSERT_TRUE(GetErrorInfo(status).has_value());
  EXPECT_EQ(GetErrorInfo(status)->reason(), "UPSTREAM_5XX");
  EXPECT_EQ(GetErrorInfo(status)->domain(), kErrorDomain);
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("upstream_status"), "503");
  // Rounded up to whole milliseconds.
  EXPECT_EQ(GetRetryDelay(status), absl::Milliseconds(3));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr("upstream down")));
}

TEST(ErrorDetailsTest, LaterErrorInfoReplacesEarlier) {
  absl::Status status =
      WithErrorInfo(WithErrorInfo(absl::InternalError("x"), "FIRST"), "SECOND");
  EXPECT_EQ(GetErrorInfo(status)->reason(), "SECOND");
}

TEST(ErrorDetailsTest, NegativeDelayBecomesZero) {
  absl::Status status =
      WithRetryDelay(absl::ResourceExhaustedError("x"), -absl::Seconds(5));
  EXPECT_EQ(GetRetryDelay(status), absl::ZeroDuration());
}

absl::StatusOr<int> Half(int value) {
  if (value % 2 != 0) return absl::InvalidArgumentError("odd");
  return value / 2;
}

absl::Status Quarter(int value, int* out) {
  ASSIGN_OR_RETURN(int half, Half(value));
  ASSIGN_OR_RETURN(*out, Half(half));
  RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, PropagateErrorsAndValues) {
  int out = 0;
  EXPECT_THAT(Quarter(8, &out), IsOk());
  EXPECT_EQ(out, 2);
  EXPECT_THAT(Quarter(6, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("odd")));
}

}  // namespace
}  // namespace unified
