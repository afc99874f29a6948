// A store outage no longer switches the provider's hooks off: while
// PostgreSQL is stopped, deliveries for hooks the server knows are written to
// its spool and answered 200, so the simulator (which, like Podio, marks a
// hook inactive after three failed attempts) keeps every hook active. Once
// the store is back, the spooled change is logged, and a change made after
// recovery is delivered through its hook too.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/watch_fixture.h"
#include "tests/service/accounts/store_backends.h"
#include "tests/testing/status_matchers.h"

namespace unified::testing {
namespace {

// The simulator's count of deliveries of the "member.add" hook on `ws`:
// answered 2xx, and not.
std::pair<int64_t, int64_t> AddHookDeliveries(DirectoryEnv& env,
                                              const std::string& ws) {
  rapidjson::Document doc;
  doc.Parse(env.Sim("GET", "/_sim/hooks").c_str());
  for (const auto& h : doc.GetArray()) {
    if (h["type"].GetString() == std::string("member.add") &&
        absl::StrCat(h["ref_id"].GetInt64()) == ws) {
      return {h["delivered"].GetInt64(), h["failed"].GetInt64()};
    }
  }
  return {-1, -1};
}

TEST_F(WatchTest, AStoreOutageKeepsHooksOnAndLosesNoDelivery) {
  TestPostgres* pg = accounts::SharedPostgres();
  ASSERT_NE(pg, nullptr);
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"},
        accounts::FreshStoreUrl("postgresql"));
  size_t snap = 0;
  std::string token;
  {
    std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
    token = w->WaitFor(snap)[snap - 1].resume_token();
  }
  ASSERT_FALSE(token.empty());
  const int hooks = 3 * static_cast<int>(workspaces_.size());
  ASSERT_EQ(ActiveHooks(), hooks);

  const std::string ws = workspaces_[0];
  const auto [delivered, failed] = AddHookDeliveries(*env_, ws);
  ASSERT_GE(delivered, 0);
  ASSERT_THAT(pg->Stop(), IsOk());
  ASSERT_EQ(AddMember(ws, outsiders_[0]), 200);  // Delivered in the outage.
  WaitForDeliveries();
  // Answered 2xx at the first attempt, though the store was away.
  EXPECT_EQ(AddHookDeliveries(*env_, ws),
            std::make_pair(delivered + 1, failed));
  int active = 0;
  for (const SimHook& h : SimHooks()) active += h.status == "active";
  EXPECT_EQ(active, hooks) << "a hook was switched off during the outage";
  ASSERT_THAT(pg->Resume(), IsOk());

  // What was spooled is logged once the store is back...
  Watcher after(env_->channel(), Request(false, token));
  std::vector<DirectoryEvent> events = after.WaitFor(1);
  ASSERT_EQ(events.size(), 1u) << "the spooled delivery was lost";
  EXPECT_EQ(Describe(events[0]),
            absl::StrCat("MEMBER_ADDED ", outsiders_[0], "@", ws,
                         " workspace.regular<-"));
  EXPECT_EQ(events[0].source(), DirectoryEvent::SOURCE_HOOK);
  // ...and the hooks still work: a change after recovery is delivered
  // through its hook and logged. (The server also polls every watched
  // account once the store is back, which may log it first.)
  ASSERT_EQ(AddMember(ws, outsiders_[1]), 200);
  WaitForDeliveries();
  EXPECT_EQ(AddHookDeliveries(*env_, ws),
            std::make_pair(delivered + 2, failed));
  events = after.WaitFor(2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].user().id(), outsiders_[1]);
}

}  // namespace
}  // namespace unified::testing
