// GoogleTest matchers for absl::Status / absl::StatusOr and grpc::Status
// (Debian's Abseil ships none).
#ifndef TESTS_TESTING_STATUS_MATCHERS_H_
#define TESTS_TESTING_STATUS_MATCHERS_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace unified::testing {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
inline absl::Status GetStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// Matches an OK absl::Status, absl::StatusOr<T> or grpc::Status.
MATCHER(IsOk, "is OK") {
  const absl::Status status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.ok();
}

// Matches a status with `code` whose message matches `message_matcher`, a
// gMock string matcher such as HasSubstr("space 42").
MATCHER_P2(StatusIs, code, message_matcher,
           std::string("has code ") +
               absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) {
  const absl::Status status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  if (status.code() != static_cast<absl::StatusCode>(code)) return false;
  return ::testing::ExplainMatchResult(
      ::testing::SafeMatcherCast<const std::string&>(message_matcher),
      std::string(status.message()), result_listener);
}

// Matches a status with `code`, whatever its message.
MATCHER_P(StatusIs, code,
          std::string("has code ") +
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) {
  const absl::Status status = GetStatus(arg);
  *result_listener << "status is " << status.ToString();
  return status.code() == static_cast<absl::StatusCode>(code);
}

// Matches an OK absl::StatusOr<T> whose value matches `value_matcher`.
MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status().ToString();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_STATUS_MATCHERS_H_
