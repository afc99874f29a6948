// What the Podio mappers' files share (mappers.cc, roles.cc,
// structure_mappers.cc). Internal to connectors/podio.
#ifndef CONNECTORS_PODIO_MAPPER_INTERNAL_H_
#define CONNECTORS_PODIO_MAPPER_INTERNAL_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "rapidjson/document.h"

namespace unified::podio::mapper_internal {

// INTERNAL, reason UPSTREAM_MALFORMED_RECORD, naming `what`.
absl::Status Malformed(absl::string_view what);
// INTERNAL, reason UPSTREAM_MALFORMED_RESPONSE: an answer that is not a
// list, for `what`.
absl::Status NotAList(absl::string_view what);
// The Podio time at `key` of `json`; nullopt when absent or unreadable.
std::optional<google::protobuf::Timestamp> TimeField(
    const rapidjson::Value& json, absl::string_view key);

}  // namespace unified::podio::mapper_internal

#endif  // CONNECTORS_PODIO_MAPPER_INTERNAL_H_
