// Pieces shared by simulator.cc (directory routes) and simulator_handlers.cc
// (authentication, OAuth, hooks, admin). Not part of the simulator's API.
#ifndef TOOLS_PODIO_SIM_SIMULATOR_INTERNAL_H_
#define TOOLS_PODIO_SIM_SIMULATOR_INTERNAL_H_

#include <map>
#include <string>

#include "absl/time/time.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/podio_sim/oauth.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace unified::podio_sim::internal {

using Json = rapidjson::Writer<rapidjson::StringBuffer>;
using Params = std::map<std::string, std::string>;

inline constexpr char kJsonType[] = "application/json; charset=utf-8";

enum class RouteId {
  kUser,
  kUserStatus,
  kUserProfile,
  kContacts,
  kContactUser,
  kContactOrg,
  kContactSpace,
  kOrgs,
  kOrg,
  kOrgMembers,
  kOrgMember,
  kOrgAdmins,
  kOrgSpaces,
  kSpacesOfOrg,
  kSpace,
  kSpaceMembers,
  kSpaceMembersV2,
  kSpaceMembersEnded,
  kSpaceMembersByRole,
  kSpaceMember,
  kAddSpaceMembers,
  kUpdateSpaceRoles,
  kEndSpaceMemberships,
  kEndOrgMembership,
  kCreateHook,
  kListHooks,
  kRequestHookVerify,
  kValidateHook,
  kDeleteHook,
  kAuthorize,
  kToken,
  kTokenV2,
  kScope,
  kOrgMemberSpaces,
  kSpaceByUrl,
};

struct Route {
  std::string method;
  std::string pattern;  // As documented.
  RouteId id;
};

// The route table, in match order.
const std::vector<Route>& Routes();
// The route `method` `path` names, filling `params`; null if none does. API
// routes also answer with the trailing slash added or dropped.
const Route* FindRoute(const std::string& method, const std::string& path,
                       Params* params);
bool IsHookRoute(RouteId id);
bool IsWriteRoute(RouteId id);

// One authenticated API call.
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  Params params;
  Identity identity;
  absl::Time now;
};

void SendError(httplib::Response& res, const httplib::Request& req,
               const ApiError& e);
// Answers `status` with the JSON in `buffer`.
void SendJson(httplib::Response& res, int status,
              const rapidjson::StringBuffer& buffer);
ApiError NotFoundRoute(const httplib::Request& req);
ApiError ObjectNotFound();
ApiError Forbidden(const std::string& what);
ApiError InvalidValue(const std::string& what);
// A path parameter as an id (0 when absent or not a number).
int64_t IdParam(const Params& params, const std::string& name);
// A Podio datetime ("YYYY-MM-DD HH:MM:SS", UTC).
void Date(Json& w, absl::Time t);
// Space contacts carry their role as an integer (1 light, 2 regular, 3 admin).
int SpaceRoleToInt(const std::string& role);

std::string RawQuery(const httplib::Request& req);
// An HTTP Date header value (IMF-fixdate, RFC 7231 §7.1.1.1).
std::string HttpDate(absl::Time t);
// Compresses the answer's body with gzip when the request accepts it
// (answers streamed by a fault's content provider stay as they are).
void MaybeGzip(const httplib::Request& req, httplib::Response& res);
// The last value of a query parameter (Podio: repeated parameters, last wins).
std::string QueryValue(const httplib::Request& req, const std::string& key,
                       const std::string& fallback = "");
// "1"/"true" and "0"/"false", any case; `fallback` otherwise.
bool QueryBool(const httplib::Request& req, const std::string& key,
               bool fallback);
std::string RandomRequestId();
Params ParseForm(const std::string& body);
// A JSON string or integer as text; "" otherwise.
std::string Str(const rapidjson::Value& v);
// The accepted socket of the connection from `remote_port`, or -1.
int FindConnectionSocket(int local_port, int remote_port);

}  // namespace unified::podio_sim::internal

namespace unified::podio_sim {

// What every file of the simulator's request handling uses.
using internal::Json;
using internal::kJsonType;
using internal::Params;
using internal::RouteId;
using internal::SendJson;

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_SIMULATOR_INTERNAL_H_
