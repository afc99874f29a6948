// The query strings the Podio connector builds for member listings: what is
// sent to Podio (search, order, role) and what is refused before any call.
#include "connectors/podio/listing_queries.h"

#include "connectors/common/error_details.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace unified::podio {
namespace {

using ::unified::testing::IsOk;

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  return info ? info->reason() : "";
}

TEST(ListingQueriesTest, OrganizationListingsSendSearchOrderAndRole) {
  UserFilter filter;
  EXPECT_EQ(*OrgMemberQuery(filter), "&sort_by=name");
  filter.query = "ann b&c";
  filter.role_id = "organization.admin";
  EXPECT_EQ(*OrgMemberQuery(filter),
            "&sort_by=name&member_type=admin&query=ann%20b%26c");
  // An e-mail filter is the narrower query; the search is checked on rows.
  filter.email = "Ann@Example.com";
  EXPECT_EQ(SearchOf(filter), "ann@example.com");
  filter = UserFilter();
  filter.organization_id = "1000";
  filter.order_by_last_active = true;
  filter.order_desc = true;
  EXPECT_EQ(*OrgMemberQuery(filter), "&sort_by=last_seen_on&sort_desc=1");
}

TEST(ListingQueriesTest, WhatPodioCannotServeIsRefusedWithAReason) {
  UserFilter across;
  across.order_desc = true;  // Across organizations: merged by name.
  EXPECT_EQ(ReasonOf(OrgMemberQuery(across).status()), "INVALID_ORDER_BY");
  UserFilter workspace_role;
  workspace_role.role_id = "workspace.admin";
  EXPECT_EQ(ReasonOf(OrgMemberQuery(workspace_role).status()),
            "ROLE_NEEDS_WORKSPACE");
  workspace_role.role_id = "nobody";
  EXPECT_EQ(ReasonOf(OrgMemberQuery(workspace_role).status()), "UNKNOWN_ROLE");

  UserFilter in_space;
  in_space.workspace_id = "7";
  EXPECT_THAT(SpaceMemberType(in_space).status(), IsOk());
  EXPECT_EQ(*SpaceMemberType(in_space), "");
  in_space.role_id = "workspace.admin";
  EXPECT_EQ(*SpaceMemberType(in_space), "admin");
  in_space.role_id = "organization.admin";
  EXPECT_EQ(ReasonOf(SpaceMemberType(in_space).status()), "UNKNOWN_ROLE");
  in_space.role_id.clear();
  in_space.order_by_last_active = true;
  EXPECT_EQ(ReasonOf(SpaceMemberType(in_space).status()), "INVALID_ORDER_BY");
}

TEST(ListingQueriesTest, KeepsChecksWhatPodioDoesNotFilter) {
  v1::User ann;
  ann.set_name("Ann Brown");
  ann.add_emails()->set_email("ann@example.com");
  ann.set_status(v1::USER_STATUS_ACTIVE);
  UserFilter filter;
  EXPECT_TRUE(Keeps(filter)(ann));
  filter.email = "ANN@example.com";
  filter.query = "brow";
  EXPECT_TRUE(Keeps(filter)(ann));
  filter.status = v1::USER_STATUS_INVITED;
  EXPECT_FALSE(Keeps(filter)(ann));
  filter.status = v1::USER_STATUS_UNSPECIFIED;
  filter.email = "ann@example.co";  // Exact, not a substring.
  EXPECT_FALSE(Keeps(filter)(ann));
}

}  // namespace
}  // namespace unified::podio
