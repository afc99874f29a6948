#include "service/accounts/sealer.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified::accounts {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

SealKey Key(const std::string& id, char fill) {
  return SealKey{id, std::string(32, fill)};
}

const SealContext kContext{"tenant-a", "ia_0123", "access_token"};

// A fixed vector computed with an independent AES-GCM implementation
// (Python's `cryptography` AESGCM): key bytes 0..31, nonce a0..ab, AAD as
// documented in sealer.h. It pins the format and the AAD layout.
TEST(SealerTest, MatchesTheFixedTestVector) {
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", &key));
  absl::StatusOr<Sealer> sealer = Sealer::Create({{"k1", key}});
  ASSERT_THAT(sealer, IsOk());
  std::string nonce;
  for (int i = 0; i < 12; ++i) nonce.push_back(static_cast<char>(0xa0 + i));
  const std::string expected =
      "v1.k1.oKGio6SlpqeoqaqrlncYRCrmY9wBAPSgKg6vtRXCdCGghGJAD2koGRTyzSqbi0NUxd"
      "Q";
  EXPECT_EQ(*sealer->SealWithNonceForTesting(kContext, "podio-access-token-123",
                                             nonce),
            expected);
  EXPECT_EQ(*sealer->Open(kContext, expected), "podio-access-token-123");
}

TEST(SealerTest, RoundTripsWithAFreshNonceEachTime) {
  Sealer sealer = *Sealer::Create({Key("k1", 'a')});
  const std::string a = *sealer.Seal(kContext, "secret-token");
  const std::string b = *sealer.Seal(kContext, "secret-token");
  EXPECT_NE(a, b);
  EXPECT_THAT(a, Not(HasSubstr("secret")));
  EXPECT_EQ(*sealer.Open(kContext, a), "secret-token");
  EXPECT_EQ(*sealer.Open(kContext, b), "secret-token");
  EXPECT_EQ(*sealer.Open(kContext, *sealer.Seal(kContext, "")), "");
}

TEST(SealerTest, TamperingAndMisplacedCiphertextsFailCleanly) {
  Sealer sealer = *Sealer::Create({Key("k1", 'a')});
  const std::string sealed = *sealer.Seal(kContext, "secret-token");
  // Every single flipped character of the payload is detected.
  for (size_t i = 6; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    absl::StatusOr<std::string> opened = sealer.Open(kContext, tampered);
    EXPECT_THAT(opened, StatusIs(absl::StatusCode::kDataLoss)) << i;
    if (!opened.ok()) {
      EXPECT_THAT(opened.status().message(), Not(HasSubstr(sealed.substr(6))));
    }
  }
  // Copied to another account, tenant or field: refused.
  for (const SealContext& other :
       {SealContext{"tenant-a", "ia_9999", "access_token"},
        SealContext{"tenant-b", "ia_0123", "access_token"},
        SealContext{"tenant-a", "ia_0123", "refresh_token"}}) {
    EXPECT_THAT(sealer.Open(other, sealed),
                StatusIs(absl::StatusCode::kDataLoss));
  }
  for (const std::string& junk :
       {std::string(""), std::string("v1.k1."), std::string("v2.k1.AAAA"),
        std::string("v1.k1.!!!"), std::string("plaintext"), sealed + "."}) {
    EXPECT_THAT(sealer.Open(kContext, junk),
                StatusIs(absl::StatusCode::kDataLoss))
        << junk;
  }
}

TEST(SealerTest, AWrongKeyOrAnUnknownKeyIdFailsCleanly) {
  Sealer one = *Sealer::Create({Key("k1", 'a')});
  Sealer same_id_other_bytes = *Sealer::Create({Key("k1", 'b')});
  Sealer other_id = *Sealer::Create({Key("k2", 'a')});
  const std::string sealed = *one.Seal(kContext, "secret-token");
  EXPECT_THAT(
      same_id_other_bytes.Open(kContext, sealed),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("authentication")));
  EXPECT_THAT(other_id.Open(kContext, sealed),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("'k1'")));
}

TEST(SealerTest, RotationWritesWithTheNewestAndReadsEveryKey) {
  Sealer old_ring = *Sealer::Create({Key("k1", 'a')});
  Sealer new_ring = *Sealer::Create({Key("k1", 'a'), Key("k2", 'b')});
  const std::string old_sealed = *old_ring.Seal(kContext, "t");
  EXPECT_EQ(Sealer::KeyIdOf(old_sealed), "k1");
  EXPECT_EQ(*new_ring.Open(kContext, old_sealed), "t");
  const std::string new_sealed = *new_ring.Seal(kContext, "t");
  EXPECT_EQ(Sealer::KeyIdOf(new_sealed), "k2");
  EXPECT_EQ(new_ring.newest_key_id(), "k2");
  EXPECT_THAT(old_ring.Open(kContext, new_sealed),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(SealerTest, RefusesBadKeyRings) {
  EXPECT_THAT(Sealer::Create({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Sealer::Create({{"k1", std::string(16, 'a')}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32")));
  EXPECT_THAT(Sealer::Create({Key("bad id", 'a')}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Sealer::Create({Key("k1", 'a'), Key("k1", 'b')}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(KeyRingTest, ParsesEntriesAndNeverEchoesKeys) {
  const std::string a = NewKeyRingEntry("k1");
  const std::string b = NewKeyRingEntry("k2");
  absl::StatusOr<std::vector<SealKey>> ring =
      ParseKeyRing("# comment\n" + a + "\n\n" + b + "\n");
  ASSERT_THAT(ring, IsOk());
  ASSERT_EQ(ring->size(), 2u);
  EXPECT_EQ((*ring)[1].id, "k2");
  EXPECT_EQ((*ring)[1].bytes.size(), 32u);
  EXPECT_THAT(ParseKeyRing(a + ";" + b), IsOk());
  absl::StatusOr<std::vector<SealKey>> bad = ParseKeyRing("k1 secretsecret");
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("secretsecret")));
  EXPECT_THAT(ParseKeyRing("k1:@@@notbase64"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace unified::accounts
