// A token source that always gives the same access token and cannot
// refresh: for connector tests whose token never expires.
#ifndef TESTS_TESTING_FIXED_TOKEN_H_
#define TESTS_TESTING_FIXED_TOKEN_H_

#include <string>

#include "connectors/connector.h"

namespace unified::testing {

class FixedToken final : public TokenSource {
 public:
  explicit FixedToken(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    return token_;
  }
  absl::StatusOr<std::string> Refresh(const std::string&, absl::Time) override {
    return absl::UnauthenticatedError("no refresh in this test");
  }

 private:
  const std::string token_;
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_FIXED_TOKEN_H_
