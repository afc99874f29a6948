// Pure mappers from SCIM 2.0 JSON (RFC 7643 resources, RFC 7644 list
// responses; docs/scim.md) to the unified schema: JSON in, proto out, no
// I/O. A resource without an id gives INTERNAL with reason
// UPSTREAM_MALFORMED_RECORD; optional attributes missing or mistyped are
// left unset.
#ifndef CONNECTORS_SCIM_SCIM_MAPPERS_H_
#define CONNECTORS_SCIM_SCIM_MAPPERS_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "proto/unified/v1/resources.pb.h"
#include "rapidjson/document.h"

namespace unified::scim {

// A SCIM service provider serves one directory: it is the account's only
// organization.
inline constexpr char kOrganizationId[] = "directory";

// The fixed catalog: organization.member (every user), organization.admin
// (a user with the SCIM role "admin"), workspace.member (a group member).
const std::vector<v1::Role>& RoleCatalog();

// Attributes dropped from remote_data (RFC 7643 §4.1.1 password, never
// returned by a faithful provider, and certificates).
const std::set<std::string>& SecretKeys();

// RFC 3339 date-time ("2026-01-01T00:00:00Z", offsets and fractions too).
std::optional<google::protobuf::Timestamp> ParseScimTime(
    absl::string_view text);

// A User resource. `organization` is the directory's; workspaces and
// workspace roles come from the user's `groups`.
absl::StatusOr<v1::User> MapUser(const rapidjson::Value& json,
                                 const v1::OrganizationRef& organization,
                                 bool include_remote_data);

// A Group resource as a workspace (member_count from `members` when
// present).
absl::StatusOr<v1::Workspace> MapGroup(const rapidjson::Value& json,
                                       const v1::OrganizationRef& organization,
                                       bool include_remote_data);

// The role assignments a mapped user holds (organization roles, then one
// workspace.member per group), ids "<user>/<role>/<scope id>".
std::vector<v1::RoleAssignment> AssignmentsOf(const v1::User& user);

// RFC 7643 §2.1: attribute names are case-insensitive. Renames, at any
// depth of `value`, the members whose names are a known SCIM attribute or
// message field in another case ("username", "Emails") to the spelling the
// mappers read ("userName", "emails"), unless an object holds both.
void CanonicalizeNames(rapidjson::Value& value,
                       rapidjson::Document::AllocatorType& allocator);

// A ListResponse (RFC 7644 §3.4.2): its counts and resources.
struct ListPage {
  int64_t total_results = 0;
  int64_t start_index = 1;
  const rapidjson::Value* resources = nullptr;  // An array, or null.
  int64_t size() const {
    return resources == nullptr ? 0 : resources->GetArray().Size();
  }
};
// INTERNAL (UPSTREAM_MALFORMED_RESPONSE) without totalResults or with
// Resources that are not an array.
absl::StatusOr<ListPage> ReadListPage(const rapidjson::Value& json);

// What ServiceProviderConfig (RFC 7643 §5) says the connector may use.
struct Capabilities {
  bool filter = true;
  int64_t max_results = 0;  // 0: unstated.
  bool patch = false;
  // RFC 9865 cursor pagination (`pagination.cursor`), and its largest page
  // (`pagination.maxPageSize`, 0: unstated).
  bool cursor = false;
  int64_t max_page_size = 0;
};
Capabilities ReadCapabilities(const rapidjson::Value& json);

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_MAPPERS_H_
