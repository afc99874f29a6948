// The one conversion from absl::Status to grpc::Status (ARCHITECTURE.md,
// invariant 2). Every handler returns through it.
#ifndef SERVICE_GRPC_STATUS_H_
#define SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace unified {

// Maps `status` to the gRPC status with the same canonical code and message.
// A non-OK result also carries a serialized google.rpc.Status in its
// error_details (the `grpc-status-details-bin` trailer) holding every detail
// attached with connectors/common/error_details.h, packed as
// google.protobuf.Any, so that clients read them without parsing text.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace unified

#endif  // SERVICE_GRPC_STATUS_H_
