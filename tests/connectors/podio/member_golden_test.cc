// The Podio member mappers against their recorded outputs: every row of
// testdata/member_rows.json (the fixtures' records, rows of a simulator
// page, and rows made to probe each rule: mistyped, missing, repeated and
// escaped members, numbers of every width, nesting) through every mapper,
// compared as text with testdata/member_rows.golden. The golden file was
// written by the DOM mappers before organization member pages were mapped
// from the parser's events (connectors/podio/member_reader.h), so any
// change in what a row maps to, on either path, fails here.
//
// On a mismatch the actual output is written to the test's undeclared
// outputs (member_rows.golden) for review.
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/podio/mappers.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/testing/subprocess.h"

namespace unified::podio {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A mapper's answer as one line: the message in text format, or the error.
// With remote data, the rest must be what the mapper gives without it, so
// the line shows remote_data's keys and a digest of its text instead.
template <typename T>
std::string Show(absl::StatusOr<T> mapped, const std::string& plain = "") {
  if (!mapped.ok()) {
    const auto info = GetErrorInfo(mapped.status());
    return absl::StrCat(
        "error ", absl::StatusCodeToString(mapped.status().code()), " ",
        info ? info->reason() : "", ": ", mapped.status().message(), "\n");
  }
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  std::string remote;
  if (!plain.empty()) {
    std::string text;
    printer.PrintToString(mapped->remote_data(), &text);
    std::set<std::string> keys;  // A map's order is not kept.
    for (const auto& [key, value] : mapped->remote_data().fields()) {
      keys.insert(key);
    }
    uint64_t digest = 1469598103934665603ULL;  // FNV-1a
    for (unsigned char c : text) digest = (digest ^ c) * 1099511628211ULL;
    remote = absl::StrCat("remote_data ", absl::StrJoin(keys, " "), " fnv ",
                          digest, "\n");
    mapped->clear_remote_data();
  }
  std::string text;
  printer.PrintToString(*mapped, &text);
  text += "\n";
  if (!plain.empty()) {
    EXPECT_EQ(text, plain) << "remote data changed the rest of the user";
  }
  return remote.empty() ? text : remote;
}

v1::OrganizationRef Org() {
  v1::OrganizationRef org;
  org.set_id("1000");
  org.set_name("Organization 1");
  return org;
}

v1::WorkspaceRef Space() {
  v1::WorkspaceRef ws;
  ws.set_id("2000");
  ws.set_name("Space 1");
  return ws;
}

// Every mapper's output for each row, in the golden file's layout.
std::string MapAll(const rapidjson::Value& rows) {
  std::string out;
  int i = 0;
  for (const rapidjson::Value& row : rows.GetArray()) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    row.Accept(writer);
    absl::StrAppend(&out, "# row ", i++, ": ", buffer.GetString(), "\n");
    const std::string member = Show(MapOrgMember(row, Org(), false));
    const std::string contact = Show(MapOrgContact(row, Org(), false));
    const std::string space = Show(MapSpaceMemberV2(row, Space(), false));
    const std::string status = Show(MapUserStatus(row, false));
    absl::StrAppend(&out, "## org member\n", member, "## org contact\n",
                    contact, "## space member\n", space, "## user status\n",
                    status, "## remote\n");
    absl::StrAppend(&out, Show(MapOrgMember(row, Org(), true), member),
                    Show(MapOrgContact(row, Org(), true), contact),
                    Show(MapSpaceMemberV2(row, Space(), true), space),
                    Show(MapUserStatus(row, true), status));
  }
  return out;
}

void ExpectGolden(const std::string& actual) {
  const std::string golden = ReadFile(testing::RunfilePath(
      "tests/connectors/podio/testdata/member_rows.golden"));
  if (actual == golden) return;
  if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
    std::ofstream(absl::StrCat(dir, "/member_rows.golden")) << actual;
  }
  // The first line that differs, for the log.
  std::istringstream a(actual), g(golden);
  std::string la, lg;
  int line = 1;
  while (std::getline(a, la) && std::getline(g, lg) && la == lg) ++line;
  ADD_FAILURE() << "member_rows.golden differs at line " << line
                << "\n  expected: " << lg << "\n  actual:   " << la;
}

absl::StatusOr<json::Body> Rows() {
  return json::ParseOwned(ReadFile(testing::RunfilePath(
      "tests/connectors/podio/testdata/member_rows.json")));
}

// Each row of the page read from its text, without a document, as the
// listings read it, maps as the row alone does; with remote data too.
TEST(MemberGoldenTest, APageReadFromItsTextMapsEachRowAsRecorded) {
  const std::string text = ReadFile(
      testing::RunfilePath("tests/connectors/podio/testdata/member_rows.json"));
  absl::StatusOr<json::Body> rows = Rows();
  ASSERT_TRUE(rows.ok()) << rows.status();
  enum Kind { kMember, kContact, kSpaceMember };
  for (const Kind kind : {kMember, kContact, kSpaceMember}) {
    for (const bool remote : {false, true}) {
      auto page = kind == kSpaceMember
                      ? MapSpaceMemberPage(text, Space(), remote)
                      : MapOrgMemberPage(text, Org(), kind == kContact, remote);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_EQ(page->size(), rows->root().Size());
      for (size_t i = 0; i < page->size(); ++i) {
        const rapidjson::Value& row = rows->root()[i];
        const auto alone = kind == kMember ? MapOrgMember(row, Org(), remote)
                           : kind == kContact
                               ? MapOrgContact(row, Org(), remote)
                               : MapSpaceMemberV2(row, Space(), remote);
        SCOPED_TRACE(
            absl::StrCat("row ", i, " kind ", kind, remote ? " remote" : ""));
        EXPECT_EQ(Show((*page)[i]), Show(alone));
      }
    }
  }
}

// An answer that is not a list, or not JSON, is the error a document
// would give.
TEST(MemberGoldenTest, APageThatIsNoListIsMalformed) {
  for (const char* body :
       {"{\"user\": {\"user_id\": 1}}", "5", "\"x\"", "",
        "[{\"user\": {\"user_id\": 1}}", "[1,]", "[\"\xff\"]"}) {
    for (const bool remote : {false, true}) {
      SCOPED_TRACE(absl::StrCat(body, remote ? " remote" : ""));
      auto page = MapOrgMemberPage(body, Org(), false, remote);
      ASSERT_FALSE(page.ok());
      auto space = MapSpaceMemberPage(body, Space(), remote);
      ASSERT_FALSE(space.ok());
      EXPECT_EQ(space.status().code(), absl::StatusCode::kInternal);
      EXPECT_EQ(page.status().code(), absl::StatusCode::kInternal);
      const auto info = GetErrorInfo(page.status());
      ASSERT_TRUE(info.has_value());
      EXPECT_EQ(info->reason(), "UPSTREAM_MALFORMED_RESPONSE");
    }
  }
  std::string deep(300, '[');
  auto page =
      MapOrgMemberPage(deep + std::string(300, ']'), Org(), false, false);
  ASSERT_FALSE(page.ok());
  EXPECT_THAT(std::string(page.status().message()),
              ::testing::HasSubstr("nested deeper than"));
}

TEST(MemberGoldenTest, EachRowMapsAsRecorded) {
  absl::StatusOr<json::Body> rows = Rows();
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_TRUE(rows->root().IsArray());
  ASSERT_GT(rows->root().Size(), 150u);
  ExpectGolden(MapAll(rows->root()));
}

}  // namespace
}  // namespace unified::podio
