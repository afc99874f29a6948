#include "connectors/scim/scim_mappers.h"

#include <string>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"

namespace unified::scim {
namespace {

absl::Status Malformed(absl::string_view what) {
  return WithErrorInfo(
      absl::InternalError(absl::StrCat("the SCIM provider sent ", what)),
      "UPSTREAM_MALFORMED_RECORD");
}

v1::Role MakeRole(const char* id, const char* name, const char* description,
                  v1::RoleScope scope, const char* remote) {
  v1::Role role;
  role.set_id(id);
  role.set_name(name);
  role.set_description(description);
  role.set_applicable_in(scope);
  role.set_remote_name(remote);
  return role;
}

// The value of a multi-valued attribute's primary entry, else its first.
const rapidjson::Value* Primary(const rapidjson::Value& json,
                                absl::string_view key) {
  const rapidjson::Value* list = json::Find(json, key);
  if (list == nullptr || !list->IsArray() || list->GetArray().Empty()) {
    return nullptr;
  }
  for (const rapidjson::Value& v : list->GetArray()) {
    if (v.IsObject() && json::Bool(v, "primary").value_or(false)) return &v;
  }
  return list->GetArray()[0].IsObject() ? &list->GetArray()[0] : nullptr;
}

// meta.created and meta.lastModified (RFC 7643 §3.1) onto `message`'s
// created_at and, for a user, updated_at, each only when the resource gives
// it: a time left unset is unknown, never 1970.
template <typename M>
void SetTimes(const rapidjson::Value& json, M* message) {
  const rapidjson::Value* meta = json::Find(json, "meta");
  if (meta == nullptr || !meta->IsObject()) return;
  if (auto t = ParseScimTime(json::View(*meta, "created"))) {
    *message->mutable_created_at() = *t;
  }
  if constexpr (std::is_same_v<M, v1::User>) {
    if (auto t = ParseScimTime(json::View(*meta, "lastModified"))) {
      *message->mutable_updated_at() = *t;
    }
  }
}

}  // namespace

const std::vector<v1::Role>& RoleCatalog() {
  static const auto* roles = new std::vector<v1::Role>{
      MakeRole("organization.member", "Member", "A user of the directory.",
               v1::ROLE_SCOPE_ORGANIZATION, ""),
      MakeRole("organization.admin", "Administrator",
               "A user holding the SCIM role \"admin\".",
               v1::ROLE_SCOPE_ORGANIZATION, "admin"),
      MakeRole("workspace.member", "Group member", "A member of a SCIM group.",
               v1::ROLE_SCOPE_WORKSPACE, "member"),
  };
  return *roles;
}

const std::set<std::string>& SecretKeys() {
  static const auto* keys =
      new std::set<std::string>{"password", "x509Certificates"};
  return *keys;
}

std::optional<google::protobuf::Timestamp> ParseScimTime(
    absl::string_view text) {
  absl::Time t;
  std::string error;
  if (text.empty() ||
      !absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error)) {
    return std::nullopt;
  }
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(ts.seconds())) /
                                    absl::Nanoseconds(1)));
  return ts;
}

namespace {

// The user's names: name.{givenName,familyName,formatted}, and
// displayName over them.
void MapNames(const rapidjson::Value& json, v1::User* user) {
  if (const rapidjson::Value* name = json::Find(json, "name");
      name != nullptr && name->IsObject()) {
    user->set_first_name(json::StringOr(*name, "givenName"));
    user->set_last_name(json::StringOr(*name, "familyName"));
    user->set_name(json::StringOr(*name, "formatted"));
  }
  if (std::string display = json::StringOr(json, "displayName");
      !display.empty()) {
    user->set_name(display);
  } else if (user->name().empty()) {
    user->set_name(absl::StrCat(user->first_name(),
                                user->first_name().empty() ? "" : " ",
                                user->last_name()));
  }
}

// emails and phoneNumbers with a value.
void MapContacts(const rapidjson::Value& json, v1::User* user) {
  if (const rapidjson::Value* emails = json::Find(json, "emails");
      emails != nullptr && emails->IsArray()) {
    for (const rapidjson::Value& e : emails->GetArray()) {
      if (!e.IsObject() || json::StringOr(e, "value").empty()) continue;
      v1::Email* out = user->add_emails();
      out->set_email(json::StringOr(e, "value"));
      out->set_type(json::StringOr(e, "type"));
      out->set_is_primary(json::Bool(e, "primary").value_or(false));
    }
  }
  if (const rapidjson::Value* phones = json::Find(json, "phoneNumbers");
      phones != nullptr && phones->IsArray()) {
    for (const rapidjson::Value& p : phones->GetArray()) {
      if (!p.IsObject() || json::StringOr(p, "value").empty()) continue;
      v1::Phone* out = user->add_phones();
      out->set_number(json::StringOr(p, "value"));
      out->set_type(json::StringOr(p, "type"));
    }
  }
}

void MapStatusAndType(const rapidjson::Value& json, v1::User* user) {
  // RFC 7643 §4.1.1: "active" is the administrative status.
  if (std::optional<bool> active = json::Bool(json, "active")) {
    user->set_status(*active ? v1::USER_STATUS_ACTIVE
                             : v1::USER_STATUS_INACTIVE);
    user->set_status_raw(*active ? "active" : "inactive");
  }
  const std::string user_type =
      absl::AsciiStrToLower(json::StringOr(json, "userType"));
  if (user_type == "employee") {
    user->set_user_type(v1::USER_TYPE_EMPLOYEE);
  } else if (user_type == "contractor" || user_type == "external") {
    user->set_user_type(v1::USER_TYPE_EXTERNAL);
  } else if (user_type == "guest") {
    user->set_user_type(v1::USER_TYPE_GUEST);
  }
}

// The organization, its member role (admin when `roles` says so), and the
// groups as workspaces with their member role.
void MapMemberships(const rapidjson::Value& json,
                    const v1::OrganizationRef& organization, v1::User* user) {
  *user->add_organizations() = organization;
  v1::ScopedRole* member = user->add_roles();
  member->set_role_id("organization.member");
  member->set_name("Member");
  member->set_scope(v1::ROLE_SCOPE_ORGANIZATION);
  member->set_scope_id(organization.id());
  if (const rapidjson::Value* roles = json::Find(json, "roles");
      roles != nullptr && roles->IsArray()) {
    for (const rapidjson::Value& r : roles->GetArray()) {
      if (r.IsObject() &&
          absl::EqualsIgnoreCase(json::View(r, "value"), "admin")) {
        v1::ScopedRole* admin = user->add_roles();
        admin->set_role_id("organization.admin");
        admin->set_name("Administrator");
        admin->set_scope(v1::ROLE_SCOPE_ORGANIZATION);
        admin->set_scope_id(organization.id());
        break;
      }
    }
  }
  if (const rapidjson::Value* groups = json::Find(json, "groups");
      groups != nullptr && groups->IsArray()) {
    for (const rapidjson::Value& g : groups->GetArray()) {
      if (!g.IsObject() || json::StringOr(g, "value").empty()) continue;
      v1::WorkspaceRef* ws = user->add_workspaces();
      ws->set_id(json::StringOr(g, "value"));
      ws->set_name(json::StringOr(g, "display"));
      v1::ScopedRole* role = user->add_roles();
      role->set_role_id("workspace.member");
      role->set_name("Group member");
      role->set_scope(v1::ROLE_SCOPE_WORKSPACE);
      role->set_scope_id(ws->id());
    }
  }
}

}  // namespace

absl::StatusOr<v1::User> MapUser(const rapidjson::Value& json,
                                 const v1::OrganizationRef& organization,
                                 bool include_remote_data) {
  if (!json.IsObject()) return Malformed("a user that is not an object");
  const std::string id = json::StringOr(json, "id");
  if (id.empty()) return Malformed("a user without an id");
  v1::User user;
  user.set_id(id);
  (*user.mutable_identifiers())["scim_id"] = id;
  if (auto external = json::String(json, "externalId")) {
    (*user.mutable_identifiers())["external_id"] = *external;
  }
  user.set_username(json::StringOr(json, "userName"));
  MapNames(json, &user);
  user.set_title(json::StringOr(json, "title"));
  MapContacts(json, &user);
  MapStatusAndType(json, &user);
  if (const rapidjson::Value* photo = Primary(json, "photos")) {
    user.set_avatar_url(json::StringOr(*photo, "value"));
  }
  user.set_timezone(json::StringOr(json, "timezone"));
  user.set_locale(json::StringOr(json, "locale"));
  MapMemberships(json, organization, &user);
  SetTimes(json, &user);
  if (include_remote_data) {
    json::ToStruct(json, SecretKeys(), user.mutable_remote_data());
  }
  return user;
}

absl::StatusOr<v1::Workspace> MapGroup(const rapidjson::Value& json,
                                       const v1::OrganizationRef& organization,
                                       bool include_remote_data) {
  if (!json.IsObject()) return Malformed("a group that is not an object");
  const std::string id = json::StringOr(json, "id");
  if (id.empty()) return Malformed("a group without an id");
  v1::Workspace ws;
  ws.set_id(id);
  ws.set_name(json::StringOr(json, "displayName"));
  *ws.mutable_organization() = organization;
  ws.set_status(v1::WORKSPACE_STATUS_ACTIVE);
  if (const rapidjson::Value* members = json::Find(json, "members");
      members != nullptr && members->IsArray()) {
    ws.set_member_count(members->GetArray().Size());
  }
  SetTimes(json, &ws);
  if (include_remote_data) {
    json::ToStruct(json, SecretKeys(), ws.mutable_remote_data());
  }
  return ws;
}

std::vector<v1::RoleAssignment> AssignmentsOf(const v1::User& user) {
  std::vector<v1::RoleAssignment> out;
  for (const v1::ScopedRole& r : user.roles()) {
    v1::RoleAssignment a;
    a.set_id(absl::StrCat(user.id(), "/", r.role_id(), "/", r.scope_id()));
    a.set_user_id(user.id());
    a.set_role_id(r.role_id());
    a.set_scope(r.scope());
    a.set_scope_id(r.scope_id());
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// RFC 7643's attribute names (and RFC 7644's message members), by their
// lower-case spelling.
const absl::flat_hash_map<std::string, std::string>* KnownNames() {
  static const auto* known =
      new absl::flat_hash_map<std::string, std::string>([] {
        absl::flat_hash_map<std::string, std::string> names;
        for (const char* name : {"Resources",
                                 "totalResults",
                                 "startIndex",
                                 "itemsPerPage",
                                 "schemas",
                                 "id",
                                 "externalId",
                                 "meta",
                                 "resourceType",
                                 "created",
                                 "lastModified",
                                 "location",
                                 "version",
                                 "userName",
                                 "name",
                                 "formatted",
                                 "familyName",
                                 "givenName",
                                 "middleName",
                                 "displayName",
                                 "nickName",
                                 "profileUrl",
                                 "title",
                                 "userType",
                                 "preferredLanguage",
                                 "locale",
                                 "timezone",
                                 "active",
                                 "emails",
                                 "phoneNumbers",
                                 "photos",
                                 "addresses",
                                 "groups",
                                 "roles",
                                 "entitlements",
                                 "value",
                                 "display",
                                 "type",
                                 "primary",
                                 "members",
                                 "$ref",
                                 "filter",
                                 "supported",
                                 "maxResults",
                                 "patch",
                                 "sort",
                                 "bulk",
                                 "etag",
                                 "changePassword",
                                 "detail",
                                 "status",
                                 "scimType"}) {
          names[absl::AsciiStrToLower(name)] = name;
        }
        return names;
      }());
  return known;
}

}  // namespace

void CanonicalizeNames(rapidjson::Value& value,
                       rapidjson::Document::AllocatorType& allocator) {
  const absl::flat_hash_map<std::string, std::string>* known = KnownNames();
  if (value.IsArray()) {
    for (rapidjson::Value& element : value.GetArray()) {
      CanonicalizeNames(element, allocator);
    }
    return;
  }
  if (!value.IsObject()) return;
  for (auto member = value.MemberBegin(); member != value.MemberEnd();
       ++member) {
    CanonicalizeNames(member->value, allocator);
    const absl::string_view name(member->name.GetString(),
                                 member->name.GetStringLength());
    const auto canonical = known->find(absl::AsciiStrToLower(name));
    if (canonical == known->end() || canonical->second == name ||
        value.HasMember(canonical->second.c_str())) {
      continue;
    }
    member->name.SetString(
        canonical->second.c_str(),
        static_cast<rapidjson::SizeType>(canonical->second.size()), allocator);
  }
}

absl::StatusOr<ListPage> ReadListPage(const rapidjson::Value& json) {
  auto malformed = [] {
    return WithErrorInfo(
        absl::InternalError(
            "the SCIM provider sent an unreadable ListResponse"),
        "UPSTREAM_MALFORMED_RESPONSE");
  };
  if (!json.IsObject()) return malformed();
  std::optional<int64_t> total = json::Int64(json, "totalResults");
  if (!total || *total < 0) return malformed();
  ListPage page;
  page.total_results = *total;
  page.start_index = json::Int64(json, "startIndex").value_or(1);
  const rapidjson::Value* resources = json::Find(json, "Resources");
  if (resources != nullptr && !resources->IsArray()) return malformed();
  page.resources = resources;
  return page;
}

Capabilities ReadCapabilities(const rapidjson::Value& json) {
  Capabilities out;
  if (!json.IsObject()) return out;
  if (const rapidjson::Value* f = json::Find(json, "filter");
      f != nullptr && f->IsObject()) {
    out.filter = json::Bool(*f, "supported").value_or(true);
    out.max_results =
        std::max<int64_t>(0, json::Int64(*f, "maxResults").value_or(0));
  }
  if (const rapidjson::Value* p = json::Find(json, "patch");
      p != nullptr && p->IsObject()) {
    out.patch = json::Bool(*p, "supported").value_or(false);
  }
  if (const rapidjson::Value* p = json::Find(json, "pagination");
      p != nullptr && p->IsObject()) {
    out.cursor = json::Bool(*p, "cursor").value_or(false);
    out.max_page_size =
        std::max<int64_t>(0, json::Int64(*p, "maxPageSize").value_or(0));
  }
  return out;
}

}  // namespace unified::scim
