// The fixture the directory integration tests share: one simulator and
// server over a seeded directory whose first organization has over 10,000
// members, the simulator's own copy of that directory to compare with, and
// helpers that list and stream users. Tests that spend many Podio calls run
// on a server of their own (OwnServerOptions).
#ifndef TESTS_INTEGRATION_DIRECTORY_FIXTURE_H_
#define TESTS_INTEGRATION_DIRECTORY_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/directory_env.h"
#include "tests/testing/status_matchers.h"
#include "tools/podio_sim/directory.h"

namespace unified::testing {

// The shared server's directory: 19,000 users in 2 organizations of 3
// workspaces each.
inline DirectoryEnvOptions SharedOptions() {
  DirectoryEnvOptions options;
  options.data.seed = 42;
  options.data.users = 19000;
  options.data.orgs = 2;
  options.data.spaces_per_org = 3;
  return options;
}

// A directory for a server of a test's own, with simulator flags.
inline DirectoryEnvOptions OwnServerOptions(
    int seed, int users, int orgs, std::vector<std::string> sim_flags = {}) {
  DirectoryEnvOptions options;
  options.data.seed = seed;
  options.data.users = users;
  options.data.orgs = orgs;
  options.data.spaces_per_org = 1;
  options.extra_sim_flags = std::move(sim_flags);
  return options;
}

// A user as the tests compare them.
struct Expected {
  std::string id;
  std::string name;
  std::vector<std::string> orgs;
  v1::UserStatus status;
};

// Whether the generated user's name or mail contains `lowered`.
inline bool Matches(const podio_sim::SimUser& u, const std::string& lowered) {
  return absl::StrContains(absl::AsciiStrToLower(u.name), lowered) ||
         absl::StrContains(absl::AsciiStrToLower(u.mail), lowered);
}

class DirectoryFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    env_ = new DirectoryEnv(SharedOptions());
    directory_ = new podio_sim::Directory(
        podio_sim::GenerateDirectory(SharedOptions().data));
  }
  static void TearDownTestSuite() {
    // Every path the connector called is one of its route templates.
    EXPECT_THAT(env_->UnlistedRouteLines(), ::testing::IsEmpty());
    delete env_;
    delete directory_;
  }
  void TearDown() override { env_->ClearFaults(); }

  std::unique_ptr<v1::UserDirectory::Stub> Stub() {
    return v1::UserDirectory::NewStub(env_->channel());
  }

  // Every org member once, by (name, id), with the orgs in id order.
  static std::vector<Expected> ExpectedUsers(const std::string& only_org = "") {
    std::vector<Expected> out;
    for (int64_t id : directory_->users_by_name) {
      Expected e;
      e.id = absl::StrCat(id);
      e.name = directory_->FindUser(id)->name;
      bool active = false, any = false;
      for (const auto& [org_id, org] : directory_->orgs) {
        if (!only_org.empty() && absl::StrCat(org_id) != only_org) continue;
        auto it = org.members.find(id);
        if (it == org.members.end()) continue;
        any = true;
        active |= !it->second.invited;
        e.orgs.push_back(absl::StrCat(org_id));
      }
      if (!any) continue;
      e.status = active ? v1::USER_STATUS_ACTIVE : v1::USER_STATUS_INVITED;
      out.push_back(e);
    }
    return out;
  }

  static std::vector<Expected> Actual(const std::vector<v1::User>& users) {
    std::vector<Expected> out;
    for (const v1::User& u : users) {
      Expected e{u.id(), u.name(), {}, u.status()};
      for (const auto& org : u.organizations()) e.orgs.push_back(org.id());
      out.push_back(e);
    }
    return out;
  }

  std::vector<v1::User> ListAll(v1::ListUsersRequest request,
                                int* pages = nullptr) {
    auto stub = Stub();
    std::vector<v1::User> users;
    int count = 0;
    do {
      grpc::ClientContext context;
      v1::ListUsersResponse response;
      grpc::Status status = stub->ListUsers(&context, request, &response);
      EXPECT_THAT(status, IsOk());
      if (!status.ok()) break;
      users.insert(users.end(), response.result().begin(),
                   response.result().end());
      request.set_cursor(response.next_cursor());
      ++count;
    } while (!request.cursor().empty() && count < 1000);
    if (pages) *pages = count;
    return users;
  }

  std::vector<v1::ListUsersResponse> StreamAll(
      const v1::ListUsersRequest& request, grpc::Status* status = nullptr) {
    auto stub = Stub();
    grpc::ClientContext context;
    auto reader = stub->StreamUsers(&context, request);
    std::vector<v1::ListUsersResponse> messages;
    v1::ListUsersResponse message;
    while (reader->Read(&message)) messages.push_back(message);
    grpc::Status finished = reader->Finish();
    if (status) {
      *status = finished;
    } else {
      EXPECT_THAT(finished, IsOk());
    }
    return messages;
  }

  static v1::ListUsersRequest UsersRequest(int limit = 500) {
    v1::ListUsersRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    request.set_limit(limit);
    return request;
  }

  static inline DirectoryEnv* env_ = nullptr;
  static inline podio_sim::Directory* directory_ = nullptr;
};

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_DIRECTORY_FIXTURE_H_
