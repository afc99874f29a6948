// Token sources that always give the same access token: one that cannot
// refresh (tests whose token never expires), and one that hands the same
// token again as a refresh, counting (tests whose provider answers a
// one-off 401).
#ifndef TESTS_TESTING_FIXED_TOKEN_H_
#define TESTS_TESTING_FIXED_TOKEN_H_

#include <atomic>
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

class ReissuedToken final : public TokenSource {
 public:
  explicit ReissuedToken(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> AccessToken(absl::Time) override {
    return token_;
  }
  absl::StatusOr<std::string> Refresh(const std::string&, absl::Time) override {
    ++refreshes;
    return token_;
  }
  std::atomic<int> refreshes{0};

 private:
  const std::string token_;
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_FIXED_TOKEN_H_
