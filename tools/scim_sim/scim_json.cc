#include "tools/scim_sim/scim_json.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace unified::scim_sim {

void Str(Writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

void WriteMeta(Writer& w, const char* type, absl::Time created,
               absl::Time modified, const std::string& location) {
  w.Key("meta");
  w.StartObject();
  w.Key("resourceType");
  w.String(type);
  w.Key("created");
  Str(w, Rfc3339(created));
  w.Key("lastModified");
  Str(w, Rfc3339(modified));
  w.Key("location");
  Str(w, location);
  w.Key("version");
  Str(w, absl::StrCat("W/\"", absl::ToUnixSeconds(modified), "\""));
  w.EndObject();
}

void Error(httplib::Response& res, int status, const std::string& detail,
           const std::string& scim_type) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  w.Key("schemas");
  w.StartArray();
  w.String(kErrorSchema);
  w.EndArray();
  if (!scim_type.empty()) {
    w.Key("scimType");
    Str(w, scim_type);
  }
  w.Key("detail");
  Str(w, detail);
  w.Key("status");  // A string (RFC 7644 §3.12).
  Str(w, absl::StrCat(status));
  w.EndObject();
  res.status = status;
  res.set_content(buffer.GetString(), kScimJson);
}

bool ParseFilter(absl::string_view text, std::vector<Condition>* out) {
  out->clear();
  text = absl::StripAsciiWhitespace(text);
  while (!text.empty()) {
    const size_t space = text.find(' ');
    if (space == absl::string_view::npos) return false;
    Condition c;
    c.attribute = absl::AsciiStrToLower(text.substr(0, space));
    text = absl::StripLeadingAsciiWhitespace(text.substr(space));
    if (!absl::StartsWithIgnoreCase(text, "eq ")) return false;
    text = absl::StripLeadingAsciiWhitespace(text.substr(3));
    if (absl::ConsumePrefix(&text, "\"")) {
      c.quoted = true;
      size_t i = 0;
      for (; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        c.value.push_back(text[i]);
      }
      if (i >= text.size()) return false;
      text = text.substr(i + 1);
    } else {
      const size_t end = text.find(' ');
      c.value = std::string(text.substr(0, end));
      if (c.value != "true" && c.value != "false") return false;
      text = end == absl::string_view::npos ? absl::string_view()
                                            : text.substr(end);
    }
    out->push_back(std::move(c));
    text = absl::StripLeadingAsciiWhitespace(text);
    if (text.empty()) break;
    if (!absl::StartsWithIgnoreCase(text, "and ")) return false;
    text = text.substr(4);
  }
  return !out->empty();
}

void WriteUser(Writer& w, const SimUser& u,
               const std::map<std::string, SimGroup>& groups, bool with_groups,
               const std::string& base) {
  w.StartObject();
  w.Key("schemas");
  w.StartArray();
  w.String(kUserSchema);
  w.EndArray();
  w.Key("id");
  Str(w, u.id);
  w.Key("userName");
  Str(w, u.user_name);
  w.Key("name");
  w.StartObject();
  w.Key("formatted");
  Str(w, absl::StrCat(u.given_name, " ", u.family_name));
  w.Key("familyName");
  Str(w, u.family_name);
  w.Key("givenName");
  Str(w, u.given_name);
  w.EndObject();
  w.Key("displayName");
  Str(w, absl::StrCat(u.given_name, " ", u.family_name));
  if (!u.title.empty()) {
    w.Key("title");
    Str(w, u.title);
  }
  w.Key("active");
  w.Bool(u.active);
  w.Key("emails");
  w.StartArray();
  w.StartObject();
  w.Key("value");
  Str(w, u.email);
  w.Key("type");
  w.String("work");
  w.Key("primary");
  w.Bool(true);
  w.EndObject();
  w.EndArray();
  if (!u.roles.empty()) {
    w.Key("roles");
    w.StartArray();
    for (const std::string& r : u.roles) {
      w.StartObject();
      w.Key("value");
      Str(w, r);
      w.EndObject();
    }
    w.EndArray();
  }
  if (!!with_groups) {
    w.Key("groups");
    w.StartArray();
    for (const auto& [gid, g] : groups) {
      if (std::find(g.members.begin(), g.members.end(), u.id) ==
          g.members.end()) {
        continue;
      }
      w.StartObject();
      w.Key("value");
      Str(w, gid);
      w.Key("$ref");
      Str(w, absl::StrCat(base, "/Groups/", gid));
      w.Key("display");
      Str(w, g.display_name);
      w.Key("type");
      w.String("direct");
      w.EndObject();
    }
    w.EndArray();
  }
  WriteMeta(w, "User", u.created, u.modified,
            absl::StrCat(base, "/Users/", u.id));
  w.EndObject();
}

void WriteGroup(Writer& w, const SimGroup& g,
                const std::map<std::string, SimUser>& users, bool with_members,
                const std::string& base) {
  w.StartObject();
  w.Key("schemas");
  w.StartArray();
  w.String(kGroupSchema);
  w.EndArray();
  w.Key("id");
  Str(w, g.id);
  w.Key("displayName");
  Str(w, g.display_name);
  if (with_members) {
    w.Key("members");
    w.StartArray();
    for (const std::string& uid : g.members) {
      auto u = users.find(uid);
      if (u == users.end()) continue;
      w.StartObject();
      w.Key("value");
      Str(w, uid);
      w.Key("$ref");
      Str(w, absl::StrCat(base, "/Users/", uid));
      w.Key("display");
      Str(w, absl::StrCat(u->second.given_name, " ", u->second.family_name));
      w.Key("type");
      w.String("User");
      w.EndObject();
    }
    w.EndArray();
  }
  WriteMeta(w, "Group", g.created, g.modified,
            absl::StrCat(base, "/Groups/", g.id));
  w.EndObject();
}

void WriteServiceProviderConfig(Writer& w, const ScimSimOptions& options,
                                const std::string& base) {
  w.StartObject();
  w.Key("schemas");
  w.StartArray();
  w.String("urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig");
  w.EndArray();
  for (const char* feature : {"patch", "etag"}) {
    w.Key(feature);
    w.StartObject();
    w.Key("supported");
    w.Bool(true);
    w.EndObject();
  }
  for (const char* feature : {"changePassword", "sort"}) {
    w.Key(feature);
    w.StartObject();
    w.Key("supported");
    w.Bool(false);
    w.EndObject();
  }
  w.Key("bulk");
  w.StartObject();
  w.Key("supported");
  w.Bool(false);
  w.Key("maxOperations");
  w.Int(0);
  w.Key("maxPayloadSize");
  w.Int(0);
  w.EndObject();
  w.Key("filter");
  w.StartObject();
  w.Key("supported");
  w.Bool(true);
  w.Key("maxResults");
  w.Int(options.max_results);
  w.EndObject();
  if (options.cursor_paging) {
    // RFC 9865 §4.
    w.Key("pagination");
    w.StartObject();
    w.Key("cursor");
    w.Bool(true);
    w.Key("index");
    w.Bool(true);
    w.Key("defaultPaginationMethod");
    w.String("index");
    w.Key("defaultPageSize");
    w.Int(options.max_results);
    w.Key("maxPageSize");
    w.Int(options.max_results);
    w.Key("cursorTimeout");
    w.Int(3600);
    w.EndObject();
  }
  w.Key("authenticationSchemes");
  w.StartArray();
  w.StartObject();
  w.Key("type");
  w.String("oauthbearertoken");
  w.Key("name");
  w.String("OAuth Bearer Token");
  w.Key("description");
  w.String("Authentication with an OAuth 2.0 bearer token");
  w.Key("primary");
  w.Bool(true);
  w.EndObject();
  w.EndArray();
  w.Key("meta");
  w.StartObject();
  w.Key("resourceType");
  w.String("ServiceProviderConfig");
  w.Key("location");
  Str(w, absl::StrCat(base, "/ServiceProviderConfig"));
  w.EndObject();
  w.EndObject();
}

}  // namespace unified::scim_sim
