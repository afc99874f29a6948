// Routing and helpers shared by the simulator's two request files: the route
// table, parameter parsing and the error envelope.
#include "tools/podio_sim/simulator_internal.h"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "tools/podio_sim/sim_clock.h"

namespace unified::podio_sim {
namespace internal {

// The route table, each route spelled as documented (docs/podio.md
// §3.0). FindRoute also serves the other trailing-slash spelling.
const std::vector<Route>& Routes() {
  static const auto* routes = new std::vector<Route>{
      {"GET", "/user/", RouteId::kUser},
      {"GET", "/user/status", RouteId::kUserStatus},
      {"GET", "/user/profile/", RouteId::kUserProfile},
      {"GET", "/contact/", RouteId::kContacts},
      {"GET", "/contact/user/{user_id}", RouteId::kContactUser},
      {"GET", "/contact/org/{org_id}", RouteId::kContactOrg},
      {"GET", "/contact/space/{space_id}/", RouteId::kContactSpace},
      {"GET", "/org/", RouteId::kOrgs},
      {"GET", "/org/{org_id}", RouteId::kOrg},
      {"GET", "/org/{org_id}/member/", RouteId::kOrgMembers},
      {"GET", "/org/{org_id}/member/{user_id}", RouteId::kOrgMember},
      {"DELETE", "/org/{org_id}/member/{user_id}", RouteId::kEndOrgMembership},
      {"GET", "/org/{org_id}/member/{user_id}/space_member/",
       RouteId::kOrgMemberSpaces},
      {"GET", "/org/{org_id}/admin/", RouteId::kOrgAdmins},
      {"GET", "/org/{org_id}/space/", RouteId::kOrgSpaces},
      {"GET", "/space/org/{org_id}/", RouteId::kSpacesOfOrg},
      {"GET", "/space/url", RouteId::kSpaceByUrl},
      {"GET", "/space/{space_id}", RouteId::kSpace},
      {"GET", "/space/{space_id}/member/", RouteId::kSpaceMembers},
      {"POST", "/space/{space_id}/member/", RouteId::kAddSpaceMembers},
      {"GET", "/space/{space_id}/member/v2/", RouteId::kSpaceMembersV2},
      {"GET", "/space/{space_id}/member/ended/", RouteId::kSpaceMembersEnded},
      {"GET", "/space/{space_id}/member/{role}/", RouteId::kSpaceMembersByRole},
      {"GET", "/space/{space_id}/member/{user_id}", RouteId::kSpaceMember},
      {"PUT", "/space/{space_id}/member/{user_ids}",
       RouteId::kUpdateSpaceRoles},
      {"DELETE", "/space/{space_id}/member/{user_ids}",
       RouteId::kEndSpaceMemberships},
      {"POST", "/hook/{ref_type}/{ref_id}/", RouteId::kCreateHook},
      {"GET", "/hook/{ref_type}/{ref_id}/", RouteId::kListHooks},
      {"POST", "/hook/{hook_id}/verify/request", RouteId::kRequestHookVerify},
      {"POST", "/hook/{hook_id}/verify/validate", RouteId::kValidateHook},
      {"DELETE", "/hook/{hook_id}", RouteId::kDeleteHook},
      {"GET", "/oauth/authorize", RouteId::kAuthorize},
      {"POST", "/oauth/authorize", RouteId::kAuthorize},
      {"POST", "/oauth/token", RouteId::kToken},
      {"POST", "/oauth/token/v2", RouteId::kTokenV2},
      {"GET", "/oauth/scope", RouteId::kScope},
  };
  return *routes;
}

bool IsPositiveId(const std::string& s) {
  int64_t v = 0;
  return !s.empty() && s.size() <= 19 &&
         std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) &&
         absl::SimpleAtoi(s, &v) && v > 0;
}

bool ParamMatches(const std::string& name, const std::string& value) {
  if (name == "role") {
    return value == "light" || value == "regular" || value == "admin";
  }
  if (name == "user_ids") {
    if (value.empty()) return false;
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      if (!IsPositiveId(std::string(part))) return false;
    }
    return true;
  }
  if (name == "ref_type") {
    return !value.empty() &&
           std::all_of(value.begin(), value.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || c == '_';
           });
  }
  return IsPositiveId(value);
}

// Matches `path` against a route pattern, filling `params`.
bool MatchPattern(const std::string& pattern, const std::string& path,
                  Params* params) {
  std::vector<std::string> want = absl::StrSplit(pattern, '/');
  std::vector<std::string> have = absl::StrSplit(path, '/');
  if (want.size() != have.size()) return false;
  Params found;
  for (size_t i = 0; i < want.size(); ++i) {
    const std::string& w = want[i];
    if (w.size() > 2 && w.front() == '{' && w.back() == '}') {
      const std::string name = w.substr(1, w.size() - 2);
      if (!ParamMatches(name, have[i])) return false;
      found[name] = have[i];
    } else if (w != have[i]) {
      return false;
    }
  }
  *params = std::move(found);
  return true;
}

int64_t IdParam(const Params& params, const std::string& name) {
  int64_t v = 0;
  auto it = params.find(name);
  if (it != params.end()) (void)absl::SimpleAtoi(it->second, &v);
  return v;
}

std::string PercentDecode(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() &&
               std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(
          std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Params ParseForm(const std::string& body) {
  Params params;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    // Repeated parameters: the last value counts (D-SRV).
    params[PercentDecode(pair.substr(0, eq), true)] =
        eq == absl::string_view::npos
            ? ""
            : PercentDecode(pair.substr(eq + 1), true);
  }
  return params;
}

std::string Str(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsInt64()) return absl::StrCat(v.GetInt64());
  return "";
}

std::string QueryValue(const httplib::Request& req, const std::string& key,
                       const std::string& fallback) {
  // Repeated parameters: the last value counts.
  auto range = req.params.equal_range(key);
  std::string value = fallback;
  for (auto it = range.first; it != range.second; ++it) value = it->second;
  return value;
}

bool QueryBool(const httplib::Request& req, const std::string& key,
               bool fallback) {
  const std::string v = absl::AsciiStrToLower(QueryValue(req, key));
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return fallback;
}

std::string RawQuery(const httplib::Request& req) {
  const size_t q = req.target.find('?');
  return q == std::string::npos ? "" : req.target.substr(q + 1);
}

std::string HttpDate(absl::Time t) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", t, absl::UTCTimeZone());
}

void MaybeGzip(const httplib::Request& req, httplib::Response& res) {
  if (res.body.empty() || res.has_header("Content-Encoding")) return;
  bool accepted = false;
  for (absl::string_view coding :
       absl::StrSplit(req.get_header_value("Accept-Encoding"), ',')) {
    coding = absl::StripAsciiWhitespace(coding);
    if (absl::StartsWithIgnoreCase(coding, "gzip") &&
        !absl::EndsWith(coding, "q=0")) {
      accepted = true;
    }
  }
  if (!accepted) return;
  // One compressor per thread, reset for each answer: setting one up costs
  // far more than compressing a page.
  struct Deflater {
    z_stream z{};
    bool ready = false;
    Deflater() {
      // 16 + MAX_WBITS: a gzip wrapper rather than zlib's. The fastest
      // level: Podio's is unknown, and at the default level compressing a
      // page of 500 members made the simulator the bottleneck of the
      // benchmarks (129 against 184 pages/s; 37.5 against 50 KB).
      ready = deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8,
                           Z_DEFAULT_STRATEGY) == Z_OK;
    }
    ~Deflater() {
      if (ready) deflateEnd(&z);
    }
  };
  thread_local Deflater deflater;
  if (!deflater.ready || deflateReset(&deflater.z) != Z_OK) return;
  z_stream& z = deflater.z;
  std::string out(deflateBound(&z, res.body.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(res.body.data());
  z.avail_in = static_cast<uInt>(res.body.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int done = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  if (done != Z_STREAM_END) return;
  const std::string type = res.get_header_value("Content-Type");
  res.set_content(out, type);
  res.set_header("Content-Encoding", "gzip");
  res.set_header("Vary", "Accept-Encoding");
}

std::string RandomRequestId() {
  static constexpr char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937 rng{std::random_device{}()};
  std::string id(8, 'A');
  for (char& c : id) c = kChars[rng() % (sizeof(kChars) - 1)];
  return id;
}

void WriteErrorBody(Json& w, const ApiError& e, const httplib::Request& req) {
  w.StartObject();
  w.Key("error");
  w.String(e.error);
  w.Key("error_description");
  w.String(e.description);
  w.Key("error_detail");
  if (e.detail) {
    w.String(*e.detail);
  } else {
    w.Null();
  }
  w.Key("error_parameters");
  w.StartObject();
  w.EndObject();
  w.Key("error_propagate");
  w.Bool(false);
  w.Key("request");
  w.StartObject();
  w.Key("url");
  w.String(req.path);  // The 2026 measurement shows only the path.
  w.Key("query_string");
  w.String(RawQuery(req));
  w.Key("method");
  w.String(req.method);
  w.EndObject();
  w.EndObject();
}

void SendJson(httplib::Response& res, int status,
              const rapidjson::StringBuffer& buffer) {
  res.status = status;
  res.set_content(buffer.GetString(), buffer.GetSize(), kJsonType);
}

void SendError(httplib::Response& res, const httplib::Request& req,
               const ApiError& e) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  WriteErrorBody(w, e, req);
  res.status = e.http_status;
  res.set_content(buffer.GetString(), buffer.GetSize(), kJsonType);
}

ApiError NotFoundRoute(const httplib::Request& req) {
  return ApiError{404, "not_found",
                  absl::StrCat("No matching operation could be found. The "
                               "path '",
                               req.path, "' was not found."),
                  std::nullopt};
}

ApiError ObjectNotFound() {
  return ApiError{404, "not_found", "Object not found", std::nullopt};
}

ApiError Forbidden(const std::string& what) {
  return ApiError{403, "forbidden", what, std::nullopt};
}

ApiError InvalidValue(const std::string& what) {
  return ApiError{400, "invalid_value", what, std::nullopt};
}

void Date(Json& w, absl::Time t) { w.String(PodioDateTime(t)); }

// Finds the connection's socket by its peer port, for the `reset` fault.
int FindConnectionSocket(int local_port, int remote_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    int fd = 0;
    if (!absl::SimpleAtoi(entry->d_name, &fd)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    auto port_of = [](const sockaddr_storage& a) {
      if (a.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
      }
      if (a.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
      }
      return static_cast<uint16_t>(0);
    };
    if (port_of(local) == local_port && port_of(peer) == remote_port) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

int SpaceRoleToInt(const std::string& role) {
  return role == "light" ? 1 : role == "admin" ? 3 : 2;
}

bool IsOAuthRoute(RouteId id) {
  return id == RouteId::kAuthorize || id == RouteId::kToken ||
         id == RouteId::kTokenV2 || id == RouteId::kScope;
}

const Route* FindRoute(const std::string& method, const std::string& path,
                       Params* params) {
  for (const Route& route : Routes()) {
    if (route.method == method && MatchPattern(route.pattern, path, params)) {
      return &route;
    }
  }
  // Production clients drop or add the trailing slash; whether Podio treats
  // both spellings alike is unconfirmed, so API routes answer both (the
  // documented spelling wins where both would match). OAuth paths are exact.
  if (path.size() < 2) return nullptr;
  const std::string other = path.back() == '/' ? path.substr(0, path.size() - 1)
                                               : absl::StrCat(path, "/");
  for (const Route& route : Routes()) {
    if (route.method == method && !IsOAuthRoute(route.id) &&
        MatchPattern(route.pattern, other, params)) {
      return &route;
    }
  }
  return nullptr;
}

bool IsHookRoute(RouteId id) {
  return id == RouteId::kCreateHook || id == RouteId::kListHooks ||
         id == RouteId::kRequestHookVerify || id == RouteId::kValidateHook ||
         id == RouteId::kDeleteHook;
}

bool IsWriteRoute(RouteId id) {
  return id == RouteId::kAddSpaceMembers || id == RouteId::kUpdateSpaceRoles ||
         id == RouteId::kEndSpaceMemberships ||
         id == RouteId::kEndOrgMembership;
}

}  // namespace internal

}  // namespace unified::podio_sim
