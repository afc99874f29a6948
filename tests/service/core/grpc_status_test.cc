#include "service/core/grpc_status.h"

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/errors.pb.h"

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
    // Every error has an ErrorInfo: without a reason of its own, the code's
    // name; every UNAVAILABLE a RetryInfo.
    google::rpc::ErrorInfo info;
    google::rpc::RetryInfo retry;
    bool has_info = false, has_retry = false;
    for (const auto& detail : rich.details()) {
      has_info |= detail.UnpackTo(&info);
      has_retry |= detail.UnpackTo(&retry);
    }
    ASSERT_TRUE(has_info) << code;
    EXPECT_EQ(info.domain(), "unified.v1");
    v1::ErrorReason reason;
    EXPECT_TRUE(v1::ErrorReason_Parse(info.reason(), &reason)) << code;
    EXPECT_EQ(static_cast<int>(reason), code);
    EXPECT_EQ(has_retry, code == static_cast<int>(grpc::UNAVAILABLE)) << code;
  }
}

TEST(CompleteStatusTest, GrpcsOwnStatusesGetTheSameDetails) {
  // An unparseable request, as gRPC reports it.
  grpc::Status parse =
      CompleteStatus(grpc::Status(grpc::UNIMPLEMENTED, ""), true);
  EXPECT_EQ(parse.error_code(), grpc::INVALID_ARGUMENT);
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(parse.error_details()));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(rich.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "MALFORMED_REQUEST");
  // An oversized message: its code stays, with the generic reason.
  grpc::Status big = CompleteStatus(
      grpc::Status(grpc::RESOURCE_EXHAUSTED, "message larger than max"), true);
  EXPECT_EQ(big.error_code(), grpc::RESOURCE_EXHAUSTED);
  EXPECT_EQ(big.error_message(), "message larger than max");
  ASSERT_TRUE(rich.ParseFromString(big.error_details()));
  ASSERT_TRUE(rich.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "RESOURCE_EXHAUSTED");
  // A complete status is left alone.
  grpc::Status ours = ToGrpcStatus(absl::UnavailableError("down"));
  grpc::Status again = CompleteStatus(ours, true);
  EXPECT_EQ(again.error_details(), ours.error_details());
  EXPECT_TRUE(CompleteStatus(grpc::Status::OK, true).ok());
  // A method the server does not have is just that.
  grpc::Status unknown =
      CompleteStatus(grpc::Status(grpc::UNIMPLEMENTED, ""), false);
  EXPECT_EQ(unknown.error_code(), grpc::UNIMPLEMENTED);
  ASSERT_TRUE(rich.ParseFromString(unknown.error_details()));
  ASSERT_TRUE(rich.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "UNIMPLEMENTED");
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
  ASSERT_EQ(rich.details_size(), 1);  // The generic ErrorInfo alone.
  EXPECT_TRUE(rich.details(0).Is<google::rpc::ErrorInfo>());
}

}  // namespace
}  // namespace unified
