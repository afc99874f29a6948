#include "service/grpc_status.h"

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace unified {
namespace {

TEST(ToGrpcStatusTest, OkIsOkWithoutDetails) {
  grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_TRUE(status.error_details().empty());
}

TEST(ToGrpcStatusTest, KeepsEveryCanonicalCodeAndMessage) {
  for (int code = 1; code <= 16; ++code) {
    absl::Status in(static_cast<absl::StatusCode>(code), "why it failed");
    grpc::Status out = ToGrpcStatus(in);
    EXPECT_EQ(static_cast<int>(out.error_code()), code);
    EXPECT_EQ(out.error_message(), "why it failed");
    google::rpc::Status rich;
    ASSERT_TRUE(rich.ParseFromString(out.error_details()));
    EXPECT_EQ(rich.code(), code);
    EXPECT_EQ(rich.message(), "why it failed");
    EXPECT_EQ(rich.details_size(), 0);
  }
}

TEST(ToGrpcStatusTest, PacksErrorInfoAndRetryInfo) {
  absl::Status in = WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError("Podio rate limit"),
                    "UPSTREAM_RATE_LIMITED", {{"upstream_status", "420"}}),
      absl::Milliseconds(1500));
  grpc::Status out = ToGrpcStatus(in);
  EXPECT_EQ(out.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(out.error_details()));
  ASSERT_EQ(rich.details_size(), 2);
  google::rpc::ErrorInfo info;
  google::rpc::RetryInfo retry;
  for (const auto& detail : rich.details()) {
    if (detail.Is<google::rpc::ErrorInfo>()) {
      ASSERT_TRUE(detail.UnpackTo(&info));
    } else {
      ASSERT_TRUE(detail.UnpackTo(&retry));
    }
  }
  EXPECT_EQ(info.reason(), "UPSTREAM_RATE_LIMITED");
  EXPECT_EQ(info.domain(), "unified.v1");
  EXPECT_EQ(info.metadata().at("upstream_status"), "420");
  EXPECT_EQ(retry.retry_delay().seconds(), 1);
  EXPECT_EQ(retry.retry_delay().nanos(), 500000000);
}

TEST(ToGrpcStatusTest, DropsNonStandardPayloads) {
  absl::Status in = absl::InternalError("x");
  in.SetPayload("internal/debug", absl::Cord("not for clients"));
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(ToGrpcStatus(in).error_details()));
  EXPECT_EQ(rich.details_size(), 0);
}

}  // namespace
}  // namespace unified
