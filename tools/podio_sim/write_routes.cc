// The write routes of the simulated directory (space and organization
// memberships), each a handler of its own; each emits the hook events
// Podio would.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "tools/podio_sim/router.h"

namespace unified::podio_sim {
namespace {

// The user ids of the route's "user_ids" segment (comma-separated).
std::vector<int64_t> UserIds(const Call& call) {
  std::vector<int64_t> ids;
  for (absl::string_view part :
       absl::StrSplit(call.params.at("user_ids"), ',')) {
    int64_t id = 0;
    (void)absl::SimpleAtoi(part, &id);
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

std::optional<ApiError> Simulator::Router::Write(RouteId route, Call& call,
                                                 Directory& d, Json& w) {
  const int64_t me = UserOf(call);
  if (me == 0) return Forbidden("This operation is not available to apps");
  const WriteCall c{route, call, d, w, me};
  if (route == RouteId::kEndOrgMembership) return EndOrgMembership(c);
  SimSpace* s = d.FindSpace(IdParam(call.params, "space_id"));
  if (s == nullptr) return ObjectNotFound();
  if (!CanManageSpace(d, *s, me)) {
    return Forbidden("Only space administrators can change members");
  }
  switch (route) {
    case RouteId::kAddSpaceMembers:
      return AddSpaceMembers(c, *s);
    case RouteId::kUpdateSpaceRoles:
      return UpdateSpaceRoles(c, *s);
    case RouteId::kEndSpaceMemberships:
      return EndSpaceMemberships(c, *s);
    default:
      return internal::NotFoundRoute(call.req);
  }
}

void Simulator::Router::EmitSpaceEvent(int64_t space_id,
                                       const std::string& type, int64_t user_id,
                                       const std::string& role) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"space_id", absl::StrCat(space_id)}, {"user_id", absl::StrCat(user_id)}};
  if (!role.empty()) params.push_back({"role", role});
  sim_->hooks_.Emit("space", space_id, type, params);
}

bool Simulator::Router::EndSpaceMembership(SimSpace& s, int64_t user_id,
                                           absl::Time now) {
  auto it = s.members.find(user_id);
  if (it == s.members.end() || it->second.ended_on) return false;
  it->second.ended_on = now;
  s.member_order.erase(
      std::remove(s.member_order.begin(), s.member_order.end(), user_id),
      s.member_order.end());
  EmitSpaceEvent(s.space_id, "member.remove", user_id, "");
  return true;
}

std::optional<ApiError> Simulator::Router::EndOrgMembership(
    const WriteCall& c) {
  const auto& [route, call, d, w, me] = c;
  SimOrg* org = d.FindOrg(IdParam(call.params, "org_id"));
  if (org == nullptr) return ObjectNotFound();
  if (!d.IsOrgAdmin(org->org_id, me)) {
    return Forbidden("Only organization administrators can end memberships");
  }
  const int64_t user_id = IdParam(call.params, "user_id");
  if (!org->members.count(user_id)) return ObjectNotFound();
  for (int64_t space_id : org->space_ids) {
    EndSpaceMembership(*d.FindSpace(space_id), user_id, call.now);
  }
  org->members.erase(user_id);
  org->member_order.erase(
      std::remove(org->member_order.begin(), org->member_order.end(), user_id),
      org->member_order.end());
  call.res.status = 204;
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::AddSpaceMembers(const WriteCall& c,
                                                           SimSpace& s) {
  const auto& [route, call, d, w, me] = c;
  SimOrg* org = d.FindOrg(s.org_id);
  rapidjson::Document body;
  if (body.Parse(call.req.body.c_str(), call.req.body.size()).HasParseError() ||
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
      if (std::string(key) == "profiles") id += kFirstUserId - kFirstProfileId;
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
    auto it = s.members.find(id);
    if (it != s.members.end() && !it->second.ended_on) continue;
    SpaceMembership m;
    m.user_id = id;
    m.role = role;
    m.invited_on = call.now;
    m.started_on = call.now;
    s.members[id] = m;
    d.InsertSorted(s.member_order, id);
    EmitSpaceEvent(s.space_id, "member.add", id, role);
  }
  call.res.status = 200;
  w.StartObject();
  w.EndObject();
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::UpdateSpaceRoles(const WriteCall& c,
                                                            SimSpace& s) {
  const auto& [route, call, d, w, me] = c;
  const std::vector<int64_t> ids = UserIds(call);
  rapidjson::Document body;
  if (body.Parse(call.req.body.c_str(), call.req.body.size()).HasParseError() ||
      !body.IsObject() || !body.HasMember("role") || !body["role"].IsString()) {
    return InvalidValue("Body must be an object with a role");
  }
  const std::string role = body["role"].GetString();
  if (role != "light" && role != "regular" && role != "admin") {
    return InvalidValue("role must be light, regular or admin");
  }
  for (int64_t id : ids) {
    if (d.ActiveSpaceMembership(s.space_id, id) == nullptr) {
      return ObjectNotFound();
    }
  }
  for (int64_t id : ids) {
    SpaceMembership& m = s.members.at(id);
    if (m.role == role) continue;
    m.role = role;
    EmitSpaceEvent(s.space_id, "role.change", id, role);
  }
  call.res.status = 204;
  return std::nullopt;
}

std::optional<ApiError> Simulator::Router::EndSpaceMemberships(
    const WriteCall& c, SimSpace& s) {
  const auto& [route, call, d, w, me] = c;
  const std::vector<int64_t> ids = UserIds(call);
  for (int64_t id : ids) {
    if (d.ActiveSpaceMembership(s.space_id, id) == nullptr) {
      return ObjectNotFound();
    }
  }
  for (int64_t id : ids) EndSpaceMembership(s, id, call.now);
  call.res.status = 204;
  return std::nullopt;
}

}  // namespace unified::podio_sim
