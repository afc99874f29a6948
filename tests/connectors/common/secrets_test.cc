// Secret files are refused when others can read them, and when their group
// can, unless the process allows its own group to (Kubernetes' fsGroup
// mounts), and never when the group can write them.
#include "connectors/common/secrets.h"

#include <sys/stat.h>

#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

std::string SecretFile(mode_t mode) {
  static int n = 0;
  const std::string path =
      ::testing::TempDir() + "/secret" + std::to_string(n++);
  std::ofstream(path) << "s3cret";
  EXPECT_EQ(chmod(path.c_str(), mode), 0);
  return path;
}

TEST(SecretsTest, OnlyTheOwnerUnlessItsOwnGroupIsAllowedToRead) {
  SetGroupReadableSecretsAllowed(false);
  EXPECT_THAT(ReadSecret(SecretFile(0600), "", "test"), IsOk());
  EXPECT_THAT(ReadSecret(SecretFile(0400), "", "test"), IsOk());
  EXPECT_THAT(ReadSecret(SecretFile(0640), "", "test"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  SetGroupReadableSecretsAllowed(true);
  // The file's group is this process's own (it made the file).
  absl::StatusOr<std::string> shared = ReadSecret(SecretFile(0440), "", "t");
  ASSERT_THAT(shared, IsOk());
  EXPECT_EQ(*shared, "s3cret");
  for (mode_t mode : {0660, 0644, 0604, 0460}) {
    EXPECT_THAT(ReadSecret(SecretFile(mode), "", "test"),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << std::oct << mode;
  }
  SetGroupReadableSecretsAllowed(false);
}

}  // namespace
}  // namespace unified
