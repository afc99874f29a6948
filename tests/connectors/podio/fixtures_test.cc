// The connector's mappers and error mapping against the recorded-shape
// fixtures (tests/fixtures/podio), the same ones the simulator is checked
// against: every recorded body maps, and the mapped fields are the fixture's.
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/fixtures/podio/fixture.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::LoadPodioFixtures;
using ::unified::testing::PodioFixture;

std::string Id(const rapidjson::Value& v, const char* key) {
  return absl::StrCat(v[key].GetInt64());
}

v1::OrganizationRef Org() {
  v1::OrganizationRef org;
  org.set_id("1000");
  org.set_name("Acme");
  return org;
}

// The records a body holds: its elements, or itself.
std::vector<const rapidjson::Value*> Records(const rapidjson::Value& body) {
  std::vector<const rapidjson::Value*> out;
  if (body.IsArray()) {
    for (const auto& v : body.GetArray()) out.push_back(&v);
  } else {
    out.push_back(&body);
  }
  return out;
}

// A user mapped from `account` (may be null) and `profile`.
void ExpectUser(const v1::User& user, const rapidjson::Value* account,
                const rapidjson::Value& profile) {
  EXPECT_EQ(user.id(), Id(account ? *account : profile, "user_id"));
  EXPECT_EQ(user.name(), profile["name"].GetString());
  if (profile.HasMember("profile_id")) {
    EXPECT_EQ(user.identifiers().at("profile_id"), Id(profile, "profile_id"));
  }
  const std::string mail =
      account
          ? (*account)["mail"].GetString()
          : (profile.HasMember("mail") ? profile["mail"][0].GetString() : "");
  if (!mail.empty()) {
    ASSERT_GE(user.emails_size(), 1);
    EXPECT_EQ(user.emails(0).email(), mail);
  }
  if (profile.HasMember("image") && profile["image"].IsObject()) {
    EXPECT_EQ(user.avatar_url(),
              profile["image"]["thumbnail_link"].GetString());
  }
}

class MapperFixturesTest : public ::testing::TestWithParam<PodioFixture> {};

TEST_P(MapperFixturesTest, TheConnectorReadsTheFixture) {
  const PodioFixture& fixture = GetParam();
  ASSERT_EQ(fixture.problem, "") << fixture.name;
  const rapidjson::Value& body = fixture["body"];
  const std::string mapper = fixture.String("mapper");
  for (const rapidjson::Value* record : Records(body)) {
    const rapidjson::Value& r = *record;
    if (mapper == "org_member") {
      absl::StatusOr<v1::User> user = MapOrgMember(r, Org(), false);
      ASSERT_THAT(user, IsOk());
      ExpectUser(*user, &r["user"], r["profile"]);
      EXPECT_EQ(user->status(), v1::USER_STATUS_ACTIVE);
      ASSERT_EQ(user->roles_size(), 1);
      EXPECT_EQ(user->roles(0).role_id(),
                absl::StrCat("organization.", r["role"].GetString()));
      EXPECT_EQ(user->organizations(0).id(), "1000");
    } else if (mapper == "org_contact") {
      absl::StatusOr<v1::User> user = MapOrgContact(r, Org(), false);
      ASSERT_THAT(user, IsOk());
      ExpectUser(*user, nullptr, r);
      EXPECT_EQ(user->roles_size(), 0);
    } else if (mapper == "space_member_v2") {
      v1::WorkspaceRef ws;
      ws.set_id("3000001");
      absl::StatusOr<v1::User> user = MapSpaceMemberV2(r, ws, false);
      ASSERT_THAT(user, IsOk());
      ExpectUser(*user, nullptr, r["user"]);
      ASSERT_EQ(user->roles_size(), 1);
      EXPECT_EQ(user->roles(0).role_id(),
                absl::StrCat("workspace.", r["role"].GetString()));
    } else if (mapper == "user_status") {
      absl::StatusOr<v1::User> user = MapUserStatus(r, false);
      ASSERT_THAT(user, IsOk());
      ExpectUser(*user, &r["user"], r["profile"]);
      // Secrets of the status (calendar code, push and presence grants)
      // never reach the record, not even as remote data.
      absl::StatusOr<v1::User> raw = MapUserStatus(r, true);
      ASSERT_THAT(raw, IsOk());
      const std::string text = raw->DebugString();
      EXPECT_EQ(text.find(r["calendar_code"].GetString()), std::string::npos);
      EXPECT_EQ(text.find("signature"), std::string::npos);
    } else if (mapper == "organization") {
      absl::StatusOr<v1::Organization> org = MapOrganization(r, false);
      ASSERT_THAT(org, IsOk());
      EXPECT_EQ(org->id(), Id(r, "org_id"));
      EXPECT_EQ(org->name(), r["name"].GetString());
      EXPECT_EQ(org->slug(), r["url_label"].GetString());
      EXPECT_EQ(org->member_count(), r["member_count"].GetInt64());
    } else if (mapper == "space") {
      absl::StatusOr<v1::Workspace> ws = MapSpace(r, Org(), false);
      ASSERT_THAT(ws, IsOk());
      EXPECT_EQ(ws->id(), Id(r, "space_id"));
      EXPECT_EQ(ws->name(), r["name"].GetString());
      EXPECT_EQ(ws->url(), r["url"].GetString());
      EXPECT_EQ(ws->organization().id(), Id(r, "org_id"));
    } else {
      ASSERT_EQ(mapper, "") << "unknown mapper in " << fixture.name;
    }
  }
  if (!fixture.Has("grpc")) return;
  // Errors: the one conversion every call goes through.
  const rapidjson::Value& grpc = fixture["grpc"];
  rapidjson::StringBuffer text;
  rapidjson::Writer<rapidjson::StringBuffer> writer(text);
  body.Accept(writer);
  const int status = fixture["status"].GetInt();
  const absl::Status mapped = StatusForHttpError(status, text.GetString());
  EXPECT_EQ(absl::StatusCodeToString(mapped.code()), grpc["code"].GetString());
  EXPECT_EQ(IsExpiredToken(status, ReadPodioError(text.GetString())),
            grpc["expired_token"].GetBool());
  if (grpc.HasMember("retry_seconds")) {
    EXPECT_EQ(GetRetryDelay(mapped),
              absl::Seconds(grpc["retry_seconds"].GetInt()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Podio, MapperFixturesTest, ::testing::ValuesIn(LoadPodioFixtures()),
    [](const ::testing::TestParamInfo<PodioFixture>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace unified::podio
