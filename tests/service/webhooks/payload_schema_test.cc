// docs/webhooks.schema.json is what PayloadSchema() derives from the event
// messages, so the documented schema cannot drift from the bodies sent.
// (The bodies themselves are checked against it by the jsonschema package
// in //tests/integration:webhook_integration_test and
// //tests/integration:watch_integration_test.)
#include "service/webhooks/payload_schema.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "service/webhooks/payloads.h"
#include "tools/testing/subprocess.h"

namespace unified::webhooks {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(PayloadSchemaTest, TheDocumentedSchemaIsTheDerivedOne) {
  std::ifstream in(testing::RunfilePath("docs/webhooks.schema.json"));
  std::stringstream documented;
  documented << in.rdbuf();
  EXPECT_EQ(documented.str(), PayloadSchema())
      << "regenerate: bazel run //tools/webhook_schema > "
         "docs/webhooks.schema.json";
}

TEST(PayloadSchemaTest, TheSchemaCoversEveryTypeAndField) {
  const std::string schema = PayloadSchema();
  EXPECT_THAT(schema, HasSubstr(R"("const": 1)"));
  for (const char* part :
       {"\"directory.org_member_removed\"",
        "\"account.webhook_endpoint_failing\"", "\"unified.v1.User\"",
        "\"previous_status\"", "\"USER_STATUS_INVITED\""}) {
    EXPECT_THAT(schema, HasSubstr(part));
  }
  // Only changes go out: no heartbeat or snapshot end.
  EXPECT_THAT(schema, ::testing::Not(HasSubstr("directory.heartbeat")));
  EXPECT_THAT(schema, ::testing::Not(HasSubstr("account.heartbeat")));
}

TEST(PayloadSchemaTest, BodiesStartWithTheirVersion) {
  v1::DirectoryEvent event;
  event.set_type(v1::DirectoryEvent::MEMBER_ADDED);
  event.mutable_user()->set_id("7");
  EXPECT_THAT(Body(event),
              StartsWith(R"({"version":1,"type":"directory.member_added",)"));
}

}  // namespace
}  // namespace unified::webhooks
