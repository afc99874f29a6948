// Pausing and resuming a watch (UserDirectory.SetWatching, GetWatchStatus)
// end to end: a server process whose side listener is the simulator's hook
// target. Pausing removes the account's hooks at the provider, tells open
// streams, refuses new ones and stops polls; a change made meanwhile is
// found when the watch is resumed, and the hooks come back. The watched
// accounts metric follows.
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "tests/integration/watch_fixture.h"
#include "tests/integration/watcher.h"
#include "tests/testing/rich_error.h"
#include "tests/testing/wait_until.h"

namespace unified::testing {
namespace {

class WatchPauseTest : public WatchTest {
 protected:
  grpc::Status SetWatching(bool watching, v1::WatchStatus* out) {
    auto stub = v1::UserDirectory::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::SetWatchingRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    request.set_watching(watching);
    return stub->SetWatching(&context, request, out);
  }
  v1::WatchStatus Status() {
    auto stub = v1::UserDirectory::NewStub(env_->channel());
    grpc::ClientContext context;
    v1::GetWatchStatusRequest request;
    request.set_integrated_account_id(env_->account("demo"));
    v1::WatchStatus out;
    grpc::Status s = stub->GetWatchStatus(&context, request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  // The first `n` events of `w` that are not heartbeats (fewer when the
  // stream waited too long); 0: those received so far, without waiting.
  static std::vector<DirectoryEvent> Changes(Watcher& w, size_t n) {
    auto changes = [](const std::vector<DirectoryEvent>& all) {
      std::vector<DirectoryEvent> out;
      for (const DirectoryEvent& e : all) {
        if (e.type() != DirectoryEvent::HEARTBEAT) out.push_back(e);
      }
      return out;
    };
    std::vector<DirectoryEvent> out =
        changes(w.WaitUntil([&](const std::vector<DirectoryEvent>& all) {
          return changes(all).size() >= n;
        }));
    if (n > 0 && out.size() > n) out.resize(n);
    return out;
  }
  double Watched(const std::string& state) {
    return env_->Metric("unified_watched_accounts", {"state=" + state});
  }
};

TEST_F(WatchPauseTest, PausingStopsTheWatchAndResumingFindsWhatChanged) {
  // An hour between polls: only resuming polls within the test.
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"});
  EXPECT_EQ(Status().state(), v1::WatchStatus::NOT_WATCHED);
  size_t snap = 0;
  std::unique_ptr<Watcher> w = WatchWithSnapshot(&snap);
  const int per_account = 3 * static_cast<int>(workspaces_.size());
  ASSERT_EQ(ActiveHooks(), per_account);
  v1::WatchStatus status = Status();
  EXPECT_EQ(status.state(), v1::WatchStatus::WATCHING);
  EXPECT_GT(status.next_poll_time().seconds(), 0);
  EXPECT_EQ(status.last_sequence(), 0);
  EXPECT_TRUE(WaitUntil([&] { return Watched("watching") == 1; }));

  // Pause: the open stream is told, the hooks go, new streams are refused.
  ASSERT_TRUE(SetWatching(false, &status).ok());
  EXPECT_EQ(status.state(), v1::WatchStatus::PAUSED);
  EXPECT_GT(status.pause_time().seconds(), 0);
  EXPECT_EQ(status.last_sequence(), 1);
  std::vector<DirectoryEvent> events = Changes(*w, snap + 1);
  ASSERT_EQ(events.size(), snap + 1);
  EXPECT_EQ(events[snap].type(), DirectoryEvent::WATCH_PAUSED);
  EXPECT_EQ(events[snap].source(), DirectoryEvent::SOURCE_API);
  EXPECT_EQ(events[snap].sequence(), 1);
  EXPECT_FALSE(events[snap].resume_token().empty());
  EXPECT_TRUE(SimHooks().empty());
  Watcher refused(env_->channel(), Request());
  const grpc::Status done = refused.WaitDone();
  EXPECT_EQ(done.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorInfoOf(done).reason(), "WATCH_PAUSED");
  EXPECT_TRUE(WaitUntil([&] { return Watched("paused") == 1; }));
  EXPECT_EQ(Watched("watching"), 0);
  // Pausing again changes nothing.
  ASSERT_TRUE(SetWatching(false, &status).ok());
  EXPECT_EQ(status.last_sequence(), 1);

  // A change while paused: no hook tells of it.
  ASSERT_EQ(AddMember(workspaces_[0], outsiders_[0]), 200);
  WaitForDeliveries();
  EXPECT_EQ(Changes(*w, 0).size(), snap + 1);

  // Resume: the account is polled at once and the change is found; its
  // hooks are registered again.
  ASSERT_TRUE(SetWatching(true, &status).ok());
  EXPECT_EQ(status.state(), v1::WatchStatus::WATCHING);
  events = Changes(*w, snap + 3);
  ASSERT_EQ(events.size(), snap + 3);
  EXPECT_EQ(events[snap + 1].type(), DirectoryEvent::WATCH_RESUMED);
  EXPECT_EQ(events[snap + 1].source(), DirectoryEvent::SOURCE_API);
  EXPECT_EQ(events[snap + 2].type(), DirectoryEvent::MEMBER_ADDED);
  EXPECT_EQ(events[snap + 2].source(), DirectoryEvent::SOURCE_POLL);
  EXPECT_EQ(events[snap + 2].user().id(), outsiders_[0]);
  EXPECT_EQ(events[snap + 2].workspace().id(), workspaces_[0]);
  EXPECT_TRUE(WaitUntil([&] { return ActiveHooks() == per_account; }));
  EXPECT_TRUE(WaitUntil([&] { return Watched("watching") == 1; }));
  EXPECT_EQ(Watched("paused"), 0);
  // Resuming again changes nothing. A stream resumed from the last event
  // is served, and the hooks deliver again.
  ASSERT_TRUE(SetWatching(true, &status).ok());
  EXPECT_EQ(status.last_sequence(), 3);
  Watcher again(env_->channel(), Request(false, events.back().resume_token()));
  ASSERT_EQ(RemoveMember(workspaces_[0], outsiders_[0]), 204);
  WaitForDeliveries();
  std::vector<DirectoryEvent> after = Changes(again, 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].type(), DirectoryEvent::MEMBER_REMOVED);
  EXPECT_EQ(after[0].source(), DirectoryEvent::SOURCE_HOOK);
  EXPECT_EQ(after[0].sequence(), 4);
  again.Stop();
  w->Stop();
}

TEST_F(WatchPauseTest, AnAccountPausedBeforeItIsWatchedStaysUnwatched) {
  Start({"--hook_base_url=local", "--watch_poll_interval=1h"});
  v1::WatchStatus status;
  ASSERT_TRUE(SetWatching(false, &status).ok());
  EXPECT_EQ(status.state(), v1::WatchStatus::PAUSED);
  // A tenant-wide stream leaves it out: no baseline, no hook.
  v1::WatchDirectoryRequest all;
  all.set_all_accounts(true);
  all.set_include_snapshot(true);
  Watcher w(env_->channel(), all);
  std::vector<DirectoryEvent> events =
      w.WaitUntil([](const std::vector<DirectoryEvent>& e) {
        return !e.empty() &&
               e.back().type() == DirectoryEvent::SNAPSHOT_COMPLETE;
      });
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().type(), DirectoryEvent::SNAPSHOT_COMPLETE);
  for (const DirectoryEvent& e : events) {
    EXPECT_NE(e.integrated_account_id(), env_->account("demo"));
  }
  EXPECT_TRUE(SimHooks().empty());
  // Named, it is refused with the reason, naming it.
  v1::WatchDirectoryRequest named;
  named.add_integrated_account_ids(env_->account("demo"));
  Watcher refused(env_->channel(), named);
  const grpc::Status done = refused.WaitDone();
  EXPECT_EQ(done.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ErrorInfoOf(done).reason(), "WATCH_PAUSED");
  EXPECT_THAT(done.error_message(),
              ::testing::HasSubstr(env_->account("demo")));
  // Resuming takes the baseline in the call.
  ASSERT_TRUE(SetWatching(true, &status).ok());
  EXPECT_EQ(status.state(), v1::WatchStatus::WATCHING);
  EXPECT_TRUE(WaitUntil([&] {
    return ActiveHooks() == 3 * static_cast<int>(workspaces_.size());
  }));
  w.Stop();
}

TEST_F(WatchPauseTest, AnotherTenantsAccountIsNotFound) {
  Start({"--watch_poll_interval=1h"});
  auto stub = v1::UserDirectory::NewStub(env_->channel());
  grpc::ClientContext context;
  v1::GetWatchStatusRequest request;
  request.set_integrated_account_id("ia_000000000000000000000000");
  v1::WatchStatus out;
  const grpc::Status s = stub->GetWatchStatus(&context, request, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ErrorInfoOf(s).reason(), "INTEGRATED_ACCOUNT_NOT_FOUND");
  grpc::ClientContext bad_context;
  request.set_integrated_account_id("");
  const grpc::Status missing =
      stub->GetWatchStatus(&bad_context, request, &out);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ErrorInfoOf(missing).reason(), "MISSING_ARGUMENT");
}

}  // namespace
}  // namespace unified::testing
