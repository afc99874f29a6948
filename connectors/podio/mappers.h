// Pure mappers from Podio JSON (docs/podio.md §3) to the unified schema: JSON
// value in, proto out, no I/O. A record without the ids it must have gives
// INTERNAL with reason UPSTREAM_MALFORMED_RECORD; optional fields that are
// missing or mistyped are left unset.
#ifndef CONNECTORS_PODIO_MAPPERS_H_
#define CONNECTORS_PODIO_MAPPERS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "proto/unified/v1/resources.pb.h"
#include "rapidjson/document.h"

namespace unified::podio {

// "YYYY-MM-DD HH:MM:SS" (UTC) or "YYYY-MM-DD" as seconds since the epoch.
std::optional<int64_t> PodioTimeSeconds(absl::string_view text);
// The same as a Timestamp.
std::optional<google::protobuf::Timestamp> ParsePodioTime(
    absl::string_view text);

// Podio's credential-like members (calendar codes, push and presence
// grants, mail-in addresses, tokens, signatures; docs/podio.md §7), dropped
// from remote_data at any depth.
const std::set<std::string>& SecretKeys();

// The fixed catalog: organization.{admin,regular},
// workspace.{admin,regular,light}.
const std::vector<v1::Role>& RoleCatalog();
// "organization.admin" etc. for a Podio role word; "" when unknown.
std::string RoleId(v1::RoleScope scope, absl::string_view podio_role);
// The ScopedRole for a Podio role word in a scope; nullopt when unknown.
std::optional<v1::ScopedRole> MakeScopedRole(v1::RoleScope scope,
                                             absl::string_view podio_role,
                                             const std::string& scope_id);

// GET /user/status -> the principal (without organizations).
absl::StatusOr<v1::User> MapUserStatus(const rapidjson::Value& json,
                                       bool include_remote_data);

// One element of GET /org/{id}/member/ (or the single view) -> a User with
// that organization and its org-scoped role.
absl::StatusOr<v1::User> MapOrgMember(const rapidjson::Value& json,
                                      const v1::OrganizationRef& org,
                                      bool include_remote_data);
// The same into `out` (empty; perhaps on an arena); on an error `out` is
// left empty.
absl::Status MapOrgMemberInto(const rapidjson::Value& json,
                              const v1::OrganizationRef& org,
                              bool include_remote_data, v1::User* out);

// One element of GET /contact/org/{id} (type=full) -> an active User with
// that organization and no role (contacts do not carry it).
absl::StatusOr<v1::User> MapOrgContact(const rapidjson::Value& json,
                                       const v1::OrganizationRef& org,
                                       bool include_remote_data);

// An organization's member listing answer (GET /org/{id}/member/), or with
// `contacts` its contacts (GET /contact/org/{id}): each row mapped as
// MapOrgMember (MapOrgContact) maps it, an error for a row it cannot map.
// Read from the text as it is parsed, without building a document, unless
// `include_remote_data` (the rows then go into remote_data whole). INTERNAL
// (UPSTREAM_MALFORMED_RESPONSE) for text that is not JSON or not a list.
absl::StatusOr<std::vector<absl::StatusOr<v1::User>>> MapOrgMemberPage(
    std::string body, const v1::OrganizationRef& org, bool contacts,
    bool include_remote_data);

// One element of GET /space/{id}/member/v2/ -> a User with that workspace and
// its workspace-scoped role. Reads `profile` when `user` is absent
// (docs/podio.md §3.5 CONFLICT).
absl::StatusOr<v1::User> MapSpaceMemberV2(const rapidjson::Value& json,
                                          const v1::WorkspaceRef& workspace,
                                          bool include_remote_data);

// A workspace's member listing answer (GET /space/{id}/member/v2/): each
// row mapped as MapSpaceMemberV2 maps it; read as MapOrgMemberPage reads.
absl::StatusOr<std::vector<absl::StatusOr<v1::User>>> MapSpaceMemberPage(
    std::string body, const v1::WorkspaceRef& workspace,
    bool include_remote_data);

// An organization (GET /org/{id}, or an element of GET /org/).
absl::StatusOr<v1::Organization> MapOrganization(const rapidjson::Value& json,
                                                 bool include_remote_data);

// A space (full or mini view) -> Workspace. `org` fills the organization when
// the record does not embed one.
absl::StatusOr<v1::Workspace> MapSpace(const rapidjson::Value& json,
                                       const v1::OrganizationRef& org,
                                       bool include_remote_data);

// An organization or space as a listing source: its id, name and member
// count (0: not given), the hint of how far its member listing goes.
struct SourceInfo {
  int64_t id = 0;
  std::string name;
  int64_t members = 0;
};

// GET /org/ -> the organizations; GET /org/{id}/space/ -> the spaces
// (entries without an id are skipped). INTERNAL
// (UPSTREAM_MALFORMED_RESPONSE) for an answer that is not a list.
absl::StatusOr<std::vector<SourceInfo>> ReadOrgList(
    const rapidjson::Value& json);
absl::StatusOr<std::vector<SourceInfo>> ReadSpaceList(
    const rapidjson::Value& json);

// A list answer's elements; INTERNAL (UPSTREAM_MALFORMED_RESPONSE) naming
// `what` for an answer that is not a list.
absl::StatusOr<rapidjson::Value::ConstArray> ListOf(
    const rapidjson::Value& json, absl::string_view what);

// GET /org/ (each organization with its spaces and the caller's roles) ->
// the caller's organizations, workspaces and roles, added to `me`.
absl::Status AddMemberships(const rapidjson::Value& orgs, v1::User* me);

// GET /org/{id}/member/{user_id}/space_member/ -> the user's workspaces
// there and its role in each, as a partial User to merge.
absl::StatusOr<v1::User> MapSpaceMemberships(const rapidjson::Value& json);

// One member row of an organization (GET /org/{id}/member/) or workspace
// (GET /space/{id}/member/v2/) listing -> its role assignment in that scope
// (id "<scope id>:<user id>"); nullopt for a role the catalog lacks.
absl::StatusOr<std::optional<v1::RoleAssignment>> MapMemberAssignment(
    const rapidjson::Value& member, v1::RoleScope scope, int64_t scope_id,
    const std::string& scope_name);

// Adds `other`'s organizations, workspaces and roles to `into` (no
// duplicates); an employee anywhere is an employee; active beats invited.
void MergeUser(const v1::User& other, v1::User* into);

// Sort key of listings merged across organizations: the display name, then
// the numeric id (the order Podio's name-sorted listings are taken to have).
struct UserOrderKey {
  std::string name;
  int64_t id = 0;
  bool operator<(const UserOrderKey& o) const {
    return name != o.name ? name < o.name : id < o.id;
  }
  bool operator==(const UserOrderKey& o) const {
    return name == o.name && id == o.id;
  }
};
UserOrderKey OrderKeyOf(const v1::User& user);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_MAPPERS_H_
