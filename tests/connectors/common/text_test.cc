// Search text folding (connectors/common/text.h) and the users' search
// (connectors/connector.h, UserMatchesQuery) on the cases ASCII lowering got
// wrong.
#include "connectors/common/text.h"

#include "connectors/connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace unified {
namespace {

TEST(FoldCaseTest, FoldsAsUnicodeSays) {
  EXPECT_EQ(FoldCase("Émile"), FoldCase("émile"));
  EXPECT_EQ(FoldCase("ÉMILE"), FoldCase("émile"));
  EXPECT_EQ(FoldCase("Straße"), FoldCase("STRASSE"));
  // A decomposed é (e + combining acute) is the composed one.
  EXPECT_EQ(FoldCase("e\xcc\x81mile"), FoldCase("\xc3\xa9mile"));
  EXPECT_EQ(FoldCase("ﬁle"), FoldCase("FILE"));  // Compatibility: the ligature.
  EXPECT_EQ(FoldCase("Ada"), "ada");
  EXPECT_EQ(FoldCase(""), "");
  // Invalid UTF-8 is read as far as it goes, never a crash.
  EXPECT_FALSE(FoldCase("\xff\xfe bad").empty());
}

TEST(FoldCaseTest, ASearchFindsNamesAndMailsWhateverTheirCase) {
  v1::User user;
  user.set_name("Émile Zola");
  user.add_emails()->set_email("E.Zola@Example.COM");
  EXPECT_TRUE(UserMatchesQuery(user, FoldCase("émile")));
  EXPECT_TRUE(UserMatchesQuery(user, FoldCase("ZOLA")));
  EXPECT_TRUE(UserMatchesQuery(user, FoldCase("zola@example.com")));
  EXPECT_TRUE(UserMatchesQuery(user, ""));
  EXPECT_FALSE(UserMatchesQuery(user, FoldCase("emile")));  // Accents count.
  EXPECT_FALSE(UserMatchesQuery(user, FoldCase("dumas")));
}

}  // namespace
}  // namespace unified
