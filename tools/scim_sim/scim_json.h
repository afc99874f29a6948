// The SCIM simulator's JSON (RFC 7643, RFC 7644): its constants, error
// answers, the filter subset it serves (docs/scim.md), and the views of its
// users, groups and service provider configuration. Internal to
// tools/scim_sim.
#ifndef TOOLS_SCIM_SIM_SCIM_JSON_H_
#define TOOLS_SCIM_SIM_SCIM_JSON_H_

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "httplib.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/scim_sim/scim_sim.h"

namespace unified::scim_sim {

inline constexpr char kScimJson[] = "application/scim+json";
inline constexpr char kApiPrefix[] = "/scim/v2";
inline constexpr char kUserSchema[] =
    "urn:ietf:params:scim:schemas:core:2.0:User";
inline constexpr char kGroupSchema[] =
    "urn:ietf:params:scim:schemas:core:2.0:Group";
inline constexpr char kListSchema[] =
    "urn:ietf:params:scim:api:messages:2.0:ListResponse";
inline constexpr char kErrorSchema[] =
    "urn:ietf:params:scim:api:messages:2.0:Error";
inline constexpr char kPatchSchema[] =
    "urn:ietf:params:scim:api:messages:2.0:PatchOp";

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const std::string& s);
std::string Rfc3339(absl::Time t);
// A resource's `meta` (RFC 7643 §3.1); its version follows lastModified.
void WriteMeta(Writer& w, const char* type, absl::Time created,
               absl::Time modified, const std::string& location);
// A SCIM error answer (RFC 7644 §3.12).
void Error(httplib::Response& res, int status, const std::string& detail,
           const std::string& scim_type = "");

// One comparison of a filter: attribute path (lower-cased), value.
struct Condition {
  std::string attribute;
  std::string value;  // Unquoted; "true"/"false" for booleans.
  bool quoted = false;
};
// Parses `attr eq value [and attr eq value]...`, the subset served
// (docs/scim.md). False for anything else (400 invalidFilter).
bool ParseFilter(absl::string_view text, std::vector<Condition>* out);

// A user, with its groups when `with_groups`; `base` is the API's URL.
void WriteUser(Writer& w, const SimUser& u,
               const std::map<std::string, SimGroup>& groups, bool with_groups,
               const std::string& base);
// A group, with its members when `with_members`.
void WriteGroup(Writer& w, const SimGroup& g,
                const std::map<std::string, SimUser>& users, bool with_members,
                const std::string& base);
void WriteServiceProviderConfig(Writer& w, const ScimSimOptions& options,
                                const std::string& base);

}  // namespace unified::scim_sim

#endif  // TOOLS_SCIM_SIM_SCIM_JSON_H_
