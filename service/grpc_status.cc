#include "service/grpc_status.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/status.pb.h"

namespace unified {

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
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()), rich.SerializeAsString());
}

}  // namespace unified
