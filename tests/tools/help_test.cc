// Every binary's --help lists its own flags (Abseil alone would say "No
// flags matched": our flags live in files not named after the binaries).
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace unified {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::RunfilePath;
using ::unified::testing::Subprocess;

TEST(HelpTest, EveryBinaryListsItsFlags) {
  const std::vector<std::pair<std::string, std::string>> binaries = {
      {"tools/cluster/cluster", "--replicas"},
      {"tools/podio_sim/podio_sim", "--users"},
      {"tools/scim_sim/scim_sim", "--users"},
      {"tools/demo/demo", "--listen"},
      {"tools/fixture/launcher", "--users"},
      {"service/server", "--listen"},
  };
  for (const auto& [binary, flag] : binaries) {
    auto process = Subprocess::Start(RunfilePath(binary), {"--help"});
    ASSERT_THAT(process, IsOk()) << binary;
    EXPECT_THAT((*process)->WaitForLine("    " + flag, absl::Seconds(30)),
                IsOk())
        << binary << " --help does not list " << flag;
    (void)(*process)->Wait(absl::Seconds(30));
  }
}

}  // namespace
}  // namespace unified
