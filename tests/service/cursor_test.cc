#include "service/cursor.h"

#include <vector>

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

const CursorBinding kBinding{"tenant", "acct", "users", "org=1"};

TEST(CursorTest, RoundTrips) {
  CursorCodec codec(std::string(32, 'k'));
  const std::string token = std::string("\x00\x01", 2) + "binary" + "\xff";
  const std::string cursor = codec.Seal(kBinding, {token, 1234567});
  absl::StatusOr<CursorState> state = codec.Open(kBinding, cursor);
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->page_token, token);
  EXPECT_EQ(state->skip, 1234567u);
  // URL-safe text.
  EXPECT_EQ(cursor.find_first_of("+/= "), std::string::npos);
  // Empty opens as the first page.
  ASSERT_THAT(codec.Open(kBinding, ""), IsOk());
  EXPECT_EQ(codec.Open(kBinding, "")->page_token, "");
}

TEST(SealedPositionTest, RoundTripsAndRefusesWhatHoldsNoPosition) {
  CursorCodec codec(std::string(32, 'k'));
  for (const SealedPosition& p : std::vector<SealedPosition>{
           {"", 0}, {"", 42}, {"t", 7}, {"12", 99}, {"a:b", 3}}) {
    const std::optional<SealedPosition> opened =
        OpenPosition(codec, kBinding, SealPosition(codec, kBinding, p));
    ASSERT_TRUE(opened.has_value()) << p.scope << ":" << p.seq;
    EXPECT_EQ(opened->scope, p.scope);
    EXPECT_EQ(opened->seq, p.seq);
  }
  const std::string token = SealPosition(codec, kBinding, {"t", 5});
  const CursorBinding other{"tenant", "acct", "watch", ""};
  EXPECT_FALSE(OpenPosition(codec, other, token).has_value());
  EXPECT_FALSE(OpenPosition(codec, kBinding, token + "x").has_value());
  EXPECT_FALSE(OpenPosition(codec, kBinding, "").has_value());
  // A listing cursor is no position, nor is a negative one.
  EXPECT_FALSE(OpenPosition(codec, kBinding, codec.Seal(kBinding, {"page2", 0}))
                   .has_value());
  EXPECT_FALSE(OpenPosition(codec, kBinding, codec.Seal(kBinding, {"t:-1", 0}))
                   .has_value());
}

TEST(CursorTest, RefusesOtherBindingsKeysAndTampering) {
  CursorCodec codec(std::string(32, 'k'));
  const std::string cursor = codec.Seal(kBinding, {"tok", 3});
  for (CursorBinding other :
       {CursorBinding{"t2", "acct", "users", "org=1"},
        CursorBinding{"tenant", "acct2", "users", "org=1"},
        CursorBinding{"tenant", "acct", "workspaces", "org=1"},
        CursorBinding{"tenant", "acct", "users", "org=2"}}) {
    EXPECT_THAT(codec.Open(other, cursor),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(CursorCodec(std::string(32, 'x')).Open(kBinding, cursor),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (size_t i = 0; i < cursor.size(); ++i) {
    std::string flipped = cursor;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(codec.Open(kBinding, flipped).ok()) << i;
  }
  EXPECT_THAT(codec.Open(kBinding, cursor.substr(0, 8)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(codec.Open(kBinding, std::string(20000, 'A')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  absl::Status bad = codec.Open(kBinding, "!!!").status();
  EXPECT_EQ(GetErrorInfo(bad)->reason(), "INVALID_CURSOR");
}

}  // namespace
}  // namespace unified
