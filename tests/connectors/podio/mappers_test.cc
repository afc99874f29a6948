// Podio JSON -> unified records, on recorded-shape JSON (docs/podio.md §3) and
// on hostile input.
#include "connectors/podio/mappers.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::testing::HasSubstr;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

rapidjson::Document Json(const std::string& text) {
  absl::StatusOr<rapidjson::Document> doc = json::Parse(text);
  EXPECT_TRUE(doc.ok()) << doc.status();
  return doc.ok() ? std::move(*doc) : rapidjson::Document();
}

v1::OrganizationRef Org() {
  v1::OrganizationRef org;
  org.set_id("1000");
  org.set_name("Acme");
  return org;
}

// The OrgMember shape of D-ORG-MEMBERS with the account and profile fields of
// §3.2 and §3.3.
constexpr char kOrgMember[] = R"({
  "user": {"user_id": 5000000046, "mail": "bjorn@acme.example",
           "status": "active", "locale": "da_DK",
           "timezone": "Europe/Copenhagen",
           "created_on": "2017-11-30 16:12:30"},
  "profile": {"profile_id": 9000000046, "user_id": 5000000046,
              "name": "Björn Papadopoulos", "type": "user",
              "mail": ["bjorn@acme.example", "b@home.example"],
              "phone": ["+45 10757063"], "title": ["Support"],
              "image": {"link": "https://files.podio.com/1",
                        "thumbnail_link": "https://files.podio.com/1/t"},
              "last_seen_on": "2018-03-01 17:13:49"},
  "employee": true, "role": "admin", "space_memberships": 2})";

TEST(MappersTest, OrgMember) {
  absl::StatusOr<v1::User> user = MapOrgMember(Json(kOrgMember), Org(), false);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->id(), "5000000046");
  EXPECT_EQ(user->identifiers().at("user_id"), "5000000046");
  EXPECT_EQ(user->identifiers().at("profile_id"), "9000000046");
  EXPECT_EQ(user->name(), "Björn Papadopoulos");
  EXPECT_EQ(user->first_name(), "Björn");
  EXPECT_EQ(user->last_name(), "Papadopoulos");
  EXPECT_EQ(user->username(), "bjorn@acme.example");
  ASSERT_EQ(user->emails_size(), 2);
  EXPECT_EQ(user->emails(0).email(), "bjorn@acme.example");
  EXPECT_TRUE(user->emails(0).is_primary());
  EXPECT_FALSE(user->emails(1).is_primary());
  EXPECT_EQ(user->phones(0).number(), "+45 10757063");
  EXPECT_EQ(user->title(), "Support");
  EXPECT_EQ(user->status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(user->status_raw(), "active");
  EXPECT_EQ(user->user_type(), v1::USER_TYPE_EMPLOYEE);
  EXPECT_EQ(user->avatar_url(), "https://files.podio.com/1/t");
  EXPECT_EQ(user->timezone(), "Europe/Copenhagen");
  EXPECT_EQ(user->locale(), "da_DK");
  EXPECT_EQ(user->created_at().seconds(), 1512058350);
  EXPECT_EQ(user->last_active_at().seconds(), 1519924429);
  ASSERT_EQ(user->organizations_size(), 1);
  EXPECT_EQ(user->organizations(0).name(), "Acme");
  ASSERT_EQ(user->roles_size(), 1);
  EXPECT_EQ(user->roles(0).role_id(), "organization.admin");
  EXPECT_EQ(user->roles(0).scope(), v1::ROLE_SCOPE_ORGANIZATION);
  EXPECT_EQ(user->roles(0).scope_id(), "1000");
  EXPECT_FALSE(user->has_remote_data());
}

TEST(MappersTest, InvitedOrgMemberIsInvitedGuest) {
  absl::StatusOr<v1::User> user =
      MapOrgMember(Json(R"({"user": {"user_id": 7, "mail": "new@x.example",
                        "status": "inactive"},
               "profile": {"profile_id": 8, "name": "New Person"},
               "employee": false, "role": "regular"})"),
                   Org(), false);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->status(), v1::USER_STATUS_INVITED);
  EXPECT_EQ(user->status_raw(), "inactive");
  EXPECT_EQ(user->user_type(), v1::USER_TYPE_GUEST);
  EXPECT_EQ(user->username(), "new@x.example");
}

// An invitation is read from the membership, not the account: an active
// Podio user invited to this organization shows only the "very limited
// data" of invited members here, or a single view with spaces invited to
// and none started; a full account row is an active member.
TEST(MappersTest, AnInvitationIsTheMembershipsNotTheAccounts) {
  absl::StatusOr<v1::User> limited =
      MapOrgMember(Json(R"({"user": {"user_id": 7, "mail": "ada@x.example"},
               "profile": {"profile_id": 8, "name": "Ada"},
               "employee": false, "role": "regular"})"),
                   Org(), false);
  ASSERT_THAT(limited, IsOk());
  EXPECT_EQ(limited->status(), v1::USER_STATUS_INVITED);
  ASSERT_EQ(limited->organizations_size(), 1);
  EXPECT_EQ(limited->organizations(0).membership_status(),
            v1::USER_STATUS_INVITED);
  absl::StatusOr<v1::User> single =
      MapOrgMember(Json(R"({"user": {"user_id": 7, "mail": "ada@x.example",
                        "status": "active", "locale": "en_US"},
               "profile": {"profile_id": 8, "name": "Ada"},
               "spaces": {"invited": 1, "started": 0}})"),
                   Org(), false);
  ASSERT_THAT(single, IsOk());
  EXPECT_EQ(single->status(), v1::USER_STATUS_INVITED);
  absl::StatusOr<v1::User> active =
      MapOrgMember(Json(R"({"user": {"user_id": 7, "mail": "ada@x.example",
                        "status": "active", "locale": "en_US"},
               "profile": {"profile_id": 8, "name": "Ada"},
               "spaces": {"invited": 0, "started": 2}})"),
                   Org(), false);
  ASSERT_THAT(active, IsOk());
  EXPECT_EQ(active->status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(active->organizations(0).membership_status(),
            v1::USER_STATUS_ACTIVE);
}

TEST(MappersTest, OrgContactIsAnActiveMemberWithoutRole) {
  absl::StatusOr<v1::User> user = MapOrgContact(
      Json(R"({"profile_id": 9, "user_id": 5, "name": "Ada Lovelace",
               "type": "user", "mail": ["ada@x.example"],
               "last_seen_on": "2020-01-02 03:04:05"})"),
      Org(), false);
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->id(), "5");
  EXPECT_EQ(user->username(), "ada@x.example");
  EXPECT_EQ(user->first_name(), "Ada");
  EXPECT_EQ(user->status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(user->organizations(0).id(), "1000");
  EXPECT_EQ(user->roles_size(), 0);
  EXPECT_THAT(MapOrgContact(Json(R"({"name": "no id"})"), Org(), false),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(MappersTest, SpaceMemberV2ReadsUserOrProfile) {
  v1::WorkspaceRef ws;
  ws.set_id("22");
  for (const char* key : {"user", "profile"}) {
    absl::StatusOr<v1::User> user = MapSpaceMemberV2(
        Json(absl::StrCat(R"({")", key,
                          R"(": {"user_id": 5, "profile_id": 6, "name": "Zoë"},
                              "employee": false, "role": "light", "grants": 0})")),
        ws, false);
    ASSERT_THAT(user, IsOk()) << key;
    EXPECT_EQ(user->id(), "5");
    EXPECT_EQ(user->user_type(), v1::USER_TYPE_EXTERNAL);
    EXPECT_EQ(user->roles(0).role_id(), "workspace.light");
    EXPECT_EQ(user->workspaces(0).id(), "22");
  }
  // The documented blank role maps to no role rather than a wrong one.
  absl::StatusOr<v1::User> blank = MapSpaceMemberV2(
      Json(R"({"user": {"user_id": 5}, "role": ""})"), ws, false);
  ASSERT_THAT(blank, IsOk());
  EXPECT_EQ(blank->roles_size(), 0);
}

TEST(MappersTest, OrganizationAndSpace) {
  absl::StatusOr<v1::Organization> org = MapOrganization(
      Json(R"({"org_id": 1000, "name": "Acme", "url": "https://podio.com/acme",
               "url_label": "acme", "status": "active", "type": "premium",
               "member_count": 27, "domains": ["acme.example"],
               "created_on": "2015-01-29 04:03:47",
               "spaces": [{"space_id": 1}]})"),
      true);
  ASSERT_THAT(org, IsOk());
  EXPECT_EQ(org->id(), "1000");
  EXPECT_EQ(org->slug(), "acme");
  EXPECT_EQ(org->status(), v1::ORGANIZATION_STATUS_ACTIVE);
  EXPECT_EQ(org->plan(), "premium");
  EXPECT_EQ(org->member_count(), 27);
  EXPECT_EQ(org->domains(0), "acme.example");
  EXPECT_TRUE(org->remote_data().fields().contains("name"));
  EXPECT_FALSE(org->remote_data().fields().contains("spaces"));

  absl::StatusOr<v1::Workspace> ws = MapSpace(
      Json(R"({"space_id": 2200000001, "name": "Plans", "description": null,
               "url": "https://podio.com/acme/plans", "privacy": "closed",
               "archived": true, "member_count": 4,
               "org": {"org_id": 1000, "name": "Acme"},
               "push": {"signature": "secret"}})"),
      v1::OrganizationRef(), true);
  ASSERT_THAT(ws, IsOk());
  EXPECT_EQ(ws->id(), "2200000001");
  EXPECT_EQ(ws->description(), "");
  EXPECT_EQ(ws->organization().id(), "1000");
  EXPECT_EQ(ws->privacy(), v1::WORKSPACE_PRIVACY_CLOSED);
  EXPECT_EQ(ws->status(), v1::WORKSPACE_STATUS_ARCHIVED);
  // Credential-like members never reach clients.
  EXPECT_FALSE(ws->remote_data().fields().contains("push"));
}

TEST(MappersTest, UserStatusIsThePrincipal) {
  absl::StatusOr<v1::User> me =
      MapUserStatus(Json(R"({"user": {"user_id": 1, "mail": "me@x.example",
                        "status": "blacklisted"},
               "profile": {"profile_id": 2, "name": "Solo"},
               "calendar_code": "SECRET", "inbox_new": 0})"),
                    true);
  ASSERT_THAT(me, IsOk());
  EXPECT_EQ(me->status(), v1::USER_STATUS_SUSPENDED);
  EXPECT_EQ(me->first_name(), "");  // One word: no split.
  const std::string remote = me->remote_data().DebugString();
  EXPECT_THAT(remote, ::testing::Not(HasSubstr("SECRET")));
}

TEST(MappersTest, HostileRecordsGiveCleanErrorsOrUnsetFields) {
  // Missing, mistyped, or too large ids.
  for (const char* text :
       {R"({})", R"({"user": "x"})", R"({"user": {"user_id": "5"}})",
        R"({"user": {"user_id": 123456789012345678901234567890}})",
        R"([1, 2, 3])", R"("just a string")"}) {
    EXPECT_THAT(MapOrgMember(Json(text), Org(), false),
                StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed")))
        << text;
  }
  // Wrong types for optional fields are ignored.
  absl::StatusOr<v1::User> odd =
      MapOrgMember(Json(R"({"user": {"user_id": 9, "mail": 5, "status": ["x"],
                        "created_on": "yesterday"},
               "profile": {"name": {"first": "A"}, "mail": [1, null, "ok@x"],
                           "title": 7},
               "employee": "yes", "role": 3})"),
                   Org(), false);
  ASSERT_THAT(odd, IsOk());
  EXPECT_EQ(odd->name(), "");
  EXPECT_EQ(odd->emails_size(), 1);
  EXPECT_FALSE(odd->has_created_at());
  EXPECT_EQ(odd->roles_size(), 0);
  // Huge strings pass through intact.
  const std::string huge(1 << 20, 'x');
  absl::StatusOr<v1::User> big = MapOrgMember(
      Json(absl::StrCat(R"({"user": {"user_id": 1}, "profile": {"name": ")",
                        huge, R"("}})")),
      Org(), false);
  ASSERT_THAT(big, IsOk());
  EXPECT_EQ(big->name().size(), huge.size());
}

TEST(MappersTest, DeepNestingIsRefusedOrCutInRemoteData) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[";
  for (int i = 0; i < 100000; ++i) deep += "]";
  EXPECT_THAT(
      json::Parse(absl::StrCat(R"({"user": {"user_id": 1}, "x": )", deep, "}")),
      StatusIs(absl::StatusCode::kInternal, HasSubstr("deeper")));
  std::string nested;
  for (int i = 0; i < 200; ++i) nested += "[";
  for (int i = 0; i < 200; ++i) nested += "]";
  absl::StatusOr<v1::User> user = MapOrgMember(
      Json(absl::StrCat(R"({"user": {"user_id": 1}, "extra": )", nested, "}")),
      Org(), true);
  ASSERT_THAT(user, IsOk());
  EXPECT_TRUE(user->has_remote_data());
}

TEST(JsonTest, InvalidUtf8AndTruncationAreInternalErrors) {
  EXPECT_THAT(json::Parse("{\"name\": \"\xC3\x28\"}"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("malformed")));
  // Overlong, surrogate, beyond U+10FFFF, truncated sequences.
  for (const char* bad : {"\"\xC0\xAF\"", "\"\xED\xA0\x80\"",
                          "\"\xF4\x90\x80\x80\"", "\"\xE2\x82\""}) {
    EXPECT_FALSE(json::CheckUtf8(bad).ok()) << bad;
  }
  EXPECT_TRUE(
      json::CheckUtf8("\"Zo\xC3\xAB \xE7\x8E\x8B \xF0\x9F\x98\x80\"").ok());
  EXPECT_THAT(json::Parse(R"({"a": [1, 2)"),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(json::Parse(""), StatusIs(absl::StatusCode::kInternal));
}

// The check reads ASCII runs 16 and 8 bytes at a time: a bad byte, or a
// good multi-byte sequence, at every place of a run and across its ends.
TEST(JsonTest, Utf8IsCheckedAtEveryPlaceOfARun) {
  for (size_t n = 1; n <= 48; ++n) {
    for (size_t at = 0; at < n; ++at) {
      std::string text(n, 'a');
      text[at] = '\xFF';
      EXPECT_FALSE(json::CheckUtf8(text).ok()) << n << " " << at;
      text[at] = '\xC3';
      EXPECT_FALSE(json::CheckUtf8(text).ok()) << n << " " << at;
      text.insert(at + 1, 1, '\xAB');  // Now U+00EB.
      EXPECT_TRUE(json::CheckUtf8(text).ok()) << n << " " << at;
    }
  }
}

TEST(MappersTest, MergeKeepsOrderAndPrefersActive) {
  absl::StatusOr<v1::User> invited = MapOrgMember(
      Json(R"({"user": {"user_id": 7, "mail": "p@x", "status": "inactive"},
               "profile": {"name": "P Q"}, "role": "regular"})"),
      Org(), false);
  v1::OrganizationRef second;
  second.set_id("2000");
  absl::StatusOr<v1::User> active = MapOrgMember(
      Json(R"({"user": {"user_id": 7, "mail": "p@x", "status": "active",
                        "timezone": "UTC"},
               "profile": {"name": "P Q"}, "employee": true,
               "role": "admin"})"),
      second, false);
  ASSERT_THAT(invited, IsOk());
  ASSERT_THAT(active, IsOk());
  v1::User merged = *invited;
  MergeUser(*active, &merged);
  EXPECT_EQ(merged.status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(merged.user_type(), v1::USER_TYPE_EMPLOYEE);
  EXPECT_EQ(merged.timezone(), "UTC");
  ASSERT_EQ(merged.organizations_size(), 2);
  EXPECT_EQ(merged.organizations(0).id(), "1000");
  EXPECT_EQ(merged.organizations(1).id(), "2000");
  EXPECT_EQ(merged.roles_size(), 2);
}

TEST(MappersTest, RoleCatalog) {
  EXPECT_EQ(RoleCatalog().size(), 5u);
  EXPECT_EQ(RoleId(v1::ROLE_SCOPE_WORKSPACE, "light"), "workspace.light");
  EXPECT_EQ(RoleId(v1::ROLE_SCOPE_ORGANIZATION, "light"), "");
  EXPECT_FALSE(ParsePodioTime("2017-13-40 99:00:00").has_value());
  EXPECT_EQ(ParsePodioTime("2017-03-21")->seconds(), 1490054400);
}

}  // namespace
}  // namespace unified::podio
