// The SCIM fixtures (tests/fixtures/scim, written from the RFCs they cite)
// read two ways: the connector's mappers and error table turn them into the
// unified schema, and the simulator answers the same requests with the same
// shapes (every required attribute, nothing the RFC shape lacks, same JSON
// types).
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/scim/scim_errors.h"
#include "connectors/scim/scim_mappers.h"
#include "google/protobuf/util/message_differencer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tests/testing/status_matchers.h"
#include "tools/testing/subprocess.h"
#include "tools/scim_sim/scim_sim.h"

namespace unified::scim {
namespace {

using ::unified::testing::IsOk;

rapidjson::Document Fixture(const std::string& name) {
  std::ifstream in(
      ::unified::testing::RunfilePath("tests/fixtures/scim/" + name));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(text.str().c_str());
  EXPECT_FALSE(doc.HasParseError()) << name;
  return doc;
}

v1::OrganizationRef Org() {
  v1::OrganizationRef org;
  org.set_id(kOrganizationId);
  org.set_name("Directory");
  return org;
}

TEST(ScimFixturesTest, FullUserMapsToTheUnifiedUser) {
  rapidjson::Document f = Fixture("user.json");
  absl::StatusOr<v1::User> user = MapUser(f["body"], Org(), true);
  ASSERT_THAT(user.status(), IsOk());
  EXPECT_EQ(user->id(), "7d1f0a52-93c4-4e8b-b1a2-0c6f3e9d2a10");
  EXPECT_EQ(user->identifiers().at("external_id"), "emp-4711");
  EXPECT_EQ(user->username(), "nora.lind@example.com");
  EXPECT_EQ(user->name(), "Nora Lind");
  EXPECT_EQ(user->first_name(), "Nora");
  EXPECT_EQ(user->last_name(), "Lind");
  EXPECT_EQ(user->title(), "Support Lead");
  ASSERT_EQ(user->emails_size(), 2);
  EXPECT_TRUE(user->emails(0).is_primary());
  EXPECT_EQ(user->emails(1).type(), "home");
  EXPECT_EQ(user->phones(0).number(), "+46 8 123 45 67");
  EXPECT_EQ(user->status(), v1::USER_STATUS_ACTIVE);
  EXPECT_EQ(user->user_type(), v1::USER_TYPE_EMPLOYEE);
  EXPECT_EQ(user->avatar_url(), "https://photos.example.com/nora.jpg");
  EXPECT_EQ(user->timezone(), "Europe/Stockholm");
  EXPECT_EQ(user->locale(), "sv-SE");
  ASSERT_EQ(user->organizations_size(), 1);
  EXPECT_EQ(user->organizations(0).id(), kOrganizationId);
  ASSERT_EQ(user->workspaces_size(), 1);
  EXPECT_EQ(user->workspaces(0).name(), "Support");
  std::vector<std::string> roles;
  for (const v1::ScopedRole& r : user->roles()) {
    roles.push_back(r.role_id() + "@" + r.scope_id());
  }
  EXPECT_THAT(
      roles,
      ::testing::ElementsAre(
          "organization.member@directory", "organization.admin@directory",
          "workspace.member@c0ffee00-0000-4000-8000-000000000001"));
  EXPECT_EQ(user->created_at().seconds(), 1741076100);
  EXPECT_EQ(user->updated_at().nanos(), 250000000);
  // The password attribute never leaves, even when a provider sends it.
  EXPECT_FALSE(user->remote_data().fields().contains("password"));
  EXPECT_TRUE(user->remote_data().fields().contains("userName"));
  EXPECT_EQ(AssignmentsOf(*user).size(), 3u);
}

TEST(ScimFixturesTest, GroupMapsToAWorkspace) {
  rapidjson::Document f = Fixture("group.json");
  absl::StatusOr<v1::Workspace> ws = MapGroup(f["body"], Org(), false);
  ASSERT_THAT(ws.status(), IsOk());
  EXPECT_EQ(ws->name(), "Support");
  EXPECT_EQ(ws->member_count(), 2);
  EXPECT_EQ(ws->organization().id(), kOrganizationId);
  EXPECT_EQ(ws->status(), v1::WORKSPACE_STATUS_ACTIVE);
  EXPECT_TRUE(ws->has_created_at());
  // A group without meta.created (SCIMMY's groups have none unless the
  // server sets one) has no creation time, not 1970-01-01.
  f["body"].RemoveMember("meta");
  absl::StatusOr<v1::Workspace> bare = MapGroup(f["body"], Org(), false);
  ASSERT_THAT(bare.status(), IsOk());
  EXPECT_FALSE(bare->has_created_at());
  absl::StatusOr<v1::User> user =
      MapUser(Fixture("user.json")["body"], Org(), false);
  ASSERT_THAT(user.status(), IsOk());
  EXPECT_TRUE(user->has_created_at());
  EXPECT_TRUE(user->has_updated_at());
}

// RFC 7643 §2.1: attribute names are case-insensitive. A provider that
// writes them in lower case (or any case) maps as the recorded user does.
TEST(ScimFixturesTest, AttributeNamesInAnyCaseMapTheSame) {
  rapidjson::Document f = Fixture("user.json");
  absl::StatusOr<v1::User> canonical = MapUser(f["body"], Org(), false);
  ASSERT_THAT(canonical.status(), IsOk());
  // Every member name, at every depth, lower-cased.
  std::function<void(rapidjson::Value&)> lower = [&](rapidjson::Value& v) {
    if (v.IsArray()) {
      for (auto& e : v.GetArray()) lower(e);
    } else if (v.IsObject()) {
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        lower(m->value);
        const std::string name =
            absl::AsciiStrToLower(std::string(m->name.GetString()));
        m->name.SetString(name.c_str(),
                          static_cast<rapidjson::SizeType>(name.size()),
                          f.GetAllocator());
      }
    }
  };
  lower(f["body"]);
  absl::StatusOr<v1::User> raw = MapUser(f["body"], Org(), false);
  ASSERT_THAT(raw.status(), IsOk());
  // Read as written, the lower-cased names lose what the mapper reads by
  // its RFC spelling (userName, emails, ...).
  EXPECT_FALSE(
      google::protobuf::util::MessageDifferencer::Equals(*raw, *canonical));
  EXPECT_TRUE(raw->username().empty());
  EXPECT_FALSE(canonical->username().empty());
  CanonicalizeNames(f["body"], f.GetAllocator());
  absl::StatusOr<v1::User> mapped = MapUser(f["body"], Org(), false);
  ASSERT_THAT(mapped.status(), IsOk());
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*mapped, *canonical))
      << mapped->DebugString() << "\n" << canonical->DebugString();
}

TEST(ScimFixturesTest, ListResponseAndCapabilities) {
  rapidjson::Document list = Fixture("list_users.json");
  absl::StatusOr<ListPage> page = ReadListPage(list["body"]);
  ASSERT_THAT(page.status(), IsOk());
  EXPECT_EQ(page->total_results, 3);
  EXPECT_EQ(page->size(), 2);
  rapidjson::Document spc = Fixture("service_provider_config.json");
  Capabilities caps = ReadCapabilities(spc["body"]);
  EXPECT_TRUE(caps.filter);
  EXPECT_EQ(caps.max_results, 100);
  EXPECT_TRUE(caps.patch);
  // A record without an id, or a list without totalResults, is refused.
  rapidjson::Document bad;
  bad.Parse(R"({"userName":"x"})");
  EXPECT_EQ(GetErrorInfo(MapUser(bad, Org(), false).status())->reason(),
            "UPSTREAM_MALFORMED_RECORD");
  EXPECT_FALSE(ReadListPage(bad).ok());
}

TEST(ScimFixturesTest, ErrorsMapByTheOneTable) {
  for (const char* name : {"error_invalid_filter.json", "error_not_found.json",
                           "error_too_many.json"}) {
    SCOPED_TRACE(name);
    rapidjson::Document f = Fixture(name);
    rapidjson::StringBuffer body;
    rapidjson::Writer<rapidjson::StringBuffer> w(body);
    f["body"].Accept(w);
    std::string retry_after;
    if (f.HasMember("headers") && f["headers"].HasMember("retry-after")) {
      retry_after = f["headers"]["retry-after"].GetString();
    }
    absl::Status s =
        StatusForScimError(f["status"].GetInt(), body.GetString(), retry_after);
    EXPECT_EQ(absl::StatusCodeToString(s.code()),
              f["grpc"]["code"].GetString());
    EXPECT_EQ(GetErrorInfo(s)->reason(), f["grpc"]["reason"].GetString());
    if (f["grpc"].HasMember("retry_seconds")) {
      EXPECT_EQ(GetRetryDelay(s),
                absl::Seconds(f["grpc"]["retry_seconds"].GetInt()));
    }
  }
  // scimType reaches the metadata only when it is a keyword.
  EXPECT_EQ(GetErrorInfo(StatusForScimError(
                             400, R"({"scimType":"<script>","detail":"x"})"))
                ->metadata()
                .at("upstream_error"),
            "");
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2026 07:28:00 GMT"), std::nullopt);
}

// Every attribute the fixture requires is in the simulator's answer, and
// every attribute of the answer is in the fixture's shape, with one JSON
// type (arrays and objects compared through their first element).
void ExpectSameShape(const rapidjson::Value& fixture,
                     const rapidjson::Value& sim, const std::string& at) {
  ASSERT_EQ(fixture.GetType(), sim.GetType()) << at;
  if (fixture.IsObject()) {
    for (const auto& m : sim.GetObject()) {
      const std::string key = m.name.GetString();
      ASSERT_TRUE(fixture.HasMember(key.c_str()))
          << at << "." << key << " is not in the RFC shape";
      ExpectSameShape(fixture[key.c_str()], m.value, at + "." + key);
    }
  } else if (fixture.IsArray() && !fixture.Empty() && !sim.Empty()) {
    ExpectSameShape(fixture[0], sim[0], at + "[0]");
  }
}

TEST(ScimFixturesTest, SimulatorAnswersInTheRecordedShapes) {
  scim_sim::ScimSimOptions options;
  options.users = 5;
  options.groups = 2;
  absl::StatusOr<std::unique_ptr<scim_sim::ScimSimulator>> sim =
      scim_sim::ScimSimulator::Start(options);
  ASSERT_THAT(sim.status(), IsOk());
  const std::string user_id = (*sim)->Users()[0].id;
  const std::string group_id = (*sim)->Groups()[0].id;
  std::unique_ptr<HttpClient> http = NewCurlHttpClient({});
  for (const char* name :
       {"user.json", "group.json", "list_users.json",
        "service_provider_config.json", "error_invalid_filter.json",
        "error_not_found.json"}) {
    SCOPED_TRACE(name);
    rapidjson::Document f = Fixture(name);
    HttpRequest request;
    request.url =
        (*sim)->base_url() +
        absl::StrReplaceAll(f["request"]["path"].GetString(),
                            {{"{user_id}", user_id}, {"{group_id}", group_id}});
    request.headers = {{"Authorization", "Bearer scim-demo-token"}};
    absl::StatusOr<HttpResponse> response = http->Send(request);
    ASSERT_THAT(response.status(), IsOk());
    EXPECT_EQ(response->status, f["status"].GetInt());
    EXPECT_EQ(response->Header("content-type"), "application/scim+json");
    rapidjson::Document body;
    body.Parse(response->body.c_str());
    ASSERT_FALSE(body.HasParseError());
    for (const auto& key : f["required"].GetArray()) {
      EXPECT_TRUE(body.HasMember(key.GetString())) << key.GetString();
    }
    ExpectSameShape(f["body"], body, "body");
  }
}

}  // namespace
}  // namespace unified::scim
