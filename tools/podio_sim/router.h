// The simulator's router (internal to tools/podio_sim): Podio's JSON views
// of directory records, and the handlers of the directory routes.
#ifndef TOOLS_PODIO_SIM_ROUTER_H_
#define TOOLS_PODIO_SIM_ROUTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "tools/podio_sim/directory.h"
#include "tools/podio_sim/simulator.h"
#include "tools/podio_sim/simulator_internal.h"

namespace unified::podio_sim {

using internal::Call;
using internal::Date;
using internal::Forbidden;
using internal::IdParam;
using internal::InvalidValue;
using internal::ObjectNotFound;
using internal::QueryBool;
using internal::QueryValue;
using internal::SpaceRoleToInt;

// A file object as in the recorded user byline (R-ITEM), or null for none.
void FileObject(Json& w, int64_t file_id);
// A signed push channel grant for `channel` (credential-like: connectors
// are tested never to log or return it).
void PushGrant(Json& w, const std::string& channel, int64_t timestamp);

// Renders directory records as Podio JSON (views.cc) and runs the routes
// (read_routes.cc, write_routes.cc). All methods run with the directory lock
// held by the caller.
class Simulator::Router {
 public:
  Router(Simulator* sim) : sim_(sim) {}

  // Read routes: run under the reader lock. Returns an error or writes body.
  std::optional<ApiError> Read(RouteId route, Call& call, const Directory& d,
                               Json& w);
  // Write routes: run under the writer lock.
  std::optional<ApiError> Write(RouteId route, Call& call, Directory& d,
                                Json& w);

  // One read route's call, by a user (apps read only their space).
  struct ReadCall {
    RouteId route;
    Call& call;
    const Directory& d;
    Json& w;
    const SimUser& self;
    int64_t me;
  };
  // The read routes' handlers (read_routes.cc, the table ReadRoutes); a
  // handler serves one route or a family of routes that share their checks.
  std::optional<ApiError> ReadContactUser(const ReadCall& r);
  std::optional<ApiError> ReadContacts(const ReadCall& r);
  std::optional<ApiError> ReadOrg(const ReadCall& r);
  std::optional<ApiError> ReadOrgAdmins(const ReadCall& r);
  std::optional<ApiError> ReadOrgMember(const ReadCall& r);
  std::optional<ApiError> ReadOrgMemberSpaces(const ReadCall& r);
  std::optional<ApiError> ReadOrgMembers(const ReadCall& r);
  std::optional<ApiError> ReadOrgSpaces(const ReadCall& r);
  std::optional<ApiError> ReadOrgs(const ReadCall& r);
  std::optional<ApiError> ReadSpace(const ReadCall& r);
  std::optional<ApiError> ReadSpaceByUrl(const ReadCall& r);
  std::optional<ApiError> ReadUser(const ReadCall& r);
  std::optional<ApiError> ReadUserProfile(const ReadCall& r);
  std::optional<ApiError> ReadUserStatus(const ReadCall& r);
  // The organization the route names, when the caller is one of its
  // members (else the error to answer).
  static std::optional<ApiError> MemberOrg(const ReadCall& r,
                                           const SimOrg** org);
  std::optional<ApiError> ListSpaceMembers(const ReadCall& r,
                                           const SimSpace& s);

  // One write route's call (write_routes.cc).
  struct WriteCall {
    RouteId route;
    Call& call;
    Directory& d;
    Json& w;
    int64_t me;
  };
  std::optional<ApiError> EndOrgMembership(const WriteCall& c);
  std::optional<ApiError> AddSpaceMembers(const WriteCall& c, SimSpace& s);
  std::optional<ApiError> UpdateSpaceRoles(const WriteCall& c, SimSpace& s);
  std::optional<ApiError> EndSpaceMemberships(const WriteCall& c, SimSpace& s);
  // Emits the space's hook event for `user_id` (`role` when not "").
  void EmitSpaceEvent(int64_t space_id, const std::string& type,
                      int64_t user_id, const std::string& role);
  // Ends an active membership (emitting member.remove); false when none.
  bool EndSpaceMembership(SimSpace& s, int64_t user_id, absl::Time now);

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

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_ROUTER_H_
