// Fuzz target: a client's read mask, one path per line of the input. Either
// it is refused with INVALID_FIELD_MASK, or it compiles and trims a full
// User as FieldMaskUtil::TrimMessage does.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "proto/unified/v1/resources.pb.h"
#include "service/core/read_mask.h"

namespace {

unified::v1::User FullUser() {
  unified::v1::User user;
  user.set_id("1");
  user.set_name("Ann");
  user.set_title("Lead");
  user.add_emails()->set_email("ann@example.com");
  user.mutable_created_at()->set_seconds(1700000000);
  user.mutable_created_at()->set_nanos(5);
  user.mutable_last_active_at()->set_seconds(1700000001);
  (*user.mutable_remote_data()->mutable_fields())["k"].set_string_value("v");
  user.add_organizations()->set_id("10");
  return user;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  google::protobuf::FieldMask mask;
  for (absl::string_view path : absl::StrSplit(
           absl::string_view(reinterpret_cast<const char*>(data), size),
           '\n')) {
    mask.add_paths(std::string(path));
  }
  absl::StatusOr<unified::ReadMask> compiled =
      unified::ReadMask::Compile(mask, unified::v1::User::descriptor());
  if (!compiled.ok()) {
    auto info = unified::GetErrorInfo(compiled.status());
    if (compiled.status().code() != absl::StatusCode::kInvalidArgument ||
        !info.has_value() || info->reason() != "INVALID_FIELD_MASK") {
      __builtin_trap();
    }
    return 0;
  }
  const unified::v1::User full = FullUser();
  unified::v1::User got = full;
  compiled->Trim(&got);
  unified::v1::User want = full;
  google::protobuf::util::FieldMaskUtil::TrimMessage(mask, &want);
  if (!google::protobuf::util::MessageDifferencer::Equals(got, want)) {
    __builtin_trap();
  }
  return 0;
}
