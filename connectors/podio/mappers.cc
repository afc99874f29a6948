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
#include "connectors/podio/member_reader.h"

namespace unified::podio {

namespace mapper_internal {

absl::Status Malformed(absl::string_view what) {
  return WithErrorInfo(
      absl::InternalError(absl::StrCat("Podio returned a malformed ", what)),
      "UPSTREAM_MALFORMED_RECORD");
}

absl::Status NotAList(absl::string_view what) {
  return WithErrorInfo(
      absl::InternalError(absl::StrCat("Podio answered a non-list for ", what)),
      "UPSTREAM_MALFORMED_RESPONSE");
}

std::optional<google::protobuf::Timestamp> TimeField(
    const rapidjson::Value& json, absl::string_view key) {
  const absl::string_view text = json::View(json, key);
  if (text.empty()) return std::nullopt;
  return ParsePodioTime(text);
}

}  // namespace mapper_internal

using mapper_internal::Malformed;

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
  user->set_first_name(name.data(), space);
  user->set_last_name(name.data() + space + 1, name.size() - space - 1);
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
void MapProfileFields(const member_reader::Person& profile, v1::User* user) {
  if (profile.profile_id) {
    (*user->mutable_identifiers())["profile_id"] =
        absl::StrCat(*profile.profile_id);
  }
  if (user->name().empty()) {
    user->set_name(profile.name.data(), profile.name.size());
  }
  if (user->title().empty() && profile.title) {
    user->set_title(profile.title->data(), profile.title->size());
  }
  for (const absl::string_view address : profile.mails) {
    bool known = false;
    for (const v1::Email& e : user->emails()) known |= e.email() == address;
    if (known) continue;
    v1::Email* email = user->add_emails();
    email->set_email(address.data(), address.size());
    email->set_is_primary(user->emails_size() == 1);
  }
  if (profile.has_phones && user->phones_size() == 0) {
    for (const absl::string_view phone : profile.phones) {
      user->add_phones()->set_number(phone.data(), phone.size());
    }
  }
  if (user->avatar_url().empty() && profile.has_image) {
    const absl::string_view url =
        profile.thumbnail_link.empty() ? profile.link : profile.thumbnail_link;
    user->set_avatar_url(url.data(), url.size());
  }
  if (!user->has_last_active_at()) {
    if (auto seconds = PodioTimeSeconds(profile.last_seen_on))
      user->mutable_last_active_at()->set_seconds(*seconds);
  }
}

// Fields of a Podio user account (§3.2) onto a user.
void MapAccountFields(const member_reader::Person& account, v1::User* user) {
  const absl::string_view mail =
      account.mail_is_string ? account.mail : absl::string_view();
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
  if (account.has_status) MapStatus(account.status, user);
  user->set_timezone(account.timezone.data(), account.timezone.size());
  user->set_locale(account.locale.data(), account.locale.size());
  if (auto seconds = PodioTimeSeconds(account.created_on))
    user->mutable_created_at()->set_seconds(*seconds);
}

void AddRemote(const rapidjson::Value& json, absl::string_view key,
               v1::User* user) {
  google::protobuf::Value value;
  json::ToProtoValue(json, &value, SecretKeys());
  (*user->mutable_remote_data()->mutable_fields())[std::string(key)] =
      std::move(value);
}

}  // namespace

std::optional<int64_t> PodioTimeSeconds(absl::string_view text) {
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
  return days * 86400 + h * 3600 + mi * 60 + se;
}

std::optional<google::protobuf::Timestamp> ParsePodioTime(
    absl::string_view text) {
  std::optional<int64_t> seconds = PodioTimeSeconds(text);
  if (!seconds) return std::nullopt;
  google::protobuf::Timestamp ts;
  ts.set_seconds(*seconds);
  return ts;
}

absl::StatusOr<v1::User> MapUserStatus(const rapidjson::Value& json,
                                       bool include_remote_data) {
  const member_reader::Row row = member_reader::ReadRow(json);
  if (!row.user.user_id) return Malformed("user status (no user.user_id)");
  v1::User user;
  user.set_id(absl::StrCat(*row.user.user_id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (row.profile.present) MapProfileFields(row.profile, &user);
  MapAccountFields(row.user, &user);
  SplitName(&user);
  user.set_user_type(v1::USER_TYPE_EMPLOYEE);
  if (include_remote_data) {
    AddRemote(*json::Find(json, "user"), "user", &user);
    if (const rapidjson::Value* profile = json::Find(json, "profile")) {
      AddRemote(*profile, "profile", &user);
    }
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
bool PendingMembership(const member_reader::Row& row) {
  if (row.user.present) {
    if (row.user.status == "inactive" || row.user.limited) return true;
  }
  return row.has_spaces && row.spaces_started.value_or(1) == 0 &&
         row.spaces_invited.value_or(0) > 0;
}

// The remote_data entry `key` of `user`: the row as read, without the
// provider's credential-like members.
void AddRow(const rapidjson::Value& json, const std::string& key,
            v1::User* user) {
  google::protobuf::Value value;
  json::ToProtoValue(json, &value, SecretKeys());
  (*user->mutable_remote_data()->mutable_fields())[key] = std::move(value);
}

absl::Status OrgMemberOf(const member_reader::Row& row,
                         const v1::OrganizationRef& org, v1::User* out) {
  std::optional<int64_t> id = row.user.user_id;
  if (!id) id = row.profile.user_id;
  if (!id) return Malformed("organization member (no user_id)");
  v1::User& user = *out;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (row.profile.present) MapProfileFields(row.profile, &user);
  if (row.user.present) MapAccountFields(row.user, &user);
  const bool invited = PendingMembership(row);
  if (invited) user.set_status(v1::USER_STATUS_INVITED);
  SplitName(&user);
  user.set_user_type(invited                        ? v1::USER_TYPE_GUEST
                     : row.employee.value_or(false) ? v1::USER_TYPE_EMPLOYEE
                                                    : v1::USER_TYPE_EXTERNAL);
  v1::OrganizationRef& in = *user.add_organizations();
  in = org;
  in.set_membership_status(invited ? v1::USER_STATUS_INVITED
                                   : v1::USER_STATUS_ACTIVE);
  if (auto scoped =
          MakeScopedRole(v1::ROLE_SCOPE_ORGANIZATION, row.role, org.id())) {
    *user.add_roles() = std::move(*scoped);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::User> OrgContactOf(const member_reader::Row& row,
                                      const v1::OrganizationRef& org) {
  if (!row.self.user_id) {
    return Malformed("organization contact (no user_id)");
  }
  v1::User user;
  user.set_id(absl::StrCat(*row.self.user_id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  MapProfileFields(row.self, &user);
  if (user.emails_size() > 0) user.set_username(user.emails(0).email());
  SplitName(&user);
  user.set_status(v1::USER_STATUS_ACTIVE);  // Contacts are active members.
  *user.add_organizations() = org;
  return user;
}

}  // namespace

absl::Status MapOrgMemberInto(const rapidjson::Value& json,
                              const v1::OrganizationRef& org,
                              bool include_remote_data, v1::User* out) {
  RETURN_IF_ERROR(OrgMemberOf(member_reader::ReadRow(json), org, out));
  if (include_remote_data) {
    AddRow(json, absl::StrCat("org_member:", org.id()), out);
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
  ASSIGN_OR_RETURN(v1::User user,
                   OrgContactOf(member_reader::ReadRow(json), org));
  if (include_remote_data) {
    AddRow(json, absl::StrCat("org_contact:", org.id()), &user);
  }
  return user;
}

namespace {

using Users = std::vector<absl::StatusOr<v1::User>>;

// The users of a member page: mapped from the text as it is parsed
// (`of_row`), or, when the rows go into remote_data whole, from a document
// (`of_value`).
template <typename OfRow, typename OfValue>
absl::StatusOr<Users> MapPage(std::string body, absl::string_view what,
                              bool include_remote_data, const OfRow& of_row,
                              const OfValue& of_value) {
  Users users;
  if (include_remote_data) {
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(body));
    if (!doc.ok()) {
      return WithErrorInfo(doc.status(), "UPSTREAM_MALFORMED_RESPONSE");
    }
    ASSIGN_OR_RETURN(rapidjson::Value::ConstArray rows, ListOf(*doc, what));
    for (const rapidjson::Value& row : rows) users.push_back(of_value(row));
    return users;
  }
  RETURN_IF_ERROR(member_reader::ReadRows(
      body, what, [&](const member_reader::Row& row) { of_row(row, users); }));
  return users;
}

}  // namespace

absl::StatusOr<Users> MapOrgMemberPage(std::string body,
                                       const v1::OrganizationRef& org,
                                       bool contacts,
                                       bool include_remote_data) {
  return MapPage(
      std::move(body), "organization members", include_remote_data,
      [&](const member_reader::Row& row, Users& users) {
        if (contacts) {
          users.push_back(OrgContactOf(row, org));
          return;
        }
        // Mapped in place: a User is not small to move.
        absl::StatusOr<v1::User>& user = users.emplace_back(v1::User());
        if (absl::Status s = OrgMemberOf(row, org, &*user); !s.ok()) {
          user = std::move(s);
        }
      },
      [&](const rapidjson::Value& row) {
        return contacts ? MapOrgContact(row, org, true)
                        : MapOrgMember(row, org, true);
      });
}

namespace {

absl::StatusOr<v1::User> SpaceMemberOf(const member_reader::Row& row,
                                       const v1::WorkspaceRef& workspace) {
  // The docs put the profile under `user`; several official clients read it
  // under `profile`, and `user` may hold the account alone (docs/podio.md
  // §3.5). Both are read, the profile first; either may be null.
  std::optional<int64_t> id = row.user.user_id;
  if (!id) id = row.profile.user_id;
  if (!id) return Malformed("workspace member (no user_id)");
  v1::User user;
  user.set_id(absl::StrCat(*id));
  (*user.mutable_identifiers())["user_id"] = user.id();
  if (row.profile.present) MapProfileFields(row.profile, &user);
  if (row.user.present) {
    // An account's `mail` is one string; a profile's is a list.
    if (row.user.mail_is_string) {
      MapAccountFields(row.user, &user);
    } else {
      MapProfileFields(row.user, &user);
    }
  }
  SplitName(&user);
  user.set_status(v1::USER_STATUS_ACTIVE);  // v2 lists active members.
  user.set_user_type(row.employee.value_or(false) ? v1::USER_TYPE_EMPLOYEE
                                                  : v1::USER_TYPE_EXTERNAL);
  *user.add_workspaces() = workspace;
  if (auto scoped =
          MakeScopedRole(v1::ROLE_SCOPE_WORKSPACE, row.role, workspace.id())) {
    *user.add_roles() = std::move(*scoped);
  }
  return user;
}

}  // namespace

absl::StatusOr<v1::User> MapSpaceMemberV2(const rapidjson::Value& json,
                                          const v1::WorkspaceRef& workspace,
                                          bool include_remote_data) {
  ASSIGN_OR_RETURN(v1::User user,
                   SpaceMemberOf(member_reader::ReadRow(json), workspace));
  if (include_remote_data) {
    AddRow(json, absl::StrCat("space_member:", workspace.id()), &user);
  }
  return user;
}

absl::StatusOr<Users> MapSpaceMemberPage(std::string body,
                                         const v1::WorkspaceRef& workspace,
                                         bool include_remote_data) {
  return MapPage(
      std::move(body), "workspace members", include_remote_data,
      [&](const member_reader::Row& row, Users& users) {
        users.push_back(SpaceMemberOf(row, workspace));
      },
      [&](const rapidjson::Value& row) {
        return MapSpaceMemberV2(row, workspace, true);
      });
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
