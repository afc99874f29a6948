// Checks webhook bodies against docs/webhooks.schema.json with the
// jsonschema package (tests/integration/check_webhook_schema.py).
#ifndef TESTS_INTEGRATION_WEBHOOK_SCHEMA_CHECK_H_
#define TESTS_INTEGRATION_WEBHOOK_SCHEMA_CHECK_H_

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tools/testing/subprocess.h"

namespace unified::testing {

// "" when every body is valid; else the checker's complaints.
inline std::string WebhookSchemaErrors(const std::vector<std::string>& bodies) {
  std::vector<std::string> args = {
      RunfilePath("tests/integration/check_webhook_schema.py"),
      RunfilePath("docs/webhooks.schema.json")};
  for (size_t i = 0; i < bodies.size(); ++i) {
    const std::string file =
        absl::StrCat(::testing::TempDir(), "/webhook-body-", i, ".json");
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bodies[i];
    args.push_back(file);
  }
  auto p = Subprocess::Start("/usr/bin/python3", args);
  if (!p.ok()) return p.status().ToString();
  std::vector<std::string> lines;
  for (;;) {
    absl::StatusOr<std::string> line = (*p)->WaitForLine("", absl::Seconds(60));
    if (!line.ok()) break;
    lines.push_back(*line);
  }
  absl::StatusOr<int> code = (*p)->Wait(absl::Seconds(60));
  if (code.ok() && *code == 0 && lines.size() == 1 &&
      lines[0] == absl::StrCat("valid ", bodies.size())) {
    return "";
  }
  return absl::StrCat("exit ", code.ok() ? *code : -1, ": ",
                      absl::StrJoin(lines, "\n"));
}

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_WEBHOOK_SCHEMA_CHECK_H_
