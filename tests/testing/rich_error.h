// Reads gRPC's rich error details (google.rpc.Status in the
// grpc-status-details-bin trailer) from a failed call, for tests.
#ifndef TESTS_TESTING_RICH_ERROR_H_
#define TESTS_TESTING_RICH_ERROR_H_

#include <optional>

#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/support/status.h"

namespace unified::testing {

// The ErrorInfo of `status` (empty when it has none).
inline google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status rich;
  google::rpc::ErrorInfo info;
  rich.ParseFromString(status.error_details());
  for (const auto& detail : rich.details()) {
    if (detail.UnpackTo(&info)) break;
  }
  return info;
}

// The RetryInfo delay of `status`, if it has one.
inline std::optional<absl::Duration> RetryDelayOf(const grpc::Status& status) {
  google::rpc::Status rich;
  rich.ParseFromString(status.error_details());
  for (const auto& detail : rich.details()) {
    google::rpc::RetryInfo retry;
    if (detail.UnpackTo(&retry)) {
      return absl::Seconds(retry.retry_delay().seconds()) +
             absl::Nanoseconds(retry.retry_delay().nanos());
    }
  }
  return std::nullopt;
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_RICH_ERROR_H_
