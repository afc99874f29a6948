#include "tools/podio_sim/simulator.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/podio_sim/simulator_internal.h"

namespace unified::podio_sim {

using internal::Call;
using internal::Date;
using internal::Forbidden;
using internal::IdParam;
using internal::InvalidValue;
using internal::Json;
using internal::ObjectNotFound;
using internal::Params;
using internal::QueryBool;
using internal::QueryValue;
using internal::RouteId;
using internal::SpaceRoleToInt;

namespace {

// A file object as in the recorded user byline (R-ITEM), or null for none.
void FileObject(Json& w, int64_t file_id) {
  if (!file_id) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("hosted_by");
  w.String("podio");
  w.Key("hosted_by_humanized_name");
  w.String("Podio");
  w.Key("thumbnail_link");
  w.String(absl::StrCat("https://files.podio.com/", file_id, "/thumb"));
  w.Key("link");
  w.String(absl::StrCat("https://files.podio.com/", file_id));
  w.Key("file_id");
  w.Int64(file_id);
  w.Key("external_file_id");
  w.Null();
  w.Key("link_target");
  w.String("_blank");
  w.EndObject();
}

}  // namespace

// Renders directory records as Podio JSON and runs the routes. All methods
// run with the directory lock held by the caller.
class Simulator::Router {
 public:
  Router(Simulator* sim) : sim_(sim) {}

  // Read routes: run under the reader lock. Returns an error or writes body.
  std::optional<ApiError> Read(RouteId route, Call& call, const Directory& d,
                               Json& w);
  // Write routes: run under the writer lock.
  std::optional<ApiError> Write(RouteId route, Call& call, Directory& d,
                                Json& w);

 private:
  int64_t UserOf(const Call& call) const {
    return call.identity.ref_type == "user" ? call.identity.ref_id : 0;
  }

  void UserAccount(Json& w, const SimUser& u, const Directory& d) const;
  // `space_id`: the space of a space contact, 0 for user profiles.
  void ProfileCore(Json& w, const SimUser& u, int64_t space_id) const;
  void Image(Json& w, const SimUser& u) const;
  void ProfileMini(Json& w, const SimUser& u) const;
  // The full view: the mini one plus the contact fields.
  void ProfileFields(Json& w, const SimUser& u, int64_t space_id = 0) const;
  void ProfileFull(Json& w, const SimUser& u) const {
    w.StartObject();
    ProfileFields(w, u);
    w.EndObject();
  }
  void Org(Json& w, const SimOrg& o, const Directory& d, int64_t viewer,
           bool with_spaces) const;
  void SpaceViewerFields(Json& w, const SimSpace& s, const Directory& d,
                         int64_t viewer) const;
  void SpaceMini(Json& w, const SimSpace& s, const Directory& d,
                 int64_t viewer) const;
  void SpaceFull(Json& w, const SimSpace& s, const Directory& d,
                 int64_t viewer) const;
  void OrgMember(Json& w, const SimOrg& o, const OrgMembership& m,
                 const Directory& d, bool single) const;
  void SpaceMemberV1(Json& w, const SimSpace& s, const SpaceMembership& m,
                     const Directory& d) const;
  void SpaceMemberV2(Json& w, const SimSpace& s, const SpaceMembership& m,
                     const Directory& d) const;
  bool CanSeeSpace(const Directory& d, const SimSpace& s, int64_t user) const {
    return d.ActiveSpaceMembership(s.space_id, user) != nullptr ||
           d.IsOrgAdmin(s.org_id, user) ||
           (s.privacy == "open" && d.IsOrgMember(s.org_id, user));
  }
  bool CanManageSpace(const Directory& d, const SimSpace& s,
                      int64_t user) const {
    const SpaceMembership* m = d.ActiveSpaceMembership(s.space_id, user);
    return (m != nullptr && m->role == "admin") || d.IsOrgAdmin(s.org_id, user);
  }
  // Parses limit/offset: limit in [1, max], offset >= 0.
  std::optional<ApiError> Paging(const Call& call, int64_t default_limit,
                                 int64_t* limit, int64_t* offset) const;
  const SimOrg* OrgOf(const Directory& d, const SimSpace& s) const {
    return d.FindOrg(s.org_id);
  }
  bool IsEmployee(const Directory& d, int64_t org_id, int64_t user) const {
    const SimOrg* org = d.FindOrg(org_id);
    if (org == nullptr) return false;
    auto it = org->members.find(user);
    return it != org->members.end() && it->second.employee;
  }

  Simulator* sim_;
};

// The members every profile view starts with (docs/podio.md §3.3: `space_id`
// and `org_id` are null on user profiles).
void Simulator::Router::ProfileCore(Json& w, const SimUser& u,
                                    int64_t space_id) const {
  w.Key("profile_id");
  w.Int64(u.profile_id);
  w.Key("user_id");
  w.Int64(u.user_id);
  w.Key("name");
  w.String(u.name);
  w.Key("type");
  w.String("user");
  w.Key("link");
  w.String(absl::StrCat("https://podio.com/users/", u.user_id));
  w.Key("avatar");
  if (u.avatar) {
    w.Int64(u.avatar);
  } else {
    w.Null();
  }
  w.Key("last_seen_on");
  Date(w, u.last_seen_on);
  w.Key("external_id");
  w.Null();
  w.Key("space_id");
  if (space_id) {
    w.Int64(space_id);
  } else {
    w.Null();
  }
  w.Key("org_id");
  w.Null();
  w.Key("rights");
  w.StartArray();
  w.String("view");
  w.EndArray();
  Image(w, u);
}

void Simulator::Router::Image(Json& w, const SimUser& u) const {
  w.Key("image");
  FileObject(w, u.avatar);
}

void Simulator::Router::ProfileMini(Json& w, const SimUser& u) const {
  w.StartObject();
  ProfileCore(w, u, 0);
  w.EndObject();
}

void Simulator::Router::ProfileFields(Json& w, const SimUser& u,
                                      int64_t space_id) const {
  ProfileCore(w, u, space_id);
  // Multi-valued contact fields are arrays of strings, even for one value.
  w.Key("mail");
  w.StartArray();
  w.String(u.mail);
  w.EndArray();
  w.Key("phone");
  w.StartArray();
  w.String(u.phone);
  w.EndArray();
  w.Key("title");
  w.StartArray();
  w.String(u.title);
  w.EndArray();
}

void Simulator::Router::UserAccount(Json& w, const SimUser& u,
                                    const Directory& d) const {
  w.StartObject();
  w.Key("user_id");
  w.Int64(u.user_id);
  w.Key("mail");
  w.String(u.mail);
  w.Key("status");
  w.String(u.status);
  if (u.status == "active") {
    w.Key("locale");
    w.String(u.locale);
    w.Key("timezone");
    w.String(u.timezone);
    w.Key("invites");
    w.Int(5);
    w.Key("flags");
    w.StartArray();
    w.EndArray();
    w.Key("created_on");
    Date(w, u.created_on);
    w.Key("activated_on");
    Date(w, u.created_on);
    w.Key("mails");
    w.StartArray();
    w.StartObject();
    w.Key("mail");
    w.String(u.mail);
    w.Key("verified");
    w.Bool(true);
    w.Key("primary");
    w.Bool(true);
    w.Key("disabled");
    w.Bool(false);
    w.EndObject();
    w.EndArray();
  }
  w.EndObject();
}

void Simulator::Router::Org(Json& w, const SimOrg& o, const Directory& d,
                            int64_t viewer, bool with_spaces) const {
  w.StartObject();
  w.Key("org_id");
  w.Int64(o.org_id);
  w.Key("name");
  w.String(o.name);
  w.Key("url");
  w.String(absl::StrCat("https://podio.com/", o.url_label));
  w.Key("url_label");
  w.String(o.url_label);
  w.Key("status");
  w.String(o.status);
  w.Key("type");
  w.String(o.type);
  w.Key("premium");
  w.Bool(o.type == "premium");
  w.Key("logo");
  if (o.logo) {
    w.Int64(o.logo);
  } else {
    w.Null();
  }
  w.Key("user_limit");
  w.Int64(o.user_limit);
  w.Key("domains");
  w.StartArray();
  for (const std::string& domain : o.domains) w.String(domain);
  w.EndArray();
  w.Key("role");
  auto me = o.members.find(viewer);
  if (me != o.members.end()) {
    w.String(me->second.role);
  } else {
    w.Null();
  }
  w.Key("rights");
  w.StartArray();
  w.String("view");
  if (d.IsOrgAdmin(o.org_id, viewer)) w.String("add_space");
  w.EndArray();
  if (sim_->options_.documented_fields) {
    w.Key("member_count");
    w.Int64(static_cast<int64_t>(o.member_order.size()));
    w.Key("contact_count");
    w.Int64(static_cast<int64_t>(o.member_order.size()));
  }
  w.Key("sales_agent_id");
  w.Null();
  w.Key("trial_expired_on");
  w.Null();
  w.Key("image");
  FileObject(w, o.logo);
  w.Key("segment");
  w.Null();
  w.Key("tier");
  w.String(o.type == "premium" ? "plus" : "free");
  if (sim_->options_.documented_fields) {
    w.Key("created_on");
    Date(w, o.created_on);
  }
  w.Key("created_by");
  const SimUser* creator = d.FindUser(o.created_by);
  w.StartObject();
  w.Key("id");
  w.Int64(o.created_by);
  w.Key("name");
  w.String(creator ? creator->name : "");
  w.Key("avatar");
  w.Null();
  w.EndObject();
  if (with_spaces) {
    w.Key("spaces");
    w.StartArray();
    for (int64_t space_id : o.space_ids) {
      const SimSpace* s = d.FindSpace(space_id);
      if (s && d.ActiveSpaceMembership(space_id, viewer)) {
        SpaceMini(w, *s, d, viewer);
      }
    }
    w.EndArray();
  }
  w.EndObject();
}

// The viewer's role in the space and the rights it gives.
void Simulator::Router::SpaceViewerFields(Json& w, const SimSpace& s,
                                          const Directory& d,
                                          int64_t viewer) const {
  const SpaceMembership* m = d.ActiveSpaceMembership(s.space_id, viewer);
  w.Key("role");
  if (m) {
    w.String(m->role);
  } else {
    w.Null();
  }
  w.Key("rights");
  w.StartArray();
  w.String("view");
  if (m && m->role == "admin") w.String("add_member");
  w.EndArray();
}

void Simulator::Router::SpaceMini(Json& w, const SimSpace& s,
                                  const Directory& d, int64_t viewer) const {
  w.StartObject();
  w.Key("space_id");
  w.Int64(s.space_id);
  w.Key("name");
  w.String(s.name);
  const SimOrg* org = d.FindOrg(s.org_id);
  w.Key("url");
  w.String(absl::StrCat("https://podio.com/", org ? org->url_label : "", "/",
                        s.url_label));
  w.Key("url_label");
  w.String(s.url_label);
  w.Key("org_id");
  w.Int64(s.org_id);
  w.Key("type");
  w.String(s.name == "Employee network" ? "emp_network" : "regular");
  w.Key("privacy");
  w.String(s.privacy);
  w.Key("auto_join");
  w.Bool(false);
  w.Key("archived");
  w.Bool(s.archived);
  SpaceViewerFields(w, s, d, viewer);
  w.EndObject();
}

void Simulator::Router::SpaceFull(Json& w, const SimSpace& s,
                                  const Directory& d, int64_t viewer) const {
  w.StartObject();
  w.Key("space_id");
  w.Int64(s.space_id);
  w.Key("name");
  w.String(s.name);
  w.Key("description");
  if (s.description.empty()) {
    w.Null();
  } else {
    w.String(s.description);
  }
  const SimOrg* org = d.FindOrg(s.org_id);
  w.Key("url");
  w.String(absl::StrCat("https://podio.com/", org ? org->url_label : "", "/",
                        s.url_label));
  w.Key("url_label");
  w.String(s.url_label);
  w.Key("org_id");
  w.Int64(s.org_id);
  w.Key("org");
  w.StartObject();
  w.Key("org_id");
  w.Int64(s.org_id);
  w.Key("name");
  w.String(org ? org->name : "");
  w.Key("url_label");
  w.String(org ? org->url_label : "");
  w.Key("type");
  w.String(org ? org->type : "");
  w.EndObject();
  w.Key("type");
  w.String(s.name == "Employee network" ? "emp_network" : "regular");
  w.Key("privacy");
  w.String(s.privacy);
  w.Key("auto_join");
  w.Bool(false);
  if (sim_->options_.documented_fields) {
    w.Key("archived");
    w.Bool(s.archived);
  }
  w.Key("premium");
  w.Bool(org && org->type == "premium");
  w.Key("subscribed");
  w.Bool(true);
  w.Key("post_on_new_app");
  w.Bool(true);
  w.Key("post_on_new_member");
  w.Bool(true);
  SpaceViewerFields(w, s, d, viewer);
  if (sim_->options_.documented_fields) {
    w.Key("member_count");
    w.Int64(static_cast<int64_t>(s.member_order.size()));
  }
  w.Key("created_on");
  Date(w, s.created_on);
  w.Key("created_by");
  if (const SimUser* creator = d.FindUser(s.created_by)) {
    ProfileMini(w, *creator);
  } else {
    w.Null();
  }
  w.Key("owner");
  w.StartObject();
  w.Key("type");
  w.String("user");
  w.Key("id");
  w.Int64(s.created_by);
  w.EndObject();
  // A signed push channel grant: credential-like, never to be logged.
  w.Key("push");
  w.StartObject();
  w.Key("channel");
  w.String(absl::StrCat("/space/", s.space_id));
  w.Key("timestamp");
  w.Int64(absl::ToUnixSeconds(sim_->clock_.Now()));
  w.Key("signature");
  w.String(RandomToken().substr(0, 40));
  w.Key("expires_in");
  w.Int(21600);
  w.EndObject();
  w.EndObject();
}

void Simulator::Router::OrgMember(Json& w, const SimOrg& o,
                                  const OrgMembership& m, const Directory& d,
                                  bool single) const {
  const SimUser* u = d.FindUser(m.user_id);
  w.StartObject();
  if (u->user_id == sim_->unreadable_user_.load()) {
    w.Key("user");
    w.Null();
    w.Key("profile");
    w.Null();
    w.EndObject();
    return;
  }
  w.Key("user");
  if (m.invited) {
    // Invited users: very limited data (D-ORG-MEMBERS), whatever the
    // account's own status (an active user may be invited to another
    // organization).
    w.StartObject();
    w.Key("user_id");
    w.Int64(u->user_id);
    w.Key("mail");
    w.String(u->mail);
    w.EndObject();
  } else {
    UserAccount(w, *u, d);
  }
  w.Key("profile");
  if (m.invited) {
    w.StartObject();
    w.Key("profile_id");
    w.Int64(u->profile_id);
    w.Key("name");
    w.String(u->name);
    w.EndObject();
  } else {
    ProfileFull(w, *u);
  }
  w.Key("employee");
  w.Bool(m.employee);
  w.Key("role");
  w.String(m.role);
  w.Key("admin");
  w.Bool(m.role == "admin");
  const int spaces =
      m.invited ? 0 : d.SpaceMembershipsInOrg(o.org_id, m.user_id);
  if (single) {
    w.Key("tier");
    w.String(o.type == "premium" ? "gold" : "silver");
    w.Key("spaces");
    w.StartObject();
    w.Key("invited");
    w.Int(0);
    w.Key("started");
    w.Int(spaces);
    w.EndObject();
  } else {
    w.Key("space_memberships");
    w.Int(spaces);
  }
  w.EndObject();
}

void Simulator::Router::SpaceMemberV1(Json& w, const SimSpace& s,
                                      const SpaceMembership& m,
                                      const Directory& d) const {
  const SimUser* u = d.FindUser(m.user_id);
  w.StartObject();
  w.Key("user");
  ProfileMini(w, *u);
  w.Key("role");
  w.String(m.role);
  w.Key("invited_on");
  Date(w, m.invited_on);
  w.Key("started_on");
  Date(w, m.started_on);
  w.Key("ended_on");
  if (m.ended_on) {
    Date(w, *m.ended_on);
  } else {
    w.Null();
  }
  w.Key("employee");
  w.Bool(IsEmployee(d, s.org_id, m.user_id));
  w.Key("grants");
  w.Int64(m.grants);
  w.EndObject();
}

void Simulator::Router::SpaceMemberV2(Json& w, const SimSpace& s,
                                      const SpaceMembership& m,
                                      const Directory& d) const {
  const SimUser* u = d.FindUser(m.user_id);
  w.StartObject();
  if (u->user_id == sim_->unreadable_user_.load()) {
    w.Key("user");
    w.Null();
    w.EndObject();
    return;
  }
  switch (sim_->options_.space_member_shape) {
    case SpaceMemberShape::kUser:
      w.Key("user");  // D-SM-V2 names the profile key `user`.
      ProfileMini(w, *u);
      break;
    case SpaceMemberShape::kProfile:
      w.Key("profile");  // As podio-java's SpaceMemberV2 reads it.
      ProfileMini(w, *u);
      break;
    case SpaceMemberShape::kAccountAndProfile:
      w.Key("user");  // The account only: no name.
      UserAccount(w, *u, d);
      w.Key("profile");
      ProfileMini(w, *u);
      break;
  }
  w.Key("employee");
  w.Bool(IsEmployee(d, s.org_id, m.user_id));
  w.Key("role");
  w.String(m.role);
  w.Key("grants");
  w.Int64(m.grants);
  w.EndObject();
}

std::optional<ApiError> Simulator::Router::Paging(const Call& call,
                                                  int64_t default_limit,
                                                  int64_t* limit,
                                                  int64_t* offset) const {
  const std::string l = QueryValue(call.req, "limit");
  const std::string o = QueryValue(call.req, "offset");
  *limit = default_limit;
  *offset = 0;
  if (!l.empty() && !absl::SimpleAtoi(l, limit)) {
    return InvalidValue("limit must be an integer");
  }
  if (!o.empty() && !absl::SimpleAtoi(o, offset)) {
    return InvalidValue("offset must be an integer");
  }
  if (*limit < 1 || *limit > sim_->options_.max_limit) {
    return InvalidValue(
        absl::StrCat("limit must be between 1 and ", sim_->options_.max_limit));
  }
  if (*offset < 0) return InvalidValue("offset must not be negative");
  if (sim_->options_.limit_cap > 0) {
    *limit = std::min<int64_t>(*limit, sim_->options_.limit_cap);
  }
  return std::nullopt;
}

namespace {

// Case-insensitive (ASCII) substring match on name or mail.
bool QueryMatches(const SimUser& u, const std::string& lowered_query) {
  if (lowered_query.empty()) return true;
  return absl::StrContains(absl::AsciiStrToLower(u.name), lowered_query) ||
         absl::StrContains(absl::AsciiStrToLower(u.mail), lowered_query);
}

}  // namespace

std::optional<ApiError> Simulator::Router::Read(RouteId route, Call& call,
                                                const Directory& d, Json& w) {
  const int64_t me = UserOf(call);
  if (call.identity.ref_type == "app") {
    // App tokens act as the app: only the app's own space is readable
    // (docs/podio.md §2.2, §7; UNCONFIRMED which routes answer what).
    const int64_t app_space = sim_->oauth_->SpaceOfApp(call.identity.ref_id);
    if (route != RouteId::kSpace ||
        IdParam(call.params, "space_id") != app_space) {
      return Forbidden("This operation is not available to apps");
    }
    const SimSpace* s = d.FindSpace(app_space);
    if (s == nullptr) return ObjectNotFound();
    SpaceFull(w, *s, d, 0);
    return std::nullopt;
  }
  const SimUser* self = d.FindUser(me);
  if (self == nullptr) return Forbidden("Unknown user");

  switch (route) {
    case RouteId::kUser:
      UserAccount(w, *self, d);
      return std::nullopt;
    case RouteId::kUserProfile:
      ProfileFull(w, *self);
      return std::nullopt;
    case RouteId::kUserStatus: {
      w.StartObject();
      w.Key("user");
      UserAccount(w, *self, d);
      w.Key("profile");
      ProfileFull(w, *self);
      w.Key("properties");
      w.StartObject();
      w.EndObject();
      w.Key("referral");
      w.StartObject();
      w.Key("code");
      w.String(absl::StrCat("ref", self->user_id));
      w.Key("status");
      w.String("disabled");
      w.EndObject();
      w.Key("flags");
      w.StartArray();
      w.EndArray();
      w.Key("betas");
      w.StartArray();
      w.EndArray();
      w.Key("inbox_new");
      w.Int(0);
      w.Key("message_unread_count");
      w.Int(0);
      // A secret (iCal feed): present, as in Podio, so that connectors are
      // tested never to log or return it.
      w.Key("calendar_code");
      w.String(absl::StrCat("cal-", RandomToken().substr(0, 24)));
      w.Key("mailbox");
      w.String(absl::StrCat("u", self->user_id, "@inbox.podio.example"));
      w.Key("task_mail");
      w.String(absl::StrCat("task+u", self->user_id, "@inbox.podio.example"));
      // Signed channel grants (credential-like, as the space's `push`).
      w.Key("push");
      w.StartObject();
      w.Key("channel");
      w.String(absl::StrCat("/user/", self->user_id));
      w.Key("timestamp");
      w.Int64(absl::ToUnixSeconds(call.now));
      w.Key("signature");
      w.String(RandomToken().substr(0, 40));
      w.Key("expires_in");
      w.Int(21600);
      w.EndObject();
      w.Key("presence");
      w.StartObject();
      w.Key("ref_type");
      w.String("user");
      w.Key("ref_id");
      w.Int64(self->user_id);
      w.Key("user_id");
      w.Int64(self->user_id);
      w.Key("signature");
      w.String(RandomToken().substr(0, 40));
      w.EndObject();
      w.EndObject();
      return std::nullopt;
    }
    case RouteId::kOrgs: {
      w.StartArray();
      for (const auto& [org_id, org] : d.orgs) {
        if (d.IsOrgMember(org_id, me)) Org(w, org, d, me, true);
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kOrg: {
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgMember(org->org_id, me)) {
        return Forbidden("You are not a member of this organization");
      }
      Org(w, *org, d, me, false);
      return std::nullopt;
    }
    case RouteId::kOrgMembers: {
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgAdmin(org->org_id, me)) {
        return Forbidden("Only organization administrators can list members");
      }
      int64_t limit, offset;
      if (auto e = Paging(call, 100, &limit, &offset)) return e;
      const std::string type = QueryValue(call.req, "member_type");
      const std::string query =
          absl::AsciiStrToLower(QueryValue(call.req, "query"));
      const std::string sort_by = QueryValue(call.req, "sort_by", "name");
      const bool desc = QueryBool(call.req, "sort_desc", false);
      if (sort_by != "name" && sort_by != "last_seen_on") {
        return InvalidValue("sort_by must be name or last_seen_on");
      }
      static const std::set<std::string> kTypes = {
          "", "employee", "external", "admin", "regular", "guest", "premium"};
      if (!kTypes.count(type)) return InvalidValue("Invalid member_type");
      auto keep = [&](const OrgMembership& m, const SimUser& u) {
        if (type == "employee" || type == "premium") {
          if (!m.employee) return false;
        } else if (type == "external") {
          if (m.employee) return false;
        } else if (type == "admin" || type == "regular") {
          if (m.role != type || m.invited) return false;
        } else if (type == "guest") {
          if (!m.invited) return false;
        }
        return QueryMatches(u, query);
      };
      const std::vector<int64_t>* order = &org->member_order;
      std::vector<int64_t> by_last_seen;
      if (sort_by == "last_seen_on") {
        // Not indexed: sorted per call (O(n log n)); sort by name is O(page).
        by_last_seen = org->member_order;
        std::stable_sort(by_last_seen.begin(), by_last_seen.end(),
                         [&d](int64_t a, int64_t b) {
                           return d.FindUser(a)->last_seen_on <
                                  d.FindUser(b)->last_seen_on;
                         });
        order = &by_last_seen;
      }
      const bool filtered = !type.empty() || !query.empty();
      const int64_t n = static_cast<int64_t>(order->size());
      w.StartArray();
      int64_t skipped = 0, emitted = 0;
      auto at = [&](int64_t i) { return (*order)[desc ? n - 1 - i : i]; };
      // Unfiltered: jump straight to the page. Filtered: scan, stop early.
      for (int64_t i = filtered ? 0 : std::min(offset, n);
           i < n && emitted < limit; ++i) {
        const int64_t id = at(i);
        const OrgMembership& m = org->members.at(id);
        if (filtered) {
          if (!keep(m, *d.FindUser(id))) continue;
          if (skipped++ < offset) continue;
        }
        if (sim_->TakeHidden(id)) continue;
        OrgMember(w, *org, m, d, false);
        ++emitted;
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kOrgMember: {
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgMember(org->org_id, me)) {
        return Forbidden("You are not a member of this organization");
      }
      auto it = org->members.find(IdParam(call.params, "user_id"));
      if (it == org->members.end()) return ObjectNotFound();
      OrgMember(w, *org, it->second, d, true);
      return std::nullopt;
    }
    case RouteId::kOrgMemberSpaces: {
      // O8: a user's active space memberships inside the organization, as
      // SpaceMember records with the space embedded (shape UNCONFIRMED).
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgMember(org->org_id, me)) {
        return Forbidden("You are not a member of this organization");
      }
      const int64_t user_id = IdParam(call.params, "user_id");
      if (!org->members.count(user_id)) return ObjectNotFound();
      w.StartArray();
      for (int64_t space_id : org->space_ids) {
        const SimSpace* s = d.FindSpace(space_id);
        const SpaceMembership* m = d.ActiveSpaceMembership(space_id, user_id);
        if (m == nullptr || !CanSeeSpace(d, *s, me)) continue;
        w.StartObject();
        w.Key("space");
        SpaceMini(w, *s, d, me);
        w.Key("role");
        w.String(m->role);
        w.Key("invited_on");
        Date(w, m->invited_on);
        w.Key("started_on");
        Date(w, m->started_on);
        w.Key("ended_on");
        w.Null();
        w.Key("grants");
        w.Int64(m->grants);
        w.EndObject();
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kOrgAdmins: {
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgMember(org->org_id, me)) {
        return Forbidden("You are not a member of this organization");
      }
      w.StartArray();
      for (int64_t id : org->member_order) {
        const OrgMembership& m = org->members.at(id);
        if (m.role == "admin" && !m.invited) ProfileMini(w, *d.FindUser(id));
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kOrgSpaces:
    case RouteId::kSpacesOfOrg: {
      const SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
      if (org == nullptr) return ObjectNotFound();
      if (!d.IsOrgMember(org->org_id, me)) {
        return Forbidden("You are not a member of this organization");
      }
      w.StartArray();
      for (int64_t space_id : org->space_ids) {
        const SimSpace* s = d.FindSpace(space_id);
        if (route == RouteId::kSpacesOfOrg) {
          // Only the spaces the active user is a member of, as SpaceMini.
          if (d.ActiveSpaceMembership(space_id, me)) SpaceMini(w, *s, d, me);
        } else if (CanSeeSpace(d, *s, me)) {
          SpaceFull(w, *s, d, me);
        }
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kSpaceByUrl: {
      // S6: by the space's full URL, or by the two slugs. Another parameter
      // set names no operation (docs/podio.md §3: 404 "No matching
      // operation").
      std::string org_slug = QueryValue(call.req, "org_slug");
      std::string space_slug = QueryValue(call.req, "space_slug");
      const std::string url = QueryValue(call.req, "url");
      if (!url.empty()) {
        absl::string_view rest = url;
        if (!absl::ConsumePrefix(&rest, "https://podio.com/")) {
          (void)absl::ConsumePrefix(&rest, "http://podio.com/");
        }
        absl::ConsumeSuffix(&rest, "/");
        std::vector<std::string> parts = absl::StrSplit(rest, '/');
        if (parts.size() != 2) return ObjectNotFound();
        org_slug = parts[0];
        space_slug = parts[1];
      } else if (org_slug.empty() || space_slug.empty()) {
        return internal::NotFoundRoute(call.req);
      }
      for (const auto& [org_id, org] : d.orgs) {
        if (org.url_label != org_slug) continue;
        for (int64_t space_id : org.space_ids) {
          const SimSpace* s = d.FindSpace(space_id);
          if (s == nullptr || s->url_label != space_slug) continue;
          if (!CanSeeSpace(d, *s, me)) {
            return Forbidden("You do not have access to this space");
          }
          SpaceFull(w, *s, d, me);
          return std::nullopt;
        }
      }
      return ObjectNotFound();
    }
    case RouteId::kSpace:
    case RouteId::kSpaceMembers:
    case RouteId::kSpaceMembersV2:
    case RouteId::kSpaceMembersEnded:
    case RouteId::kSpaceMembersByRole:
    case RouteId::kSpaceMember:
    case RouteId::kContactSpace: {
      const SimSpace* s = d.FindSpace(IdParam(call.params, "space_id"));
      if (s == nullptr) return ObjectNotFound();
      if (!CanSeeSpace(d, *s, me)) {
        return Forbidden("You do not have access to this space");
      }
      if (route == RouteId::kSpace) {
        SpaceFull(w, *s, d, me);
        return std::nullopt;
      }
      if (route == RouteId::kSpaceMember) {
        const SpaceMembership* m = d.ActiveSpaceMembership(
            s->space_id, IdParam(call.params, "user_id"));
        if (m == nullptr) return ObjectNotFound();
        SpaceMemberV1(w, *s, *m, d);
        return std::nullopt;
      }
      if (route == RouteId::kSpaceMembersEnded) {
        std::vector<int64_t> ended;
        for (const auto& [id, m] : s->members) {
          if (m.ended_on) ended.push_back(id);
        }
        d.SortByName(ended);
        w.StartArray();
        for (int64_t id : ended) SpaceMemberV1(w, *s, s->members.at(id), d);
        w.EndArray();
        return std::nullopt;
      }
      int64_t limit = sim_->options_.max_limit, offset = 0;
      std::string type, query;
      const bool paged =
          route == RouteId::kSpaceMembersV2 || route == RouteId::kContactSpace;
      if (paged) {
        if (auto e = Paging(call, 100, &limit, &offset)) return e;
        type = QueryValue(call.req, "member_type");
        query = absl::AsciiStrToLower(QueryValue(call.req, "query"));
        static const std::set<std::string> kTypes = {
            "", "employee", "external", "admin", "regular", "light", "guest"};
        if (route == RouteId::kSpaceMembersV2 && !kTypes.count(type)) {
          return InvalidValue("Invalid member_type");
        }
      }
      const std::string role =
          route == RouteId::kSpaceMembersByRole ? call.params.at("role") : "";
      const bool filtered = !type.empty() || !query.empty() || !role.empty();
      const int64_t n = static_cast<int64_t>(s->member_order.size());
      int64_t skipped = 0, emitted = 0;
      w.StartArray();
      for (int64_t i = (paged && !filtered) ? std::min(offset, n) : 0;
           i < n && (!paged || emitted < limit); ++i) {
        const int64_t id = s->member_order[i];
        const SpaceMembership& m = s->members.at(id);
        if (filtered) {
          if (!role.empty() && m.role != role) continue;
          const bool employee = IsEmployee(d, s->org_id, id);
          if ((type == "employee" && !employee) ||
              ((type == "external" || type == "guest") && employee) ||
              ((type == "admin" || type == "regular" || type == "light") &&
               m.role != type)) {
            continue;
          }
          if (!QueryMatches(*d.FindUser(id), query)) continue;
          if (paged && skipped++ < offset) continue;
        }
        if (route == RouteId::kSpaceMembersV2) {
          if (sim_->TakeHidden(id)) continue;
          SpaceMemberV2(w, *s, m, d);
        } else if (route == RouteId::kContactSpace) {
          w.StartObject();
          ProfileFields(w, *d.FindUser(id), s->space_id);
          w.Key("role");
          w.Int(SpaceRoleToInt(m.role));
          w.Key("removable");
          w.Bool(id != me);
          w.EndObject();
        } else {
          SpaceMemberV1(w, *s, m, d);
        }
        ++emitted;
      }
      w.EndArray();
      return std::nullopt;
    }
    case RouteId::kContactUser: {
      const SimUser* u = d.FindUser(IdParam(call.params, "user_id"));
      if (u == nullptr) return ObjectNotFound();
      if (u->user_id != me && !d.ShareAnOrg(me, u->user_id)) {
        return Forbidden("You cannot see this contact");
      }
      ProfileFull(w, *u);
      return std::nullopt;
    }
    case RouteId::kContacts:
    case RouteId::kContactOrg: {
      int64_t limit, offset;
      if (auto e = Paging(call, 100, &limit, &offset)) return e;
      const bool full = QueryValue(call.req, "type", "mini") == "full";
      const bool exclude_self = QueryBool(call.req, "exclude_self", true);
      const std::vector<int64_t>* order = &d.users_by_name;
      const SimOrg* org = nullptr;
      if (route == RouteId::kContactOrg) {
        org = d.FindOrg(IdParam(call.params, "org_id"));
        if (org == nullptr) return ObjectNotFound();
        if (!d.IsOrgMember(org->org_id, me)) {
          return Forbidden("You are not a member of this organization");
        }
        order = &org->member_order;
      }
      std::vector<int64_t> my_orgs;
      for (const auto& [org_id, o] : d.orgs) {
        if (d.IsOrgMember(org_id, me)) my_orgs.push_back(org_id);
      }
      int64_t skipped = 0, emitted = 0;
      w.StartArray();
      for (int64_t id : *order) {
        if (emitted >= limit) break;
        if (exclude_self && id == me) continue;
        if (org != nullptr) {
          if (!d.IsOrgMember(org->org_id, id)) continue;
        } else {
          bool shared = false;
          for (int64_t org_id : my_orgs) {
            if (d.IsOrgMember(org_id, id)) {
              shared = true;
              break;
            }
          }
          if (!shared) continue;
        }
        if (skipped++ < offset) continue;
        if (full) {
          ProfileFull(w, *d.FindUser(id));
        } else {
          ProfileMini(w, *d.FindUser(id));
        }
        ++emitted;
      }
      w.EndArray();
      return std::nullopt;
    }
    default:
      return internal::NotFoundRoute(call.req);
  }
}

std::optional<ApiError> Simulator::Router::Write(RouteId route, Call& call,
                                                 Directory& d, Json& w) {
  const int64_t me = UserOf(call);
  if (me == 0) return Forbidden("This operation is not available to apps");
  const absl::Time now = call.now;
  HookRegistry& hooks = sim_->hooks_;
  auto emit = [&](int64_t space_id, const std::string& type, int64_t user_id,
                  const std::string& role) {
    std::vector<std::pair<std::string, std::string>> params = {
        {"space_id", absl::StrCat(space_id)},
        {"user_id", absl::StrCat(user_id)}};
    if (!role.empty()) params.push_back({"role", role});
    hooks.Emit("space", space_id, type, params);
  };
  auto end_space_membership = [&](SimSpace& s, int64_t user_id) {
    auto it = s.members.find(user_id);
    if (it == s.members.end() || it->second.ended_on) return false;
    it->second.ended_on = now;
    s.member_order.erase(
        std::remove(s.member_order.begin(), s.member_order.end(), user_id),
        s.member_order.end());
    emit(s.space_id, "member.remove", user_id, "");
    return true;
  };

  if (route == RouteId::kEndOrgMembership) {
    SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
    if (org == nullptr) return ObjectNotFound();
    if (!d.IsOrgAdmin(org->org_id, me)) {
      return Forbidden("Only organization administrators can end memberships");
    }
    const int64_t user_id = IdParam(call.params, "user_id");
    if (!org->members.count(user_id)) return ObjectNotFound();
    for (int64_t space_id : org->space_ids) {
      end_space_membership(*d.FindSpace(space_id), user_id);
    }
    org->members.erase(user_id);
    org->member_order.erase(std::remove(org->member_order.begin(),
                                        org->member_order.end(), user_id),
                            org->member_order.end());
    call.res.status = 204;
    return std::nullopt;
  }

  SimSpace* s = d.FindSpace(IdParam(call.params, "space_id"));
  if (s == nullptr) return ObjectNotFound();
  if (!CanManageSpace(d, *s, me)) {
    return Forbidden("Only space administrators can change members");
  }
  SimOrg* org = d.FindOrg(s->org_id);

  if (route == RouteId::kAddSpaceMembers) {
    rapidjson::Document body;
    if (body.Parse(call.req.body.c_str(), call.req.body.size())
            .HasParseError() ||
        !body.IsObject()) {
      return InvalidValue("must be object");
    }
    std::string role = "regular";
    if (body.HasMember("role")) {
      if (!body["role"].IsString()) return InvalidValue("role must be string");
      role = body["role"].GetString();
    }
    if (role != "light" && role != "regular" && role != "admin") {
      return InvalidValue("role must be light, regular or admin");
    }
    if (body.HasMember("mails") || body.HasMember("external_contacts")) {
      return InvalidValue(
          "The simulator adds existing users only (users, profiles)");
    }
    std::vector<int64_t> user_ids;
    for (const char* key : {"users", "profiles"}) {
      if (!body.HasMember(key)) continue;
      if (!body[key].IsArray()) {
        return InvalidValue(absl::StrCat(key, " must be an array"));
      }
      for (const auto& v : body[key].GetArray()) {
        if (!v.IsInt64()) return InvalidValue("ids must be integers");
        int64_t id = v.GetInt64();
        if (std::string(key) == "profiles")
          id += kFirstUserId - kFirstProfileId;
        if (d.FindUser(id) == nullptr) return ObjectNotFound();
        user_ids.push_back(id);
      }
    }
    if (user_ids.empty()) return InvalidValue("No users given");
    for (int64_t id : user_ids) {
      if (!org->members.count(id)) {
        if (org->user_limit > 0 &&
            static_cast<int64_t>(org->members.size()) >= org->user_limit) {
          return Forbidden("The user limit of the organization is reached");
        }
        OrgMembership om;
        om.user_id = id;
        om.employee = false;
        org->members[id] = om;
        d.InsertSorted(org->member_order, id);
      }
      auto it = s->members.find(id);
      if (it != s->members.end() && !it->second.ended_on) continue;
      SpaceMembership m;
      m.user_id = id;
      m.role = role;
      m.invited_on = now;
      m.started_on = now;
      s->members[id] = m;
      d.InsertSorted(s->member_order, id);
      emit(s->space_id, "member.add", id, role);
    }
    call.res.status = 200;
    w.StartObject();
    w.EndObject();
    return std::nullopt;
  }

  std::vector<int64_t> ids;
  for (absl::string_view part :
       absl::StrSplit(call.params.at("user_ids"), ',')) {
    int64_t id = 0;
    (void)absl::SimpleAtoi(part, &id);
    ids.push_back(id);
  }
  if (route == RouteId::kUpdateSpaceRoles) {
    rapidjson::Document body;
    if (body.Parse(call.req.body.c_str(), call.req.body.size())
            .HasParseError() ||
        !body.IsObject() || !body.HasMember("role") ||
        !body["role"].IsString()) {
      return InvalidValue("Body must be an object with a role");
    }
    const std::string role = body["role"].GetString();
    if (role != "light" && role != "regular" && role != "admin") {
      return InvalidValue("role must be light, regular or admin");
    }
    for (int64_t id : ids) {
      if (d.ActiveSpaceMembership(s->space_id, id) == nullptr) {
        return ObjectNotFound();
      }
    }
    for (int64_t id : ids) {
      SpaceMembership& m = s->members.at(id);
      if (m.role == role) continue;
      m.role = role;
      emit(s->space_id, "role.change", id, role);
    }
    call.res.status = 204;
    return std::nullopt;
  }
  // kEndSpaceMemberships
  for (int64_t id : ids) {
    if (d.ActiveSpaceMembership(s->space_id, id) == nullptr) {
      return ObjectNotFound();
    }
  }
  for (int64_t id : ids) end_space_membership(*s, id);
  call.res.status = 204;
  return std::nullopt;
}

std::optional<ApiError> Simulator::RunDirectoryRoute(int route,
                                                     internal::Call& call,
                                                     std::string* body) {
  rapidjson::StringBuffer buffer;
  Json writer(buffer);
  const auto id = static_cast<RouteId>(route);
  std::optional<ApiError> error;
  if (internal::IsWriteRoute(id)) {
    absl::WriterMutexLock lock(&dir_mu_);
    error = router_->Write(id, call, directory_, writer);
  } else {
    {
      absl::ReaderMutexLock lock(&dir_mu_);
      error = router_->Read(id, call, directory_, writer);
    }
    std::function<void(const std::string&)> after;
    {
      absl::MutexLock lock(&after_read_mu_);
      after = after_read_;
    }
    if (after) after(call.req.path);
  }
  if (!error) body->assign(buffer.GetString(), buffer.GetSize());
  return error;
}

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)),
      clock_(options_.clock_start, options_.real_time_clock),
      rate_(options_.rate),
      hooks_(options_.hooks) {}

absl::StatusOr<std::unique_ptr<Simulator>> Simulator::Start(
    SimulatorOptions options) {
  std::unique_ptr<Simulator> sim(new Simulator(options));
  Directory directory = GenerateDirectory(options.data);
  const SimUser& admin = directory.users[kAdminUserIndex];
  const SimUser& regular = directory.users[kRegularUserIndex];
  const int64_t app_space = directory.orgs.begin()->second.space_ids[0];
  // The regular principal signs in with a second factor when asked.
  std::vector<PasswordLogin> logins = {
      {admin.mail, options.admin_password, admin.user_id},
      {regular.mail, options.regular_password, regular.user_id,
       options.regular_mfa}};
  if (!options.user_password.empty()) {
    for (const SimUser& u : directory.users) {
      if (u.user_id == admin.user_id || u.user_id == regular.user_id) continue;
      logins.push_back({u.mail, options.user_password, u.user_id});
    }
  }
  sim->oauth_ = std::make_unique<OAuthState>(
      options.oauth, std::move(logins),
      std::vector<AppLogin>{{options.app_id, options.app_token, app_space}});
  {
    absl::MutexLock lock(&sim->consent_mu_);
    sim->consent_user_ = admin.user_id;
  }
  {
    absl::MutexLock lock(&sim->dir_mu_);
    sim->directory_ = std::move(directory);
  }
  for (const FaultRule& rule : options.faults) sim->faults_.Add(rule);

  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    auto server = std::make_unique<httplib::SSLServer>(
        options.tls_cert_file.c_str(), options.tls_key_file.c_str());
    if (!server->is_valid()) {
      return absl::InvalidArgumentError(
          "cannot load the TLS certificate or key");
    }
    sim->server_ = std::move(server);
  } else {
    sim->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *sim->server_;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(threads);
  };
  // httplib's default also sets SO_REUSEPORT, which would let two servers
  // share a port; a busy port must be an error instead.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Answers go out at once (headers and body are written separately; with
    // Nagle they would wait for a delayed ACK). Accepted sockets inherit it.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  server.set_keep_alive_max_count(1000);
  server.set_keep_alive_timeout(60);
  server.set_payload_max_length(1 << 20);
  sim->router_ = std::make_unique<Router>(sim.get());
  Simulator* self = sim.get();
  auto handler = [self](const httplib::Request& req, httplib::Response& res) {
    self->Handle(req, res);
  };
  // Requests that may carry a body read it here: one with neither
  // Content-Length nor Transfer-Encoding has an empty body (RFC 7230
  // §3.3.3), where httplib would wait for the connection to close.
  auto with_body = [self](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& read) {
    httplib::Request copy = req;
    if (req.has_header("Content-Length") ||
        req.has_header("Transfer-Encoding")) {
      if (!read([&copy](const char* data, size_t n) {
            copy.body.append(data, n);
            return true;
          })) {
        internal::SendError(
            res, req,
            ApiError{400, "bad_request", "Malformed request", std::nullopt});
        return;
      }
    }
    self->Handle(copy, res);
  };
  server.Get(".*", handler);
  server.Post(".*", with_body);
  server.Put(".*", with_body);
  server.Patch(".*", with_body);
  server.Delete(".*", with_body);  // With a Content-Length.
  server.Delete(".*", handler);    // Without one.
  server.set_error_handler([](const httplib::Request& req,
                              httplib::Response& res) {
    if (!res.body.empty()) return;
    internal::SendError(
        res, req,
        ApiError{res.status, "bad_request", "Malformed request", std::nullopt});
  });
  if (options.port == 0) {
    sim->port_ = server.bind_to_any_port(options.host);
  } else {
    sim->port_ =
        server.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (sim->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port));
  }
  sim->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_returned_ = true;
  });
  // httplib's stop() does nothing until the accept loop runs: wait for it so
  // that destroying a just-started simulator cannot hang.
  while (!server.is_running() && !sim->listen_returned_) {
    std::this_thread::yield();
  }
  return sim;
}

Simulator::~Simulator() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Simulator::base_url() const {
  const bool tls = !options_.tls_cert_file.empty();
  return absl::StrCat(
      tls ? "https://" : "http://",
      options_.host == "127.0.0.1" && tls ? "localhost" : options_.host, ":",
      port_);
}

void Simulator::ReadDirectory(
    const std::function<void(const Directory&)>& f) const {
  absl::ReaderMutexLock lock(&dir_mu_);
  f(directory_);
}

}  // namespace unified::podio_sim
