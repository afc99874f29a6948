// The read routes of the simulated directory: one handler per route or
// family of routes, found in one table (Router::Read).
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

namespace {

// Case-insensitive (ASCII) substring match on name or mail.
bool QueryMatches(const SimUser& u, const std::string& lowered_query) {
  if (lowered_query.empty()) return true;
  return absl::StrContains(absl::AsciiStrToLower(u.name), lowered_query) ||
         absl::StrContains(absl::AsciiStrToLower(u.mail), lowered_query);
}

}  // namespace

std::optional<ApiError> Simulator::Router::MemberOrg(const ReadCall& r,
                                                     const SimOrg** org) {
  *org = r.d.FindOrg(IdParam(r.call.params, "org_id"));
  if (*org == nullptr) return ObjectNotFound();
  if (!r.d.IsOrgMember((*org)->org_id, r.me)) {
    return Forbidden("You are not a member of this organization");
  }
  return std::nullopt;
}

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

  using Handler = std::optional<ApiError> (Router::*)(const ReadCall&);
  static const auto* const kRoutes = new std::map<RouteId, Handler>{
      {RouteId::kUser, &Router::ReadUser},
      {RouteId::kUserProfile, &Router::ReadUserProfile},
      {RouteId::kUserStatus, &Router::ReadUserStatus},
      {RouteId::kOrgs, &Router::ReadOrgs},
      {RouteId::kOrg, &Router::ReadOrg},
      {RouteId::kOrgMembers, &Router::ReadOrgMembers},
      {RouteId::kOrgMember, &Router::ReadOrgMember},
      {RouteId::kOrgMemberSpaces, &Router::ReadOrgMemberSpaces},
      {RouteId::kOrgAdmins, &Router::ReadOrgAdmins},
      {RouteId::kOrgSpaces, &Router::ReadOrgSpaces},
      {RouteId::kSpacesOfOrg, &Router::ReadOrgSpaces},
      {RouteId::kSpaceByUrl, &Router::ReadSpaceByUrl},
      {RouteId::kSpace, &Router::ReadSpace},
      {RouteId::kSpaceMembers, &Router::ReadSpace},
      {RouteId::kSpaceMembersV2, &Router::ReadSpace},
      {RouteId::kSpaceMembersEnded, &Router::ReadSpace},
      {RouteId::kSpaceMembersByRole, &Router::ReadSpace},
      {RouteId::kSpaceMember, &Router::ReadSpace},
      {RouteId::kContactSpace, &Router::ReadSpace},
      {RouteId::kContactUser, &Router::ReadContactUser},
      {RouteId::kContacts, &Router::ReadContacts},
      {RouteId::kContactOrg, &Router::ReadContacts},
  };
  auto it = kRoutes->find(route);
  if (it == kRoutes->end()) return internal::NotFoundRoute(call.req);
  return (this->*(it->second))(ReadCall{route, call, d, w, *self, me});
}

std::optional<ApiError> Simulator::Router::ReadUser(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  UserAccount(w, self, d);
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadUserProfile(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  ProfileFull(w, self);
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadUserStatus(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  w.StartObject();
  w.Key("user");
  UserAccount(w, self, d);
  w.Key("profile");
  ProfileFull(w, self);
  w.Key("properties");
  w.StartObject();
  w.EndObject();
  w.Key("referral");
  w.StartObject();
  w.Key("code");
  w.String(absl::StrCat("ref", self.user_id));
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
  w.String(absl::StrCat("u", self.user_id, "@inbox.podio.example"));
  w.Key("task_mail");
  w.String(absl::StrCat("task+u", self.user_id, "@inbox.podio.example"));
  // Signed channel grants (credential-like, as the space's `push`).
  w.Key("push");
  PushGrant(w, absl::StrCat("/user/", self.user_id),
            absl::ToUnixSeconds(call.now));
  w.Key("presence");
  w.StartObject();
  w.Key("ref_type");
  w.String("user");
  w.Key("ref_id");
  w.Int64(self.user_id);
  w.Key("user_id");
  w.Int64(self.user_id);
  w.Key("signature");
  w.String(RandomToken().substr(0, 40));
  w.EndObject();
  w.EndObject();
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadOrgs(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  w.StartArray();
  for (const auto& [org_id, org] : d.orgs) {
    if (d.IsOrgMember(org_id, me)) Org(w, org, d, me, true);
  }
  w.EndArray();
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadOrg(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  const SimOrg* org = nullptr;
  if (auto e = MemberOrg(r, &org)) return e;
  Org(w, *org, d, me, false);
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadOrgMembers(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
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
    std::stable_sort(
        by_last_seen.begin(), by_last_seen.end(), [&d](int64_t a, int64_t b) {
          return d.FindUser(a)->last_seen_on < d.FindUser(b)->last_seen_on;
        });
    order = &by_last_seen;
  }
  const bool filtered = !type.empty() || !query.empty();
  const int64_t n = static_cast<int64_t>(order->size());
  w.StartArray();
  int64_t skipped = 0, emitted = 0;
  auto at = [&](int64_t i) { return (*order)[desc ? n - 1 - i : i]; };
  // Unfiltered: jump straight to the page. Filtered: scan, stop early.
  for (int64_t i = filtered ? 0 : std::min(offset, n); i < n && emitted < limit;
       ++i) {
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

std::optional<ApiError> Simulator::Router::ReadOrgMember(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  const SimOrg* org = nullptr;
  if (auto e = MemberOrg(r, &org)) return e;
  auto it = org->members.find(IdParam(call.params, "user_id"));
  if (it == org->members.end()) return ObjectNotFound();
  OrgMember(w, *org, it->second, d, true);
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadOrgMemberSpaces(
    const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  // O8: a user's active space memberships inside the organization, as
  // SpaceMember records with the space embedded (shape UNCONFIRMED).
  const SimOrg* org = nullptr;
  if (auto e = MemberOrg(r, &org)) return e;
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

std::optional<ApiError> Simulator::Router::ReadOrgAdmins(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  const SimOrg* org = nullptr;
  if (auto e = MemberOrg(r, &org)) return e;
  w.StartArray();
  for (int64_t id : org->member_order) {
    const OrgMembership& m = org->members.at(id);
    if (m.role == "admin" && !m.invited) ProfileMini(w, *d.FindUser(id));
  }
  w.EndArray();
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadOrgSpaces(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  const SimOrg* org = nullptr;
  if (auto e = MemberOrg(r, &org)) return e;
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

std::optional<ApiError> Simulator::Router::ReadSpaceByUrl(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
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

std::optional<ApiError> Simulator::Router::ReadSpace(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
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
    const SpaceMembership* m =
        d.ActiveSpaceMembership(s->space_id, IdParam(call.params, "user_id"));
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
  return ListSpaceMembers(r, *s);
}

std::optional<ApiError> Simulator::Router::ListSpaceMembers(
    const ReadCall& r, const SimSpace& space) {
  const auto& [route, call, d, w, self, me] = r;
  const SimSpace* s = &space;
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

std::optional<ApiError> Simulator::Router::ReadContactUser(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
  const SimUser* u = d.FindUser(IdParam(call.params, "user_id"));
  if (u == nullptr) return ObjectNotFound();
  if (u->user_id != me && !d.ShareAnOrg(me, u->user_id)) {
    return Forbidden("You cannot see this contact");
  }
  ProfileFull(w, *u);
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::ReadContacts(const ReadCall& r) {
  const auto& [route, call, d, w, self, me] = r;
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

}  // namespace unified::podio_sim
