// The service's layers are its folders, and nothing includes upward
// (docs/architecture.md, "Layers"): core < store < accounts, watch,
// webhooks and link (siblings) < api < the binaries at service/'s root. A
// file may include its own layer and the layers below it; core includes no
// other service folder. The connectors never include the service.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/source_files.h"

namespace unified {
namespace {

// The rank of the layer a workspace-relative path lies in; -1 outside the
// service. "service/main.cc" is the top.
int Rank(absl::string_view path) {
  static const auto* ranks = new std::map<std::string, int>{
      {"core", 0},  {"store", 1},    {"accounts", 2},
      {"watch", 2}, {"webhooks", 2}, {"link", 2}, {"api", 3}};
  if (!absl::ConsumePrefix(&path, "service/")) return -1;
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.size() == 1) return 4;  // main.cc, accounts_admin.cc.
  auto it = ranks->find(parts[0]);
  return it == ranks->end() ? 5 : it->second;  // An unknown folder: refused.
}

// The includes of `code` (a file at `path`) that go upward.
std::vector<std::string> UpwardIncludes(const std::string& path,
                                        const std::string& code) {
  const bool connector = absl::StartsWith(path, "connectors/");
  const int own = connector ? -1 : Rank(path);
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(code, '\n')) {
    if (!absl::ConsumePrefix(&line, "#include \"")) continue;
    const absl::string_view included = line.substr(0, line.find('"'));
    const int rank = Rank(included);
    if (rank < 0) continue;  // Not the service.
    if (connector || rank > own || rank == 5) out.emplace_back(included);
  }
  return out;
}

// Workspace-relative, from a runfiles path.
std::string Relative(const std::string& runfile) {
  const std::string service = testing::RunfilePath("service");
  const std::string root = service.substr(0, service.size() - 7);
  return absl::StartsWith(runfile, root) ? runfile.substr(root.size())
                                         : runfile;
}

TEST(LayersTest, ThePlantedUpwardIncludesAreFound) {
  EXPECT_THAT(UpwardIncludes("service/core/cursor.cc",
                             "#include \"service/core/cursor.h\"\n"
                             "#include \"service/store/sql.h\"\n"),
              ::testing::ElementsAre("service/store/sql.h"));
  EXPECT_THAT(UpwardIncludes("service/watch/watch_engine.h",
                             "#include \"service/accounts/account_manager.h\"\n"
                             "#include \"service/api/serving.h\"\n"
                             "#include \"service/core/account_call.h\"\n"),
              ::testing::ElementsAre("service/api/serving.h"));
  EXPECT_THAT(UpwardIncludes("service/api/server.cc",
                             "#include \"service/main_helpers.h\"\n"),
              ::testing::ElementsAre("service/main_helpers.h"));
  EXPECT_THAT(UpwardIncludes("connectors/podio/hooks.cc",
                             "#include \"service/core/cursor.h\"\n"),
              ::testing::ElementsAre("service/core/cursor.h"));
  EXPECT_THAT(
      UpwardIncludes("service/main.cc", "#include \"service/api/server.h\"\n"),
      ::testing::IsEmpty());
}

TEST(LayersTest, NothingIncludesUpward) {
  const std::vector<std::string> files = testing::ServiceAndConnectorSources();
  ASSERT_GT(files.size(), 100u);
  int layered = 0;
  for (const std::string& file : files) {
    const std::string path = Relative(file);
    if (absl::StartsWith(path, "service/")) {
      EXPECT_NE(Rank(path), 5) << path << " is in no layer";
      ++layered;
    }
    EXPECT_THAT(UpwardIncludes(path, testing::ReadSource(file)),
                ::testing::IsEmpty())
        << path;
  }
  EXPECT_GT(layered, 50);
}

TEST(LayersTest, TheApiAsksTheWatchEngineNeverItsStore) {
  int api_files = 0;
  for (const std::string& file : testing::ServiceAndConnectorSources()) {
    const std::string path = Relative(file);
    if (!absl::StartsWith(path, "service/api/")) continue;
    ++api_files;
    EXPECT_FALSE(absl::StrContains(testing::ReadSource(file), "->store()"))
        << path << " reaches through an engine to its store";
  }
  EXPECT_GT(api_files, 10);
}

}  // namespace
}  // namespace unified
