// The one conversion from absl::Status to grpc::Status (docs/architecture.md,
// "Invariants": one conversion). Every handler returns through it.
#ifndef SERVICE_CORE_GRPC_STATUS_H_
#define SERVICE_CORE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace unified {

// Maps `status` to the gRPC status with the same canonical code and message.
// A non-OK result also carries a serialized google.rpc.Status in its
// error_details (the `grpc-status-details-bin` trailer) holding every detail
// attached with connectors/common/error_details.h, packed as
// google.protobuf.Any, so that clients read them without parsing text.
// Every non-OK result carries an ErrorInfo (domain "unified.v1"; when the
// status had none, its reason is the code's name, e.g. "INTERNAL"), and every
// UNAVAILABLE a RetryInfo (1 s when none was given).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The same guarantees for a status that did not come through ToGrpcStatus
// (made by gRPC itself). For a method the server has (`known_method`), a bare
// INTERNAL or UNIMPLEMENTED with no message is gRPC's word for a request it
// could not parse: it becomes INVALID_ARGUMENT with reason
// MALFORMED_REQUEST. A status that has the details is returned as is.
grpc::Status CompleteStatus(const grpc::Status& status, bool known_method);

// A status code's canonical name ("OK", "NOT_FOUND", ...; "UNKNOWN" for a
// number gRPC does not define).
const char* StatusCodeName(grpc::StatusCode code);

}  // namespace unified

#endif  // SERVICE_CORE_GRPC_STATUS_H_
