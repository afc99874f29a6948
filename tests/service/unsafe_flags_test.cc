// Flags that weaken the service: the --testing_* ones are refused unless
// the provider's upstream is on loopback (a simulator), and each unsafe
// flag set is a warning (a JSON log line) both from --check_config and at
// start, while a configuration without them warns of nothing.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tools/testing/service_files.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::unified::testing::IsOk;
using ::unified::testing::ReadFile;
using ::unified::testing::Subprocess;

constexpr absl::Duration kTimeout = absl::Seconds(30);

const unified::testing::ServiceFiles& Files() {
  static const auto* files =
      new unified::testing::ServiceFiles(*unified::testing::WriteServiceFiles(
          unified::testing::MakeTempDir("unsafe"), {"t1"}));
  return *files;
}

struct Outcome {
  int exit_code = -1;
  std::string stdout_text;
  std::vector<std::string> warned;  // The "flag" of each unsafe-flag line.
  std::string stderr_text;
};

// Runs the server with --check_config against `api_base` and `extra`.
Outcome CheckConfig(const std::string& api_base, std::vector<std::string> extra) {
  static int n = 0;
  const std::string dir = unified::testing::MakeTempDir("check");
  std::vector<std::string> args = Files().ServerFlags(api_base);
  args.push_back("--check_config");
  args.insert(args.end(), extra.begin(), extra.end());
  const std::string err = absl::StrCat(dir, "/stderr-", n++);
  auto process = Subprocess::Start(
      unified::testing::RunfilePath("service/server"), args, err);
  Outcome run;
  EXPECT_THAT(process, IsOk());
  if (!process.ok()) return run;
  absl::StatusOr<std::string> ok =
      (*process)->WaitForLine("configuration ok", kTimeout);
  if (ok.ok()) run.stdout_text = "configuration ok";
  absl::StatusOr<int> code = (*process)->Wait(kTimeout);
  EXPECT_THAT(code, IsOk());
  run.exit_code = code.ok() ? *code : -1;
  run.stderr_text = ReadFile(err);
  for (absl::string_view line : absl::StrSplit(run.stderr_text, '\n')) {
    if (line.empty()) continue;
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    EXPECT_TRUE(!doc.HasParseError() && doc.IsObject()) << line;
    if (doc.HasParseError() || !doc.IsObject()) continue;
    if (doc.HasMember("msg") && doc["msg"] == "unsafe flag") {
      EXPECT_EQ(std::string(doc["level"].GetString()), "warning");
      run.warned.push_back(doc["flag"].GetString());
    }
  }
  return run;
}

TEST(UnsafeFlagsTest, TestingFlagsNeedALoopbackUpstream) {
  const std::vector<std::pair<std::string, std::string>> flags = {
      {"--testing_rate_window=10s", "--testing_rate_window"},
      {"--testing_crash_after_refresh", "--testing_crash_after_refresh"}};
  for (const auto& [flag, name] : flags) {
    const Outcome real = CheckConfig("https://api.podio.com", {flag});
    EXPECT_EQ(real.exit_code, 1) << flag;
    EXPECT_THAT(real.stderr_text, HasSubstr("loopback")) << flag;
    EXPECT_EQ(real.stdout_text, "") << flag;

    const Outcome sim = CheckConfig("http://127.0.0.1:9", {flag});
    EXPECT_EQ(sim.exit_code, 0) << flag << sim.stderr_text;
    EXPECT_EQ(sim.stdout_text, "configuration ok");
    EXPECT_THAT(sim.warned, ElementsAre(name));
  }
}

TEST(UnsafeFlagsTest, WebhookExceptionsWarnAndNothingElseDoes) {
  const Outcome unsafe = CheckConfig(
      "https://api.podio.com",
      {"--webhook_allow_private", "--webhook_allow_http_loopback"});
  EXPECT_EQ(unsafe.exit_code, 0) << unsafe.stderr_text;
  EXPECT_THAT(unsafe.warned, ElementsAre("--webhook_allow_private",
                                         "--webhook_allow_http_loopback"));
  const Outcome plain = CheckConfig("https://api.podio.com", {});
  EXPECT_EQ(plain.exit_code, 0) << plain.stderr_text;
  EXPECT_THAT(plain.warned, IsEmpty());
}

TEST(UnsafeFlagsTest, TheServerWarnsAtStartToo) {
  const std::string dir = unified::testing::MakeTempDir("start");
  std::vector<std::string> args = Files().ServerFlags("http://127.0.0.1:9");
  for (const char* flag :
       {"--listen=127.0.0.1:0", "--http_listen=", "--webhook_allow_private"}) {
    args.push_back(flag);
  }
  auto server = Subprocess::Start(
      unified::testing::RunfilePath("service/server"), args, dir + "/log");
  ASSERT_THAT(server, IsOk());
  ASSERT_THAT((*server)->WaitForLine("listening on ", kTimeout), IsOk());
  const std::string log = ReadFile(dir + "/log");
  EXPECT_THAT(log, HasSubstr(R"("msg":"unsafe flag")"));
  EXPECT_THAT(log, HasSubstr(R"("flag":"--webhook_allow_private")"));
}

}  // namespace
