// The seeded directory generator: determinism and the variety tests need.
#include "tools/podio_sim/directory.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace unified::podio_sim {
namespace {

// A canonical text form of everything generated.
std::string Dump(const Directory& d) {
  std::string out;
  for (const SimUser& u : d.users) {
    absl::StrAppend(&out, u.user_id, "|", u.name, "|", u.mail, "|", u.status,
                    "|", absl::ToUnixSeconds(u.last_seen_on), "\n");
  }
  for (const auto& [id, org] : d.orgs) {
    for (int64_t uid : org.member_order) {
      const OrgMembership& m = org.members.at(uid);
      absl::StrAppend(&out, "o", id, "|", uid, "|", m.role, m.employee,
                      m.invited, "\n");
    }
  }
  for (const auto& [id, space] : d.spaces) {
    for (int64_t uid : space.member_order) {
      absl::StrAppend(&out, "s", id, "|", uid, "|", space.members.at(uid).role,
                      "\n");
    }
  }
  return out;
}

GeneratorOptions Options(uint64_t seed) {
  GeneratorOptions options;
  options.seed = seed;
  options.users = 2000;
  options.orgs = 3;
  options.spaces_per_org = 4;
  return options;
}

TEST(DirectoryTest, SameSeedSameDirectoryOtherSeedOther) {
  const std::string a = Dump(GenerateDirectory(Options(7)));
  EXPECT_EQ(a, Dump(GenerateDirectory(Options(7))));
  EXPECT_NE(a, Dump(GenerateDirectory(Options(8))));
}

TEST(DirectoryTest, HasTheVarietyTestsNeed) {
  const Directory d = GenerateDirectory(Options(3));
  ASSERT_EQ(d.users.size(), 2000u);
  EXPECT_EQ(d.orgs.size(), 3u);
  EXPECT_EQ(d.spaces.size(), 12u);
  int multi_org = 0, invited = 0, non_ascii = 0, ended = 0, external = 0;
  for (const SimUser& u : d.users) {
    int orgs = 0;
    for (const auto& [id, org] : d.orgs) orgs += org.members.count(u.user_id);
    multi_org += orgs > 1;
    non_ascii += std::any_of(u.name.begin(), u.name.end(),
                             [](char c) { return (c & 0x80) != 0; });
    EXPECT_GT(u.user_id, int64_t{1} << 32);  // Beyond 32 bits.
  }
  for (const auto& [id, org] : d.orgs) {
    for (const auto& [uid, m] : org.members) {
      invited += m.invited;
      external += !m.employee;
    }
  }
  for (const auto& [id, space] : d.spaces) {
    for (const auto& [uid, m] : space.members) ended += m.ended_on.has_value();
  }
  EXPECT_GT(multi_org, 100);
  EXPECT_GT(invited, 10);
  EXPECT_GT(non_ascii, 100);
  EXPECT_GT(ended, 5);
  EXPECT_GT(external, 100);
}

TEST(DirectoryTest, PrincipalsAndSortedViews) {
  const Directory d = GenerateDirectory(Options(5));
  const int64_t admin = d.users[kAdminUserIndex].user_id;
  const int64_t regular = d.users[kRegularUserIndex].user_id;
  for (const auto& [id, org] : d.orgs) {
    EXPECT_TRUE(d.IsOrgAdmin(id, admin));
    for (int64_t space : org.space_ids) {
      EXPECT_EQ(d.ActiveSpaceMembership(space, admin)->role, "admin");
    }
    EXPECT_TRUE(std::is_sorted(org.member_order.begin(), org.member_order.end(),
                               [&d](int64_t a, int64_t b) {
                                 return std::tie(d.FindUser(a)->name, a) <
                                        std::tie(d.FindUser(b)->name, b);
                               }));
    EXPECT_EQ(org.member_order.size(), org.members.size());
  }
  EXPECT_TRUE(d.IsOrgMember(kFirstOrgId, regular));
  EXPECT_FALSE(d.IsOrgAdmin(kFirstOrgId, regular));
  EXPECT_FALSE(d.IsOrgMember(kFirstOrgId + 1, regular));
  EXPECT_EQ(d.users_by_name.size(), d.users.size());
}

}  // namespace
}  // namespace unified::podio_sim
