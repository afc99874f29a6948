#include "service/api/arguments.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {

absl::Status Invalid(const std::string& message, absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

absl::Status CheckArgument(const std::string& value, absl::string_view name,
                           size_t max_bytes, bool required) {
  if (required && value.empty()) {
    return Invalid(absl::StrCat(name, " is required"), "MISSING_ARGUMENT");
  }
  if (value.size() > max_bytes) {
    return Invalid(absl::StrCat(name, " is longer than ", max_bytes, " bytes"),
                   "INVALID_ARGUMENT");
  }
  // Control characters (CR, LF, NUL, ...) belong in no credential or name;
  // sent on, they would break the provider request rather than fail it.
  if (std::any_of(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return Invalid(absl::StrCat(name, " holds a control character"),
                   "MALFORMED_CREDENTIALS");
  }
  return absl::OkStatus();
}

}  // namespace unified
