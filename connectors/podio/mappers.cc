#include "connectors/podio/mappers.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"

namespace unified::podio {

const std::set<std::string>& SecretKeys() {
  static const auto* keys = new std::set<std::string>{
      "calendar_code", "push",    "presence",  "token",    "access_token",
      "refresh_token", "mailbox", "task_mail", "signature"};
  return *keys;
}
namespace {

absl::Status Malformed(absl::string_view what) {
  return WithErrorInfo(
      absl::InternalError(absl::StrCat("Podio returned a malformed ", what)),
      "UPSTREAM_MALFORMED_RECORD");
}

std::optional<google::protobuf::Timestamp> TimeField(
    const rapidjson::Value& json, absl::string_view key) {
  const absl::string_view text = json::View(json, key);
  if (text.empty()) return std::nullopt;
  return ParsePodioTime(text);
}

void SplitName(v1::User* user) {
  const std::string& name = user->name();
  const size_t space = name.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= name.size()) {
    return;
  }
  user->set_first_name(name.substr(0, space));
  user->set_last_name(name.substr(space + 1));
}

void MapStatus(absl::string_view raw, v1::User* user) {
  user->set_status_raw(raw.data(), raw.size());
  if (raw == "active") {
    user->set_status(v1::USER_STATUS_ACTIVE);
  } else if (raw == "inactive") {
    user->set_status(v1::USER_STATUS_INACTIVE);
  } else if (raw == "blacklisted" || raw == "blocked") {
    user->set_status(v1::USER_STATUS_SUSPENDED);
  } else if (raw == "deleted") {
    user->set_status(v1::USER_STATUS_DELETED);
  } else {
    user->set_status(v1::USER_STATUS_UNSPECIFIED);
  }
}

// Fields of a Podio profile / contact (§3.3) onto a user.
void MapProfileFields(const rapidjson::Value& profile, v1::User* user) {
  if (auto id = json::Int64(profile, "profile_id")) {
    (*user->mutable_identifiers())["profile_id"] = absl::StrCat(*id);
  }
  if (user->name().empty()) {
    const absl::string_view name = json::View(profile, "name");
    user->set_name(name.data(), name.size());
  }
  if (user->title().empty()) {
    if (const rapidjson::Value* title = json::Find(profile, "title")) {
      const rapidjson::Value* first =
          title->IsArray() && !title->Empty() ? &(*title)[0] : title;
      if (first->IsString()) {
        user->set_title(first->GetString(), first->GetStringLength());
      }
    }
  }
  if (const rapidjson::Value* mails = json::Find(profile, "mail");
      mails != nullptr && mails->IsArray()) {
    for (const auto& mail : mails->GetArray()) {
      if (!mail.IsString()) continue;
      const absl::string_view address(mail.GetString(), mail.GetStringLength());
      bool known = false;
      for (const v1::Email& e : user->emails()) known |= e.email() == address;
      if (known) continue;
      v1::Email* email = user->add_emails();
      email->set_email(address.data(), address.size());
      email->set_is_primary(user->emails_size() == 1);
    }
  }
  if (const rapidjson::Value* phones = json::Find(profile, "phone");
      phones != nullptr && phones->IsArray() && user->phones_size() == 0) {
    for (const auto& phone : phones->GetArray()) {
      if (phone.IsString()) {
        user->add_phones()->set_number(
            std::string(phone.GetString(), phone.GetStringLength()));
      }
    }
  }
  if (user->avatar_url().empty()) {
    if (const rapidjson::Value* image = json::Find(profile, "image")) {
      absl::string_view url = json::View(*image, "thumbnail_link");
      if (url.empty()) url = json::View(*image, "link");
      user->set_avatar_url(url.data(), url.size());
    }
  }
  if (!user->has_last_active_at()) {
    if (auto t = TimeField(profile, "last_seen_on"))
      *user->mutable_last_active_at() = *t;
  }
}

// Fields of a Podio user account (§3.2) onto a user.
void MapAccountFields(const rapidjson::Value& account, v1::User* user) {
  const absl::string_view mail = json::View(account, "mail");
  if (!mail.empty()) {
    user->set_username(mail.data(), mail.size());
    bool known = false;
    for (v1::Email& e : *user->mutable_emails()) {
      if (e.email() == mail) {
        e.set_is_primary(true);
        known = true;
      } else {
        e.set_is_primary(false);
      }
    }
    if (!known) {
      v1::Email primary;
      primary.set_email(mail.data(), mail.size());
      primary.set_is_primary(true);
      user->mutable_emails()->Add(std::move(primary));
      // Primary first.
      std::rotate(user->mutable_emails()->rbegin(),
                  user->mutable_emails()->rbegin() + 1,
                  user->mutable_emails()->rend());
    }
  }
  if (json::Find(account, "status") != nullptr) {
    MapStatus(json::View(account, "status"), user);
  }
  const absl::string_view timezone = json::View(account, "timezone");
  user->set_timezone(timezone.data(), timezone.size());
  const absl::string_view locale = json::View(account, "locale");
  user->set_locale(locale.data(), locale.size());
  if (auto t = TimeField(account, "created_on"))
    *user->mutable_created_at() = *t;
}

void AddRemote(const rapidjson::Value& json, absl::string_view key,
               v1::User* user) {
  google::protobuf::Value value;
  json::ToProtoValue(json, &value, SecretKeys());
  (*user->mutable_remote_data()->mutable_fields())[std::string(key)] =
      std::move(value);
}

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

std::optional<google::protobuf::Timestamp> ParsePodioTime(
    absl::string_view text) {
  // "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:SS", UTC; parsed by hand because this
  // runs for every record.
  if (text.size() != 10 && text.size() != 19) return std::nullopt;
  auto digits = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      v = v * 10 + (text[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!digits(0, 4, &y) || text[4] != '-' || !digits(5, 2, &mo) ||
      text[7] != '-' || !digits(8, 2, &d)) {
    return std::nullopt;
  }
  if (text.size() == 19 &&
      (text[10] != ' ' || !digits(11, 2, &h) || text[13] != ':' ||
       !digits(14, 2, &mi) || text[16] != ':' || !digits(17, 2, &se))) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] || h > 23 || mi > 59 ||
      se > 60) {
    return std::nullopt;
  }
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  // Days from civil (proleptic Gregorian), after H. Hinnant's algorithm.
  const int yy = y - (mo <= 2);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(yy - era * 400);
  const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  google::protobuf::Timestamp ts;
  ts.set_seconds(days * 86400 + h * 3600 + mi * 60 + se);
  return ts;
}

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

absl::StatusOr<v1::User> MapUserStatus(const rapidjson::Value& json,
                                       bool include_remote_data) {
  const rapidjson::Value* account = json::Find(json, "user");
  const rapidjson::Value* profile = json::Find(json, "profile");
  std::optional<int64_t> id =
      account ? json::Int64(*account, "user_id") : std::nullopt;
  if (!id) return Malformed("user status (no user.user_id)");
  v1::User user;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (profile) MapProfileFields(*profile, &user);
  MapAccountFields(*account, &user);
  SplitName(&user);
  user.set_user_type(v1::USER_TYPE_EMPLOYEE);
  if (include_remote_data) {
    AddRemote(*account, "user", &user);
    if (profile) AddRemote(*profile, "profile", &user);
  }
  return user;
}

namespace {

// Whether an organization member row is an invitation not yet accepted
// (docs/podio.md §3.5), read from the membership rather than the account:
// the person may be active in another organization. Signs, any of:
//  - the account never signed up (`status` "inactive");
//  - the row shows the account with the "very limited data" the docs give
//    invited members: nothing beyond `user_id` and `mail`;
//  - the single view counts spaces invited to and none started.
bool PendingMembership(const rapidjson::Value& row,
                       const rapidjson::Value* account) {
  if (account != nullptr && account->IsObject()) {
    if (json::View(*account, "status") == "inactive") return true;
    bool limited = true;
    for (const auto& m : account->GetObject()) {
      const absl::string_view key(m.name.GetString(), m.name.GetStringLength());
      limited &= key == "user_id" || key == "mail";
    }
    if (limited) return true;
  }
  if (const rapidjson::Value* spaces = json::Find(row, "spaces");
      spaces != nullptr && spaces->IsObject()) {
    return json::Int64(*spaces, "started").value_or(1) == 0 &&
           json::Int64(*spaces, "invited").value_or(0) > 0;
  }
  return false;
}

}  // namespace

absl::Status MapOrgMemberInto(const rapidjson::Value& json,
                              const v1::OrganizationRef& org,
                              bool include_remote_data, v1::User* out) {
  const rapidjson::Value* account = json::Find(json, "user");
  const rapidjson::Value* profile = json::Find(json, "profile");
  std::optional<int64_t> id =
      account ? json::Int64(*account, "user_id") : std::nullopt;
  if (!id && profile) id = json::Int64(*profile, "user_id");
  if (!id) return Malformed("organization member (no user_id)");
  v1::User& user = *out;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (profile) MapProfileFields(*profile, &user);
  if (account) MapAccountFields(*account, &user);
  const bool invited = PendingMembership(json, account);
  if (invited) user.set_status(v1::USER_STATUS_INVITED);
  SplitName(&user);
  const bool employee = json::Bool(json, "employee").value_or(false);
  user.set_user_type(invited    ? v1::USER_TYPE_GUEST
                     : employee ? v1::USER_TYPE_EMPLOYEE
                                : v1::USER_TYPE_EXTERNAL);
  v1::OrganizationRef& in = *user.add_organizations();
  in = org;
  in.set_membership_status(invited ? v1::USER_STATUS_INVITED
                                   : v1::USER_STATUS_ACTIVE);
  if (auto scoped = MakeScopedRole(v1::ROLE_SCOPE_ORGANIZATION,
                                   json::View(json, "role"), org.id())) {
    *user.add_roles() = std::move(*scoped);
  }
  if (include_remote_data) {
    google::protobuf::Value value;
    json::ToProtoValue(json, &value, SecretKeys());
    (*user.mutable_remote_data()
          ->mutable_fields())[absl::StrCat("org_member:", org.id())] =
        std::move(value);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::User> MapOrgMember(const rapidjson::Value& json,
                                      const v1::OrganizationRef& org,
                                      bool include_remote_data) {
  v1::User user;
  RETURN_IF_ERROR(MapOrgMemberInto(json, org, include_remote_data, &user));
  return user;
}

absl::StatusOr<v1::User> MapOrgContact(const rapidjson::Value& json,
                                       const v1::OrganizationRef& org,
                                       bool include_remote_data) {
  std::optional<int64_t> id = json::Int64(json, "user_id");
  if (!id) return Malformed("organization contact (no user_id)");
  v1::User user;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  MapProfileFields(json, &user);
  if (user.emails_size() > 0) user.set_username(user.emails(0).email());
  SplitName(&user);
  user.set_status(v1::USER_STATUS_ACTIVE);  // Contacts are active members.
  *user.add_organizations() = org;
  if (include_remote_data) {
    google::protobuf::Value value;
    json::ToProtoValue(json, &value, SecretKeys());
    (*user.mutable_remote_data()
          ->mutable_fields())[absl::StrCat("org_contact:", org.id())] =
        std::move(value);
  }
  return user;
}

absl::StatusOr<v1::User> MapSpaceMemberV2(const rapidjson::Value& json,
                                          const v1::WorkspaceRef& workspace,
                                          bool include_remote_data) {
  // The docs put the profile under `user`; several official clients read it
  // under `profile`, and `user` may hold the account alone (docs/podio.md
  // §3.5). Both are read, the profile first; either may be null.
  auto object = [&](const char* key) -> const rapidjson::Value* {
    const rapidjson::Value* v = json::Find(json, key);
    return v != nullptr && v->IsObject() ? v : nullptr;
  };
  const rapidjson::Value* account = object("user");
  const rapidjson::Value* profile = object("profile");
  std::optional<int64_t> id =
      account ? json::Int64(*account, "user_id") : std::nullopt;
  if (!id && profile) id = json::Int64(*profile, "user_id");
  if (!id) return Malformed("workspace member (no user_id)");
  v1::User user;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (profile) MapProfileFields(*profile, &user);
  if (account) {
    // An account's `mail` is one string; a profile's is a list.
    const rapidjson::Value* mail = json::Find(*account, "mail");
    if (mail != nullptr && mail->IsString()) {
      MapAccountFields(*account, &user);
    } else {
      MapProfileFields(*account, &user);
    }
  }
  SplitName(&user);
  user.set_status(v1::USER_STATUS_ACTIVE);  // v2 lists active members.
  user.set_user_type(json::Bool(json, "employee").value_or(false)
                         ? v1::USER_TYPE_EMPLOYEE
                         : v1::USER_TYPE_EXTERNAL);
  *user.add_workspaces() = workspace;
  if (auto role = json::String(json, "role")) {
    if (auto scoped =
            MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, *role, workspace.id())) {
      *user.add_roles() = *scoped;
    }
  }
  if (include_remote_data) {
    google::protobuf::Value value;
    json::ToProtoValue(json, &value, SecretKeys());
    (*user.mutable_remote_data()
          ->mutable_fields())[absl::StrCat("space_member:", workspace.id())] =
        std::move(value);
  }
  return user;
}

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

void MergeUser(const v1::User& other, v1::User* into) {
  for (const v1::OrganizationRef& org : other.organizations()) {
    bool known = false;
    for (const auto& o : into->organizations()) known |= o.id() == org.id();
    if (!known) *into->add_organizations() = org;
  }
  for (const v1::WorkspaceRef& ws : other.workspaces()) {
    bool known = false;
    for (const auto& w : into->workspaces()) known |= w.id() == ws.id();
    if (!known) *into->add_workspaces() = ws;
  }
  for (const v1::ScopedRole& role : other.roles()) {
    bool known = false;
    for (const auto& r : into->roles()) {
      known |= r.scope() == role.scope() && r.scope_id() == role.scope_id();
    }
    if (!known) *into->add_roles() = role;
  }
  if (other.user_type() == v1::USER_TYPE_EMPLOYEE ||
      into->user_type() == v1::USER_TYPE_GUEST) {
    if (other.user_type() != v1::USER_TYPE_UNSPECIFIED) {
      into->set_user_type(other.user_type());
    }
  }
  if (into->status() != v1::USER_STATUS_ACTIVE &&
      other.status() == v1::USER_STATUS_ACTIVE) {
    // An active membership knows more about the person than an invitation.
    into->set_name(other.name());
    into->set_first_name(other.first_name());
    into->set_last_name(other.last_name());
    into->set_username(other.username());
    into->set_title(other.title());
    *into->mutable_emails() = other.emails();
    *into->mutable_phones() = other.phones();
    into->set_status(other.status());
    into->set_status_raw(other.status_raw());
    into->set_avatar_url(other.avatar_url());
    into->set_timezone(other.timezone());
    into->set_locale(other.locale());
    if (other.has_created_at()) {
      *into->mutable_created_at() = other.created_at();
    }
    if (other.has_last_active_at()) {
      *into->mutable_last_active_at() = other.last_active_at();
    }
    for (const auto& [key, value] : other.identifiers()) {
      (*into->mutable_identifiers())[key] = value;
    }
  }
  for (const auto& [key, value] : other.remote_data().fields()) {
    (*into->mutable_remote_data()->mutable_fields())[key] = value;
  }
}

UserOrderKey OrderKeyOf(const v1::User& user) {
  UserOrderKey key;
  key.name = user.name();
  (void)absl::SimpleAtoi(user.id(), &key.id);
  return key;
}

absl::StatusOr<rapidjson::Value::ConstArray> ListOf(
    const rapidjson::Value& json, absl::string_view what) {
  if (!json.IsArray()) {
    return WithErrorInfo(absl::InternalError(absl::StrCat(
                             "Podio answered a non-list for ", what)),
                         "UPSTREAM_MALFORMED_RESPONSE");
  }
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
