// Reasons for errors come from one list: every upper-case string literal in
// the service's and the connectors' code is a unified.v1.ErrorReason name
// (or one of the few literals that are not reasons: HTTP methods, SQL words,
// environment variables), and the ErrorReason names are unique and used.
// No code decides by comparing a reason string.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/errors.pb.h"
#include "tests/testing/source_files.h"

namespace unified {
namespace {

const std::set<std::string>& NotReasons() {
  static const auto* names =
      new std::set<std::string>{"GET",
                                "POST",
                                "PUT",
                                "HEAD",
                                "PATCH",
                                "DELETE",
                                "BEGIN",
                                "COMMIT",
                                "ROLLBACK",
                                "HOME",
                                "XDG_DATA_HOME",
                                "UNIFIED_API_KEYS",
                                "UNIFIED_ENCRYPTION_KEYS",
                                "UNIFIED_STORE",
                                "PODIO_CLIENT_ID",
                                "PODIO_CLIENT_SECRET"};
  return *names;
}

std::vector<std::string> SourceFiles() {
  return testing::ServiceAndConnectorSources();
}

TEST(ErrorReasonsTest, EveryReasonInTheCodeIsInTheProtoList) {
  const std::vector<std::string> files = SourceFiles();
  ASSERT_GT(files.size(), 40u);
  const std::regex literal("\"([A-Z][A-Z0-9_]{2,})\"");
  std::set<std::string> used;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string code = text.str();
    for (std::sregex_iterator it(code.begin(), code.end(), literal), end;
         it != end; ++it) {
      const std::string name = (*it)[1];
      if (NotReasons().count(name)) continue;
      used.insert(name);
      v1::ErrorReason reason;
      EXPECT_TRUE(v1::ErrorReason_Parse(name, &reason))
          << name << " (in " << file
          << ") is not a unified.v1.ErrorReason: add it to "
             "proto/unified/v1/errors.proto, or use one that is";
    }
  }
  // The list holds no reason the code never gives (generic ones aside).
  const google::protobuf::EnumDescriptor* list = v1::ErrorReason_descriptor();
  for (int i = 0; i < list->value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor* value = list->value(i);
    if (value->number() < 100) continue;  // Generic (status codes).
    EXPECT_EQ(used.count(value->name()), 1u)
        << value->name() << " is listed but never used";
  }
}

// Lines of code (not comments) that compare something with a reason: an
// ErrorInfo's reason(), or an upper-case literal.
std::vector<std::string> ReasonComparisons(const std::string& code) {
  static const std::regex call(R"(reason\(\)\s*[!=]=)");
  static const std::regex literal(
      R"re([!=]=\s*"([A-Z][A-Z0-9_]{2,})"|"([A-Z][A-Z0-9_]{2,})"\s*[!=]=)re");
  std::vector<std::string> out;
  std::istringstream lines(code);
  for (std::string line; std::getline(lines, line);) {
    const size_t text = line.find_first_not_of(" \t");
    if (text == std::string::npos || line.compare(text, 2, "//") == 0) continue;
    bool compares = std::regex_search(line, call);
    for (std::sregex_iterator it(line.begin(), line.end(), literal), end;
         it != end && !compares; ++it) {
      // HTTP methods and the like are not reasons.
      const std::string name = (*it)[1].matched ? (*it)[1] : (*it)[2];
      compares = NotReasons().count(name) == 0;
    }
    if (compares) out.push_back(line);
  }
  return out;
}

TEST(ErrorReasonsTest, NoCodeDecidesByComparingAReasonString) {
  // The check finds what it looks for.
  EXPECT_EQ(ReasonComparisons("  if (info->reason() == \"INVALID_GRANT\") {\n"
                              "  // info->reason() == \"X\" in a comment\n"
                              "  return reason != \"CREDENTIALS_REJECTED\";\n")
                .size(),
            2u);
  // Decisions go by the status code and by typed marks (AuthRefusalOf,
  // IsRateRefusal, TransportFailureOf), never by reason text.
  for (const std::string& file : SourceFiles()) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_THAT(ReasonComparisons(text.str()), ::testing::IsEmpty()) << file;
  }
}

}  // namespace
}  // namespace unified
