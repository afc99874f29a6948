#include "connectors/common/log_line.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace unified {
namespace {

TEST(JsonQuoteTest, EscapesControlCharactersAndReplacesInvalidUtf8) {
  EXPECT_EQ(JsonQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonQuote("line\nnext\r\x7f"), R"("line\u000anext\u000d\u007f")");
  // Æ and € pass; a lone continuation byte, a truncated sequence, an
  // overlong form and a surrogate do not.
  EXPECT_EQ(JsonQuote("\xc3\x86\xe2\x82\xac"), "\"\xc3\x86\xe2\x82\xac\"");
  EXPECT_EQ(JsonQuote("\x80"), R"("\ufffd")");
  EXPECT_EQ(JsonQuote("\xe2\x82"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonQuote("\xc0\xaf"), R"("\ufffd\ufffd")");
  EXPECT_EQ(JsonQuote("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");
}

TEST(LogLineTest, IsOneJsonObjectOnOneLineOfBoundedLength) {
  const std::string line =
      LogLine("2026-12-07T00:00:00.000Z", LogLevel::kError, "a\nb",
              "\"text\":" + JsonQuote(std::string(100, '\n')));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["level"].GetString(), "error");
  EXPECT_STREQ(doc["msg"].GetString(), "a\nb");

  const std::string long_line = LogLine(
      "2026-12-07T00:00:00.000Z", LogLevel::kInfo, std::string(5000, 'm'),
      "\"text\":" + JsonQuote(std::string(100000, '\x01')));
  EXPECT_LE(long_line.size(), kMaxLogLine);
  doc.Parse(long_line.c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(std::string(doc["msg"].GetString()), std::string(1024, 'm'));
  EXPECT_GT(doc["truncated"].GetInt64(), 100000);
  EXPECT_FALSE(doc.HasMember("text"));
}

TEST(LogTimeTest, IsUtcWithMilliseconds) {
  EXPECT_EQ(LogTime(absl::FromUnixMillis(1765065600123)),
            "2025-12-07T00:00:00.123Z");
}

}  // namespace
}  // namespace unified
