// The hook spool keeps deliveries durably across reopening, replays them in
// order until the store refuses one, keeps what was not taken, skips a
// damaged line, and refuses past its bound.
#include "service/watch/hook_spool.h"

#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified::watch {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

SpooledDelivery Delivery(int i) {
  return {{"tenant\t" + std::to_string(i), "ia_" + std::to_string(i)},
          "ws\n" + std::to_string(i),
          std::to_string(100 + i),
          absl::FromUnixMillis(1000 + i)};
}

TEST(HookSpoolTest, ReplaysInOrderKeepsTheRestAndSurvivesReopening) {
  const std::string path = ::testing::TempDir() + "/spool";
  {
    auto spool = HookSpool::Open(path);
    ASSERT_THAT(spool, IsOk());
    for (int i = 0; i < 3; ++i) ASSERT_THAT((*spool)->Add(Delivery(i)), IsOk());
  }
  std::ofstream(path, std::ios::app) << "damaged line\n";
  auto spool = HookSpool::Open(path);  // A new process.
  ASSERT_THAT(spool, IsOk());
  EXPECT_EQ((*spool)->size(), 4);
  // The store takes one, then refuses.
  std::vector<SpooledDelivery> taken;
  auto mark = [&](const SpooledDelivery& d) {
    if (taken.size() == 1) return absl::UnavailableError("store down");
    taken.push_back(d);
    return absl::OkStatus();
  };
  EXPECT_EQ(*(*spool)->Replay(mark), 1);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].account.tenant, "tenant\t0");  // Escaped and back.
  EXPECT_EQ(taken[0].workspace_id, "ws\n0");
  EXPECT_EQ(taken[0].user_id, "100");
  EXPECT_EQ(taken[0].at, absl::FromUnixMillis(1000));
  EXPECT_EQ((*spool)->size(), 3);
  // Back: the rest, in order; the damaged line is dropped.
  taken.clear();
  auto all = [&](const SpooledDelivery& d) {
    taken.push_back(d);
    return absl::OkStatus();
  };
  EXPECT_EQ(*(*spool)->Replay(all), 3);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].account.account_id, "ia_1");
  EXPECT_EQ(taken[1].account.account_id, "ia_2");
  EXPECT_EQ((*spool)->size(), 0);
}

TEST(HookSpoolTest, RefusesPastItsBound) {
  auto spool = HookSpool::Open(::testing::TempDir() + "/bounded", 2);
  ASSERT_THAT(spool, IsOk());
  EXPECT_THAT((*spool)->Add(Delivery(0)), IsOk());
  EXPECT_THAT((*spool)->Add(Delivery(1)), IsOk());
  EXPECT_THAT((*spool)->Add(Delivery(2)),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace unified::watch
