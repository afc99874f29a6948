// The house's size limits (docs/architecture.md, "House rules"): every
// source file of the service, the connectors and the tools stays within 600
// lines and every function within 80, unless a comment near the top of the
// file says why (a line starting "// Over the size limits:"). Tests and
// generated code are not held to them.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/source_files.h"

namespace unified {
namespace {

constexpr int kMaxFileLines = 600;
constexpr int kMaxFunctionLines = 80;
constexpr char kExemption[] = "// Over the size limits:";

// `code` with comments, string and character literals blanked (newlines
// kept), so that braces in them do not count.
std::string Stripped(const std::string& code) {
  std::string out = code;
  size_t i = 0;
  auto blank = [&out](size_t from, size_t to) {
    for (size_t k = from; k < to && k < out.size(); ++k) {
      if (out[k] != '\n') out[k] = ' ';
    }
  };
  while (i < code.size()) {
    if (code.compare(i, 2, "//") == 0) {
      const size_t end = code.find('\n', i);
      blank(i, end == std::string::npos ? code.size() : end);
      i = end == std::string::npos ? code.size() : end;
    } else if (code.compare(i, 2, "/*") == 0) {
      const size_t end = code.find("*/", i + 2);
      const size_t stop = end == std::string::npos ? code.size() : end + 2;
      blank(i, stop);
      i = stop;
    } else if (code.compare(i, 2, "R\"") == 0) {
      const size_t paren = code.find('(', i);
      const std::string close =
          absl::StrCat(")", code.substr(i + 2, paren - i - 2), "\"");
      const size_t end = code.find(close, paren);
      const size_t stop =
          end == std::string::npos ? code.size() : end + close.size();
      blank(i + 1, stop);
      i = stop;
    } else if (code[i] == '"' || code[i] == '\'') {
      const char quote = code[i];
      size_t k = i + 1;
      while (k < code.size() && code[k] != quote && code[k] != '\n') {
        k += code[k] == '\\' ? 2 : 1;
      }
      blank(i + 1, k);
      i = k + 1;
    } else {
      ++i;
    }
  }
  return out;
}

// Whether the text before a '{' makes it a function's (or lambda's) body:
// it ends with a parameter list (and qualifiers), not a control statement's
// condition.
bool OpensFunction(absl::string_view before) {
  before = absl::StripTrailingAsciiWhitespace(before);
  const size_t arrow = before.rfind("->");
  if (arrow != absl::string_view::npos &&
      before.find(')', arrow) == absl::string_view::npos) {
    before = absl::StripTrailingAsciiWhitespace(before.substr(0, arrow));
  }
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (absl::string_view word :
         {"const", "override", "noexcept", "final", "mutable"}) {
      if (absl::EndsWith(before, word)) {
        before = absl::StripTrailingAsciiWhitespace(
            before.substr(0, before.size() - word.size()));
        stripped = true;
      }
    }
  }
  if (!absl::EndsWith(before, ")")) return false;
  int depth = 0;
  size_t open = before.size();
  while (open-- > 0) {
    if (before[open] == ')') ++depth;
    if (before[open] == '(' && --depth == 0) break;
  }
  if (open >= before.size()) return false;
  absl::string_view head =
      absl::StripTrailingAsciiWhitespace(before.substr(0, open));
  size_t word = head.size();
  while (word > 0 &&
         (absl::ascii_isalnum(head[word - 1]) || head[word - 1] == '_')) {
    --word;
  }
  const absl::string_view name = head.substr(word);
  return name != "if" && name != "for" && name != "while" && name != "switch" &&
         name != "catch";
}

// The functions of `code` longer than `limit` lines: (first line, lines).
// Lambdas count with the function that holds them.
std::vector<std::pair<int, int>> LongFunctions(const std::string& code,
                                               int limit) {
  const std::string text = Stripped(code);
  std::vector<std::pair<bool, int>> open;  // (a function's body, its line)
  int functions_open = 0;
  int line = 1;
  std::vector<std::pair<int, int>> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
    } else if (text[i] == '{') {
      const size_t from = i > 400 ? i - 400 : 0;
      const bool function =
          functions_open == 0 &&
          OpensFunction(absl::string_view(text).substr(from, i - from));
      open.push_back({function, line});
      functions_open += function;
    } else if (text[i] == '}' && !open.empty()) {
      const auto [function, first] = open.back();
      open.pop_back();
      if (!function) continue;
      --functions_open;
      if (line - first + 1 > limit) out.push_back({first, line - first + 1});
    }
  }
  return out;
}

bool Exempt(const std::string& code) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(code, '\n')) {
    if (absl::StartsWith(line, kExemption)) return true;
    if (++n > 40) break;
  }
  return false;
}

// What in `code` breaks the limits, named after `path`.
std::vector<std::string> Oversized(const std::string& path,
                                   const std::string& code) {
  std::vector<std::string> out;
  if (Exempt(code)) return out;
  const int lines =
      static_cast<int>(std::count(code.begin(), code.end(), '\n')) +
      (absl::EndsWith(code, "\n") || code.empty() ? 0 : 1);
  if (lines > kMaxFileLines) {
    out.push_back(absl::StrCat(path, ": ", lines, " lines"));
  }
  for (const auto& [first, length] : LongFunctions(code, kMaxFunctionLines)) {
    out.push_back(
        absl::StrCat(path, ":", first, ": a function of ", length, " lines"));
  }
  return out;
}

std::string Lines(int n, const std::string& line) {
  std::string out;
  for (int i = 0; i < n; ++i) absl::StrAppend(&out, line, "\n");
  return out;
}

TEST(SizeLimitsTest, PlantedOversizesAreFound) {
  const std::string long_function =
      "int F(int a) const {\n" + Lines(80, "  a += 1;") + "}\n";
  EXPECT_THAT(Oversized("x.cc", long_function),
              ::testing::ElementsAre("x.cc:1: a function of 82 lines"));
  const std::string fine = "int F(int a) {\n" + Lines(78, "  a += 1;") + "}\n";
  EXPECT_THAT(Oversized("x.cc", fine), ::testing::IsEmpty());
  // Braces of control statements, lambdas, strings and comments inside
  // count with their function; a long class is not a function.
  const std::string nested =
      "void G() {\n  if (x) {\n" + Lines(40, "    f(\"{\");  // }") +
      "  }\n  auto l = [&]() -> int {\n" + Lines(40, "    y();") + "  };\n}\n";
  EXPECT_THAT(Oversized("y.cc", nested),
              ::testing::ElementsAre("y.cc:1: a function of 86 lines"));
  const std::string klass =
      "class C {\n" + Lines(90, "  int f() { return 1; }") + "};\n";
  EXPECT_THAT(Oversized("c.h", klass), ::testing::IsEmpty());
  const std::string long_file = Lines(601, "int x;");
  EXPECT_THAT(Oversized("z.cc", long_file),
              ::testing::ElementsAre("z.cc: 601 lines"));
  EXPECT_THAT(Oversized("z.cc", "// Over the size limits: a table.\n" +
                                    long_file + long_function),
              ::testing::IsEmpty());
}

TEST(SizeLimitsTest, NoFileOrFunctionIsTooLong) {
  std::vector<std::string> files = testing::ServiceAndConnectorSources();
  testing::CollectSources(testing::RunfilePath("tools"), &files);
  ASSERT_GT(files.size(), 250u);
  const std::string service = testing::RunfilePath("service");
  const std::string root = service.substr(0, service.size() - 7);
  std::vector<std::string> oversized;
  for (const std::string& file : files) {
    const std::string code = testing::ReadSource(file);
    const std::string path =
        absl::StartsWith(file, root) ? file.substr(root.size()) : file;
    for (std::string& o : Oversized(path, code)) {
      oversized.push_back(std::move(o));
    }
  }
  EXPECT_THAT(oversized, ::testing::IsEmpty());
}

}  // namespace
}  // namespace unified
