// The fixed role catalog (docs/podio.md) and roles of member rows.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/mapper_internal.h"
#include "connectors/podio/mappers.h"

namespace unified::podio {
namespace {

v1::Role MakeRole(const char* id, const char* name, const char* description,
                  v1::RoleScope scope, const char* remote,
                  std::vector<const char*> permissions) {
  v1::Role role;
  role.set_id(id);
  role.set_name(name);
  role.set_description(description);
  role.set_applicable_in(scope);
  role.set_remote_name(remote);
  for (const char* p : permissions) role.add_permissions(p);
  return role;
}

}  // namespace

const std::vector<v1::Role>& RoleCatalog() {
  static const auto* roles = new std::vector<v1::Role>{
      MakeRole("organization.admin", "Organization administrator",
               "Manages the organization: members, administrators and all "
               "its workspaces.",
               v1::ROLE_SCOPE_ORGANIZATION, "admin",
               {"read_members", "manage_members", "manage_admins",
                "manage_workspaces"}),
      MakeRole("organization.regular", "Organization member",
               "A member of the organization; may join its open workspaces.",
               v1::ROLE_SCOPE_ORGANIZATION, "regular",
               {"join_open_workspaces"}),
      MakeRole("workspace.admin", "Workspace administrator",
               "Manages the workspace: its members, apps and settings.",
               v1::ROLE_SCOPE_WORKSPACE, "admin",
               {"read_items", "write_items", "manage_apps", "manage_members"}),
      MakeRole("workspace.regular", "Workspace member",
               "Works in the workspace: reads and writes items, adds apps.",
               v1::ROLE_SCOPE_WORKSPACE, "regular",
               {"read_items", "write_items", "add_apps"}),
      MakeRole("workspace.light", "Workspace light member",
               "Reads the workspace and comments; cannot create apps.",
               v1::ROLE_SCOPE_WORKSPACE, "light", {"read_items", "comment"}),
  };
  return *roles;
}

namespace {

// The catalog entry for a Podio role word in a scope, or null. Runs for every
// record: no allocation.
const v1::Role* FindRole(v1::RoleScope scope, absl::string_view podio_role) {
  const std::vector<v1::Role>& roles = RoleCatalog();
  if (scope == v1::ROLE_SCOPE_ORGANIZATION) {
    if (podio_role == "admin") return &roles[0];
    if (podio_role == "regular") return &roles[1];
  } else if (scope == v1::ROLE_SCOPE_WORKSPACE) {
    if (podio_role == "admin") return &roles[2];
    if (podio_role == "regular") return &roles[3];
    if (podio_role == "light") return &roles[4];
  }
  return nullptr;
}

}  // namespace

std::string RoleId(v1::RoleScope scope, absl::string_view podio_role) {
  const v1::Role* role = FindRole(scope, podio_role);
  return role ? role->id() : "";
}

std::optional<v1::ScopedRole> MakeScopedRole(v1::RoleScope scope,
                                             absl::string_view podio_role,
                                             const std::string& scope_id) {
  const v1::Role* role = FindRole(scope, podio_role);
  if (role == nullptr) return std::nullopt;
  v1::ScopedRole scoped;
  scoped.set_role_id(role->id());
  scoped.set_name(role->name());
  scoped.set_scope(scope);
  scoped.set_scope_id(scope_id);
  return scoped;
}

absl::StatusOr<std::optional<v1::RoleAssignment>> MapMemberAssignment(
    const rapidjson::Value& member, v1::RoleScope scope, int64_t scope_id,
    const std::string& scope_name) {
  v1::OrganizationRef org;
  org.set_id(absl::StrCat(scope_id));
  org.set_name(scope_name);
  ASSIGN_OR_RETURN(v1::User user,
                   scope == v1::ROLE_SCOPE_ORGANIZATION
                       ? MapOrgMember(member, org, false)
                       : MapSpaceMemberV2(member, v1::WorkspaceRef(), false));
  v1::RoleAssignment a;
  a.set_user_id(user.id());
  a.set_scope(scope);
  a.set_scope_id(absl::StrCat(scope_id));
  a.set_role_id(RoleId(scope, json::StringOr(member, "role")));
  a.set_id(absl::StrCat(a.scope_id(), ":", a.user_id()));
  if (a.role_id().empty()) return std::nullopt;
  return a;
}

}  // namespace unified::podio
