#include "connectors/podio/mappers.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/mapper_internal.h"

namespace unified::podio {

namespace mapper_internal {

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

}  // namespace mapper_internal

using mapper_internal::Malformed;
using mapper_internal::TimeField;

const std::set<std::string>& SecretKeys() {
  static const auto* keys = new std::set<std::string>{
      "calendar_code", "push",    "presence",  "token",    "access_token",
      "refresh_token", "mailbox", "task_mail", "signature"};
  return *keys;
}
namespace {

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

}  // namespace unified::podio
