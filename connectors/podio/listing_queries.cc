#include "connectors/podio/listing_queries.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

bool EmailMatches(const v1::User& user, const std::string& lowered) {
  for (const v1::Email& e : user.emails()) {
    if (absl::AsciiStrToLower(e.email()) == lowered) return true;
  }
  return false;
}

}  // namespace

std::string SearchOf(const UserFilter& filter) {
  return filter.email.empty() ? filter.query
                              : absl::AsciiStrToLower(filter.email);
}

absl::StatusOr<std::string> OrgMemberQuery(const UserFilter& filter) {
  std::string extra = "&sort_by=name";
  if (filter.order_by_last_active || filter.order_desc) {
    // Podio sorts one organization's members; the merge across
    // organizations is by name.
    if (filter.organization_id.empty() || !filter.workspace_id.empty()) {
      return BadArgument(
          "order_by other than name needs organization_id (and no "
          "workspace_id): Podio sorts one organization's member listing",
          "INVALID_ORDER_BY");
    }
    extra =
        filter.order_by_last_active ? "&sort_by=last_seen_on" : "&sort_by=name";
    if (filter.order_desc) absl::StrAppend(&extra, "&sort_desc=1");
  }
  if (!filter.role_id.empty()) {
    if (filter.role_id == "organization.admin") {
      absl::StrAppend(&extra, "&member_type=admin");
    } else if (filter.role_id == "organization.regular") {
      absl::StrAppend(&extra, "&member_type=regular");
    } else if (filter.role_id.rfind("workspace.", 0) == 0 &&
               !RoleId(v1::ROLE_SCOPE_WORKSPACE, filter.role_id.substr(10))
                    .empty()) {
      return BadArgument("a workspace role filter needs workspace_id",
                         "ROLE_NEEDS_WORKSPACE");
    } else {
      return BadArgument("unknown role id", "UNKNOWN_ROLE");
    }
  }
  if (const std::string q = SearchOf(filter); !q.empty()) {
    absl::StrAppend(&extra, "&query=", UrlEncode(q));
  }
  return extra;
}

std::function<bool(const v1::User&)> Keeps(const UserFilter& filter) {
  return [email = absl::AsciiStrToLower(filter.email),
          query = FoldCase(filter.query),
          status = filter.status](const v1::User& merged) {
    return (email.empty() || EmailMatches(merged, email)) &&
           UserMatchesQuery(merged, query) &&
           (status == v1::USER_STATUS_UNSPECIFIED || merged.status() == status);
  };
}

std::string OrgMembersUrl(int64_t org_id, int limit, int64_t offset,
                          const std::string& extra) {
  return absl::StrCat("/org/", org_id, "/member/?limit=", limit,
                      "&offset=", offset, extra);
}
std::string ContactsUrl(int64_t org_id, int limit, int64_t offset) {
  return absl::StrCat("/contact/org/", org_id, "?limit=", limit,
                      "&offset=", offset, "&type=full&exclude_self=0");
}
std::string SpaceMembersUrl(int64_t space_id, int limit, int64_t offset,
                            const std::string& member_type,
                            const std::string& email) {
  std::string url = absl::StrCat(
      "/space/", space_id, "/member/v2/?limit=", limit, "&offset=", offset);
  if (!member_type.empty()) {
    absl::StrAppend(&url, "&member_type=", member_type);
  }
  if (!email.empty()) absl::StrAppend(&url, "&query=", UrlEncode(email));
  return url;
}
std::string AssignmentsUrl(bool org_phase, int64_t id, int limit,
                           int64_t offset) {
  return org_phase ? OrgMembersUrl(id, limit, offset, "&sort_by=name")
                   : SpaceMembersUrl(id, limit, offset, "", "");
}
std::string SpacesUrl(int64_t org_id) {
  return absl::StrCat("/org/", org_id, "/space/");
}

absl::StatusOr<std::string> SpaceMemberType(const UserFilter& filter) {
  if (filter.order_by_last_active || filter.order_desc) {
    return BadArgument(
        "a workspace's members come in name order only (Podio's space "
        "member listing does not sort)",
        "INVALID_ORDER_BY");
  }
  if (filter.role_id.empty()) return std::string();
  if (filter.role_id.rfind("workspace.", 0) != 0 ||
      RoleId(v1::ROLE_SCOPE_WORKSPACE, filter.role_id.substr(10)).empty()) {
    return BadArgument("with workspace_id, role must be a workspace role",
                       "UNKNOWN_ROLE");
  }
  return filter.role_id.substr(10);
}

}  // namespace unified::podio
