// Organizations and spaces (docs/podio.md §3): their records, the listing
// sources, and the caller's memberships.
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

using mapper_internal::Malformed;
using mapper_internal::TimeField;

absl::StatusOr<v1::Organization> MapOrganization(const rapidjson::Value& json,
                                                 bool include_remote_data) {
  std::optional<int64_t> id = json::Int64(json, "org_id");
  if (!id) return Malformed("organization (no org_id)");
  v1::Organization org;
  org.set_id(absl::StrCat(*id));
  org.set_name(json::StringOr(json, "name"));
  org.set_url(json::StringOr(json, "url"));
  org.set_slug(json::StringOr(json, "url_label"));
  org.set_status_raw(json::StringOr(json, "status"));
  org.set_status(org.status_raw() == "active" ? v1::ORGANIZATION_STATUS_ACTIVE
                 : org.status_raw() == "inactive"
                     ? v1::ORGANIZATION_STATUS_INACTIVE
                     : v1::ORGANIZATION_STATUS_UNSPECIFIED);
  org.set_plan(json::StringOr(json, "type"));
  org.set_member_count(json::Int64(json, "member_count").value_or(0));
  if (const rapidjson::Value* domains = json::Find(json, "domains");
      domains != nullptr && domains->IsArray()) {
    for (const auto& d : domains->GetArray()) {
      if (d.IsString()) org.add_domains(d.GetString());
    }
  }
  if (auto t = TimeField(json, "created_on")) *org.mutable_created_at() = *t;
  if (include_remote_data) {
    rapidjson::Value copy;
    json::ToStruct(json, SecretKeys(), org.mutable_remote_data());
    org.mutable_remote_data()->mutable_fields()->erase("spaces");
  }
  return org;
}

absl::StatusOr<v1::Workspace> MapSpace(const rapidjson::Value& json,
                                       const v1::OrganizationRef& org,
                                       bool include_remote_data) {
  std::optional<int64_t> id = json::Int64(json, "space_id");
  if (!id) return Malformed("space (no space_id)");
  v1::Workspace ws;
  ws.set_id(absl::StrCat(*id));
  ws.set_name(json::StringOr(json, "name"));
  ws.set_description(json::StringOr(json, "description"));
  ws.set_url(json::StringOr(json, "url"));
  *ws.mutable_organization() = org;
  if (const rapidjson::Value* embedded = json::Find(json, "org")) {
    if (auto org_id = json::Int64(*embedded, "org_id")) {
      ws.mutable_organization()->set_id(absl::StrCat(*org_id));
      ws.mutable_organization()->set_name(json::StringOr(*embedded, "name"));
    }
  } else if (auto org_id = json::Int64(json, "org_id");
             org_id && ws.organization().id().empty()) {
    ws.mutable_organization()->set_id(absl::StrCat(*org_id));
  }
  const std::string privacy = json::StringOr(json, "privacy");
  ws.set_privacy(privacy == "open"     ? v1::WORKSPACE_PRIVACY_OPEN
                 : privacy == "closed" ? v1::WORKSPACE_PRIVACY_CLOSED
                                       : v1::WORKSPACE_PRIVACY_UNSPECIFIED);
  ws.set_status(json::Bool(json, "archived").value_or(false)
                    ? v1::WORKSPACE_STATUS_ARCHIVED
                    : v1::WORKSPACE_STATUS_ACTIVE);
  ws.set_member_count(json::Int64(json, "member_count").value_or(0));
  if (auto t = TimeField(json, "created_on")) *ws.mutable_created_at() = *t;
  if (include_remote_data)
    json::ToStruct(json, SecretKeys(), ws.mutable_remote_data());
  return ws;
}

absl::StatusOr<rapidjson::Value::ConstArray> ListOf(
    const rapidjson::Value& json, absl::string_view what) {
  if (!json.IsArray()) return mapper_internal::NotAList(what);
  return json.GetArray();
}

namespace {

absl::StatusOr<std::vector<SourceInfo>> ReadSources(
    const rapidjson::Value& json, const char* id_key, absl::string_view what) {
  ASSIGN_OR_RETURN(rapidjson::Value::ConstArray list, ListOf(json, what));
  std::vector<SourceInfo> out;
  for (const rapidjson::Value& entry : list) {
    if (std::optional<int64_t> id = json::Int64(entry, id_key)) {
      out.push_back({*id, json::StringOr(entry, "name"),
                     std::max<int64_t>(
                         0, json::Int64(entry, "member_count").value_or(0))});
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<SourceInfo>> ReadOrgList(
    const rapidjson::Value& json) {
  return ReadSources(json, "org_id", "/org/");
}

absl::StatusOr<std::vector<SourceInfo>> ReadSpaceList(
    const rapidjson::Value& json) {
  return ReadSources(json, "space_id", "organization spaces");
}

absl::Status AddMemberships(const rapidjson::Value& orgs, v1::User* me) {
  ASSIGN_OR_RETURN(rapidjson::Value::ConstArray list, ListOf(orgs, "/org/"));
  for (const rapidjson::Value& org : list) {
    std::optional<int64_t> id = json::Int64(org, "org_id");
    if (!id) continue;
    v1::OrganizationRef ref;
    ref.set_id(absl::StrCat(*id));
    ref.set_name(json::StringOr(org, "name"));
    *me->add_organizations() = ref;
    if (std::optional<std::string> role = json::String(org, "role")) {
      if (auto r =
              MakeScopedRole(v1::ROLE_SCOPE_ORGANIZATION, *role, ref.id())) {
        *me->add_roles() = *r;
      }
    }
    const rapidjson::Value* spaces = json::Find(org, "spaces");
    if (spaces == nullptr || !spaces->IsArray()) continue;
    for (const rapidjson::Value& space : spaces->GetArray()) {
      std::optional<int64_t> space_id = json::Int64(space, "space_id");
      if (!space_id) continue;
      v1::WorkspaceRef ws;
      ws.set_id(absl::StrCat(*space_id));
      ws.set_name(json::StringOr(space, "name"));
      *me->add_workspaces() = ws;
      if (std::optional<std::string> role = json::String(space, "role")) {
        if (auto r = MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, *role, ws.id())) {
          *me->add_roles() = *r;
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::User> MapSpaceMemberships(const rapidjson::Value& json) {
  ASSIGN_OR_RETURN(rapidjson::Value::ConstArray list,
                   ListOf(json, "space memberships"));
  v1::User part;
  for (const rapidjson::Value& m : list) {
    const rapidjson::Value* space = json::Find(m, "space");
    std::optional<int64_t> space_id =
        space != nullptr ? json::Int64(*space, "space_id") : std::nullopt;
    if (!space_id) continue;
    v1::WorkspaceRef* ws = part.add_workspaces();
    ws->set_id(absl::StrCat(*space_id));
    ws->set_name(json::StringOr(*space, "name"));
    if (std::optional<std::string> role = json::String(m, "role")) {
      if (auto r = MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, *role, ws->id())) {
        *part.add_roles() = *r;
      }
    }
  }
  return part;
}

}  // namespace unified::podio
