#include "service/core/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace unified {
namespace {

constexpr char kDomain[] = "unified.v1";
constexpr absl::Duration kUnavailableRetry = absl::Seconds(1);

const char* const kCodeNames[] = {"OK",
                                  "CANCELLED",
                                  "UNKNOWN",
                                  "INVALID_ARGUMENT",
                                  "DEADLINE_EXCEEDED",
                                  "NOT_FOUND",
                                  "ALREADY_EXISTS",
                                  "PERMISSION_DENIED",
                                  "RESOURCE_EXHAUSTED",
                                  "FAILED_PRECONDITION",
                                  "ABORTED",
                                  "OUT_OF_RANGE",
                                  "UNIMPLEMENTED",
                                  "INTERNAL",
                                  "UNAVAILABLE",
                                  "DATA_LOSS",
                                  "UNAUTHENTICATED"};

const char* CodeName(int code) {
  return code >= 0 && code < 17 ? kCodeNames[code] : "UNKNOWN";
}

}  // namespace

const char* StatusCodeName(grpc::StatusCode code) {
  return CodeName(static_cast<int>(code));
}

namespace {

// Adds what `rich` lacks: an ErrorInfo, and a RetryInfo when UNAVAILABLE.
void Complete(google::rpc::Status& rich) {
  bool has_info = false, has_retry = false;
  for (const google::protobuf::Any& any : rich.details()) {
    has_info |= any.Is<google::rpc::ErrorInfo>();
    has_retry |= any.Is<google::rpc::RetryInfo>();
  }
  if (!has_info) {
    google::rpc::ErrorInfo info;
    info.set_reason(CodeName(rich.code()));
    info.set_domain(kDomain);
    rich.add_details()->PackFrom(info);
  }
  if (!has_retry && rich.code() == static_cast<int>(grpc::UNAVAILABLE)) {
    google::rpc::RetryInfo retry;
    retry.mutable_retry_delay()->set_seconds(
        absl::ToInt64Seconds(kUnavailableRetry));
    rich.add_details()->PackFrom(retry);
  }
}

}  // namespace

grpc::Status CompleteStatus(const grpc::Status& status, bool known_method) {
  if (status.ok()) return status;
  google::rpc::Status rich;
  if (!status.error_details().empty() &&
      !rich.ParseFromString(status.error_details())) {
    rich.Clear();
  }
  int code = static_cast<int>(status.error_code());
  std::string message = status.error_message();
  if (known_method && message.empty() && rich.details_size() == 0 &&
      (code == static_cast<int>(grpc::INTERNAL) ||
       code == static_cast<int>(grpc::UNIMPLEMENTED))) {
    // gRPC's word for a request message it could not parse.
    code = static_cast<int>(grpc::INVALID_ARGUMENT);
    message = "the request message could not be parsed";
    google::rpc::ErrorInfo info;
    info.set_reason("MALFORMED_REQUEST");
    info.set_domain(kDomain);
    rich.add_details()->PackFrom(info);
  }
  const int before = rich.details_size();
  rich.set_code(code);
  Complete(rich);
  if (rich.details_size() == before &&
      code == static_cast<int>(status.error_code())) {
    return status;
  }
  rich.set_code(code);
  rich.set_message(message);
  return grpc::Status(static_cast<grpc::StatusCode>(code), message,
                      rich.SerializeAsString());
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  google::rpc::Status rich;
  rich.set_code(static_cast<int>(status.code()));
  rich.set_message(std::string(status.message()));
  status.ForEachPayload(
      [&rich](absl::string_view type_url, const absl::Cord& payload) {
        // Only standard google.rpc details travel; internal payloads stay.
        if (!absl::StartsWith(type_url, "type.googleapis.com/google.rpc.")) {
          return;
        }
        google::protobuf::Any* any = rich.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(payload));
      });
  Complete(rich);
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), rich.SerializeAsString());
}

}  // namespace unified
