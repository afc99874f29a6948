// Podio's JSON views of the simulated directory (docs/podio.md §3).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "tools/podio_sim/oauth.h"
#include "tools/podio_sim/router.h"

namespace unified::podio_sim {

// An organization's creator as its record names them: id, name, no avatar.
void CreatorByline(Json& w, const Directory& d, int64_t user_id) {
  const SimUser* creator = d.FindUser(user_id);
  w.StartObject();
  w.Key("id");
  w.Int64(user_id);
  w.Key("name");
  w.String(creator ? creator->name : "");
  w.Key("avatar");
  w.Null();
  w.EndObject();
}

void PushGrant(Json& w, const std::string& channel, int64_t timestamp) {
  w.StartObject();
  w.Key("channel");
  w.String(channel);
  w.Key("timestamp");
  w.Int64(timestamp);
  w.Key("signature");
  w.String(RandomToken().substr(0, 40));
  w.Key("expires_in");
  w.Int(21600);
  w.EndObject();
}

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
  CreatorByline(w, d, o.created_by);
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
  PushGrant(w, absl::StrCat("/space/", s.space_id),
            absl::ToUnixSeconds(sim_->clock_.Now()));
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

}  // namespace unified::podio_sim
