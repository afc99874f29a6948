#include "service/core/cursor.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

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
  // Another key: not the caller's mistake, and said so.
  const CursorCodec other_key(std::string(32, 'x'));
  absl::Status unknown = other_key.Open(kBinding, cursor).status();
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(GetErrorInfo(unknown)->reason(), "CURSOR_KEY_UNKNOWN");
  EXPECT_TRUE(other_key.SealedUnderAnotherKey(cursor));
  EXPECT_FALSE(codec.SealedUnderAnotherKey(cursor));
  EXPECT_FALSE(other_key.SealedUnderAnotherKey("!!!"));
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

// A cursor of version 1 (no key id), as servers before version 2 sealed
// them, still opens under the same key.
TEST(CursorTest, VersionOneCursorsStillOpen) {
  const std::string key(32, 'k');
  const std::string payload = std::string("\0\0\0\x07", 4) + "page9";
  std::string message(1, '\x01');
  for (const std::string& field :
       {kBinding.tenant, kBinding.account_id, kBinding.resource,
        kBinding.filters, payload}) {
    absl::StrAppend(&message, field.size(), ":", field, ";");
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       mac, &mac_len);
  const std::string raw = std::string(1, '\x01') +
                          std::string(reinterpret_cast<char*>(mac), 16) +
                          payload;
  const std::string cursor = absl::WebSafeBase64Escape(raw);
  absl::StatusOr<CursorState> state = CursorCodec(key).Open(kBinding, cursor);
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->page_token, "page9");
  EXPECT_EQ(state->skip, 7u);
  EXPECT_FALSE(CursorCodec(key).SealedUnderAnotherKey(cursor));
}

TEST(KeptCursorKeyTest, MadeOnceOwnerOnlyAndKept) {
  const std::string dir = ::testing::TempDir() + "/kept";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  absl::StatusOr<std::string> first = KeptCursorKey(dir);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->size(), 32u);
  struct stat st {};
  ASSERT_EQ(stat((dir + "/cursor.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The next start reads the same key: cursors survive it.
  absl::StatusOr<std::string> again = KeptCursorKey(dir);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(*again, *first);
  const CursorCodec before(*first), after(*again);
  EXPECT_THAT(after.Open(kBinding, before.Seal(kBinding, {"p2", 3})), IsOk());
  // A key others can read, or one too short, is refused.
  ASSERT_EQ(chmod((dir + "/cursor.key").c_str(), 0644), 0);
  EXPECT_THAT(KeptCursorKey(dir),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(chmod((dir + "/cursor.key").c_str(), 0600), 0);
  ASSERT_EQ(truncate((dir + "/cursor.key").c_str(), 8), 0);
  EXPECT_THAT(KeptCursorKey(dir),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace unified
