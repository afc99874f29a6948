// The WatchDirectory suites' fixture: a server process whose HTTP side
// listener is the simulator's hook target, the demo account's workspaces
// and members, membership changes through the simulator's write routes,
// and the simulator's view of its hooks.
#ifndef TESTS_INTEGRATION_WATCH_FIXTURE_H_
#define TESTS_INTEGRATION_WATCH_FIXTURE_H_

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "rapidjson/document.h"
#include "tests/integration/directory_env.h"
#include "tests/integration/watcher.h"
#include "tools/podio_sim/sim_client.h"

namespace unified::testing {

using v1::DirectoryEvent;

// "TYPE user@workspace role<-previous" for comparisons.
inline std::string Describe(const DirectoryEvent& e) {
  return absl::StrCat(DirectoryEvent::Type_Name(e.type()), " ", e.user().id(),
                      "@", e.workspace().id(), " ", e.role_id(), "<-",
                      e.previous_role_id());
}

inline std::vector<std::string> Describe(
    const std::vector<DirectoryEvent>& events, size_t from = 0) {
  std::vector<std::string> out;
  for (size_t i = from; i < events.size(); ++i) {
    out.push_back(Describe(events[i]));
  }
  return out;
}

class WatchTest : public ::testing::Test {
 protected:
  void Start(const std::vector<std::string>& server_flags,
             const std::string& store = "") {
    DirectoryEnvOptions options;
    // A raised limit (Podio's headers say so; the budget learns it), so the
    // poll's share allows a poll every second or two.
    options.extra_sim_flags = {"--rate_limit=100000"};
    options.data.users = 40;
    options.data.orgs = 1;
    options.data.spaces_per_org = 2;
    options.store = store;
    options.extra_server_flags = server_flags;
    env_ = std::make_unique<DirectoryEnv>(options);
    ASSERT_FALSE(env_->account("demo").empty());
    http_ = NewCurlHttpClient({});
    auto token = podio_sim::PasswordGrantToken(*http_, env_->sim_url());
    ASSERT_TRUE(token.ok()) << token.status();
    admin_token_ = *token;
    // The demo account's workspaces, and a user outside the first one.
    auto directory = v1::UserDirectory::NewStub(env_->channel());
    grpc::ClientContext c1;
    v1::ListWorkspacesRequest ws_request;
    ws_request.set_integrated_account_id(env_->account("demo"));
    v1::ListWorkspacesResponse ws;
    ASSERT_TRUE(directory->ListWorkspaces(&c1, ws_request, &ws).ok());
    ASSERT_GE(ws.result_size(), 2);
    for (const auto& w : ws.result()) workspaces_.push_back(w.id());
    members_ = MembersOf(workspaces_[0]);
    grpc::ClientContext c2;
    v1::ListUsersRequest users_request;
    users_request.set_integrated_account_id(env_->account("demo"));
    users_request.set_limit(500);
    v1::ListUsersResponse users;
    ASSERT_TRUE(directory->ListUsers(&c2, users_request, &users).ok());
    for (const auto& u : users.result()) {
      if (!members_.count(u.id())) outsiders_.push_back(u.id());
    }
    ASSERT_GE(outsiders_.size(), 3u);
  }

  std::map<std::string, std::string> MembersOf(const std::string& workspace) {
    auto directory = v1::UserDirectory::NewStub(env_->channel());
    grpc::ClientContext c;
    v1::ListUsersRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    request.set_workspace_id(workspace);
    request.set_limit(500);
    v1::ListUsersResponse users;
    EXPECT_TRUE(directory->ListUsers(&c, request, &users).ok());
    std::map<std::string, std::string> out;  // user -> role
    for (const auto& u : users.result()) {
      for (const auto& r : u.roles()) {
        if (r.scope_id() == workspace) out[u.id()] = r.role_id();
      }
    }
    return out;
  }

  // A Podio write as the organization's administrator; the HTTP status.
  int Podio(const std::string& method, const std::string& path,
            const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.url = env_->sim_url() + path;
    request.headers = {{"Authorization", "OAuth2 " + admin_token_}};
    if (!body.empty()) {
      request.headers.push_back({"Content-Type", "application/json"});
      request.body = body;
    }
    auto r = http_->Send(request);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->status : 0;
  }
  int AddMember(const std::string& ws, const std::string& user,
                const std::string& role = "regular") {
    return Podio(
        "POST", absl::StrCat("/space/", ws, "/member/"),
        absl::StrCat(R"({"users":[)", user, R"(],"role":")", role, R"("})"));
  }
  int SetRole(const std::string& ws, const std::string& user,
              const std::string& role) {
    return Podio("PUT", absl::StrCat("/space/", ws, "/member/", user),
                 absl::StrCat(R"({"role":")", role, R"("})"));
  }
  int RemoveMember(const std::string& ws, const std::string& user) {
    return Podio("DELETE", absl::StrCat("/space/", ws, "/member/", user));
  }
  void WaitForDeliveries() {
    EXPECT_THAT(env_->Sim("POST", "/_sim/hooks/wait"),
                ::testing::HasSubstr("true"));
  }

  struct SimHook {
    int64_t id;
    std::string ref_id, type, url, status;
  };
  std::vector<SimHook> SimHooks() {
    rapidjson::Document doc;
    doc.Parse(env_->Sim("GET", "/_sim/hooks").c_str());
    std::vector<SimHook> out;
    if (!doc.IsArray()) return out;
    for (const auto& h : doc.GetArray()) {
      out.push_back({h["hook_id"].GetInt64(),
                     absl::StrCat(h["ref_id"].GetInt64()),
                     h["type"].GetString(), h["url"].GetString(),
                     h["status"].GetString()});
    }
    return out;
  }
  int ActiveHooks() {
    WaitForDeliveries();  // hook.verify handshakes.
    int n = 0;
    for (const SimHook& h : SimHooks()) n += h.status == "active";
    return n;
  }

  v1::WatchDirectoryRequest Request(bool snapshot = false,
                                    const std::string& token = "") {
    v1::WatchDirectoryRequest r;
    r.set_integrated_account_id(env_->account("demo"));
    r.set_include_snapshot(snapshot);
    r.set_resume_token(token);
    return r;
  }

  // A member of the organization in none of its workspaces.
  std::string Loner() {
    std::set<std::string> in_a_workspace;
    for (const std::string& ws : workspaces_) {
      for (const auto& [user, role] : MembersOf(ws))
        in_a_workspace.insert(user);
    }
    for (const std::string& user : outsiders_) {
      if (!in_a_workspace.count(user)) return user;
    }
    return "";
  }

  // A watcher that has taken the baseline: its snapshot is complete.
  std::unique_ptr<Watcher> WatchWithSnapshot(size_t* snapshot_size) {
    auto w = std::make_unique<Watcher>(env_->channel(), Request(true));
    for (size_t n = 1;; ++n) {
      std::vector<DirectoryEvent> events = w->WaitFor(n);
      if (events.size() < n) {
        ADD_FAILURE() << "no SNAPSHOT_COMPLETE";
        return w;
      }
      if (events[n - 1].type() == DirectoryEvent::SNAPSHOT_COMPLETE) {
        *snapshot_size = n;
        return w;
      }
    }
  }

  void TearDown() override {
    // Hooks, polls and listings: every path called has a route template.
    if (env_ != nullptr) {
      EXPECT_THAT(env_->UnlistedRouteLines(), ::testing::IsEmpty());
    }
  }

  std::unique_ptr<DirectoryEnv> env_;
  std::unique_ptr<HttpClient> http_;
  std::string admin_token_;
  std::vector<std::string> workspaces_;
  std::map<std::string, std::string> members_;
  std::vector<std::string> outsiders_;
};

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_WATCH_FIXTURE_H_
