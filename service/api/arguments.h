// Checks of request arguments shared by the account RPCs and the hosted
// connect page: INVALID_ARGUMENT with an ErrorInfo reason.
#ifndef SERVICE_API_ARGUMENTS_H_
#define SERVICE_API_ARGUMENTS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace unified {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr size_t kMaxSecretBytes = 4096;
inline constexpr size_t kMaxUriBytes = 2048;
inline constexpr size_t kMaxEndCustomerIdBytes = 200;

// INVALID_ARGUMENT carrying `reason`.
absl::Status Invalid(const std::string& message, absl::string_view reason);

// OK when `value` is present (or not `required`), at most `max_bytes` long
// and free of control characters: MISSING_ARGUMENT, INVALID_ARGUMENT or
// MALFORMED_CREDENTIALS otherwise.
absl::Status CheckArgument(const std::string& value, absl::string_view name,
                           size_t max_bytes, bool required = true);

}  // namespace unified

#endif  // SERVICE_API_ARGUMENTS_H_
