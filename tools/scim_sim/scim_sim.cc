#include "tools/scim_sim/scim_sim.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace unified::scim_sim {
namespace {

constexpr char kScimJson[] = "application/scim+json";
constexpr char kApiPrefix[] = "/scim/v2";
constexpr char kUserSchema[] = "urn:ietf:params:scim:schemas:core:2.0:User";
constexpr char kGroupSchema[] = "urn:ietf:params:scim:schemas:core:2.0:Group";
constexpr char kListSchema[] =
    "urn:ietf:params:scim:api:messages:2.0:ListResponse";
constexpr char kErrorSchema[] = "urn:ietf:params:scim:api:messages:2.0:Error";
constexpr char kPatchSchema[] = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// A resource's `meta` (RFC 7643 §3.1); its version follows lastModified.
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
           const std::string& scim_type = "") {
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

// One comparison of a filter: attribute path (lower-cased), value.
struct Condition {
  std::string attribute;
  std::string value;  // Unquoted; "true"/"false" for booleans.
  bool quoted = false;
};

// Parses `attr eq value [and attr eq value]...`, the subset served
// (docs/scim.md). False for anything else (400 invalidFilter).
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

std::string RandomHex(int bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

}  // namespace

ScimSimulator::ScimSimulator(ScimSimOptions options)
    : options_(std::move(options)) {}

ScimSimulator::~ScimSimulator() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ScimSimulator::base_url() const {
  return absl::StrCat("http://", options_.host, ":", port_, kApiPrefix);
}

std::string ScimSimulator::token_url() const {
  return absl::StrCat("http://", options_.host, ":", port_, "/oauth/token");
}

void ScimSimulator::Generate() {
  static const char* kGiven[] = {"Ada",   "Bea",  "Cai",  "Dara", "Eli",
                                 "Fenna", "Gus",  "Hana", "Ivo",  "Jun",
                                 "Kira",  "Lars", "Mona", "Nils", "Omar"};
  static const char* kFamily[] = {"Jensen", "Okafor", "Silva", "Tanaka",
                                  "Novak",  "Haddad", "Berg",  "Moreau",
                                  "Kowal",  "Ibarra", "Lund",  "Aziz"};
  static const char* kTitles[] = {"Engineer", "Designer", "Manager", "Analyst",
                                  ""};
  std::mt19937_64 rng(options_.seed);
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  absl::MutexLock lock(&mu_);
  for (int g = 0; g < std::max(1, options_.groups); ++g) {
    SimGroup group;
    group.id = absl::StrFormat("g-%04d", g + 1);
    group.display_name = absl::StrCat("Team ", g + 1);
    group.created = group.modified = start + absl::Minutes(g);
    groups_[group.id] = std::move(group);
  }
  for (int i = 0; i < std::max(1, options_.users); ++i) {
    SimUser u;
    u.id = absl::StrFormat("u-%06d", i + 1);
    u.given_name = kGiven[rng() % (sizeof(kGiven) / sizeof(*kGiven))];
    u.family_name = kFamily[rng() % (sizeof(kFamily) / sizeof(*kFamily))];
    u.user_name = absl::AsciiStrToLower(
        absl::StrCat(u.given_name, ".", u.family_name, i + 1, "@example.com"));
    u.email = u.user_name;
    u.title = kTitles[rng() % (sizeof(kTitles) / sizeof(*kTitles))];
    u.active = i == 0 || rng() % 6 != 0;
    if (i == 0) u.roles = {"admin"};
    u.created = u.modified = start + absl::Hours(1) + absl::Minutes(i);
    // Each user is in one or two groups.
    const int first = static_cast<int>(rng() % groups_.size());
    auto it = std::next(groups_.begin(), first);
    it->second.members.push_back(u.id);
    if (rng() % 3 == 0 && groups_.size() > 1) {
      auto other = std::next(groups_.begin(), (first + 1) % groups_.size());
      other->second.members.push_back(u.id);
    }
    users_[u.id] = std::move(u);
  }
}

absl::StatusOr<std::unique_ptr<ScimSimulator>> ScimSimulator::Start(
    ScimSimOptions options) {
  std::unique_ptr<ScimSimulator> sim(new ScimSimulator(std::move(options)));
  sim->Generate();
  sim->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *sim->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Headers and body are written apart: without this, Nagle holds the
    // body for the client's delayed ACK.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  server.set_payload_max_length(1 << 20);
  ScimSimulator* self = sim.get();
  auto handler = [self](const httplib::Request& req, httplib::Response& res) {
    self->Handle(req, res);
  };
  // A body is read only when the request announces one (RFC 9112 §6.3).
  auto with_body = [self](const httplib::Request& req, httplib::Response& res,
                          const httplib::ContentReader& read) {
    httplib::Request copy = req;
    if (req.has_header("Content-Length") ||
        req.has_header("Transfer-Encoding")) {
      read([&copy](const char* data, size_t n) {
        copy.body.append(data, n);
        return true;
      });
    }
    self->Handle(copy, res);
  };
  server.Get(".*", handler);
  server.Post(".*", with_body);
  server.Patch(".*", with_body);
  server.Put(".*", with_body);
  server.Delete(".*", handler);
  if (sim->options_.port == 0) {
    sim->port_ = server.bind_to_any_port(sim->options_.host);
  } else if (server.bind_to_port(sim->options_.host, sim->options_.port)) {
    sim->port_ = sim->options_.port;
  }
  if (sim->port_ <= 0) {
    return absl::UnavailableError("the SCIM simulator cannot listen");
  }
  sim->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->listen_returned_ = true;
  });
  // stop() does nothing before the accept loop runs: wait for it, so that
  // destroying a just-started simulator cannot hang.
  while (!server.is_running() && !sim->listen_returned_) {
    std::this_thread::yield();
  }
  return sim;
}

std::vector<SimUser> ScimSimulator::Users() const {
  absl::MutexLock lock(&mu_);
  std::vector<SimUser> out;
  for (const auto& [id, u] : users_) out.push_back(u);
  return out;
}

absl::StatusOr<std::string> ScimSimulator::CreateUserAfter(
    const std::string& after) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(after);
  if (it == users_.end()) return absl::NotFoundError("no such user");
  SimUser u = it->second;
  for (int k = 1;; ++k) {
    u.id = absl::StrCat(after, "-", k);
    if (!users_.count(u.id)) break;
  }
  u.given_name = "New";
  u.family_name = u.id;
  u.user_name = absl::StrCat("new.", u.id, "@example.com");
  u.email = u.user_name;
  u.roles.clear();
  u.created = u.modified = absl::Now();
  const std::string id = u.id;
  users_[id] = std::move(u);
  return id;
}

absl::Status ScimSimulator::DeleteUser(const std::string& id) {
  absl::MutexLock lock(&mu_);
  if (users_.erase(id) == 0) return absl::NotFoundError("no such user");
  for (auto& [gid, g] : groups_) {
    g.members.erase(std::remove(g.members.begin(), g.members.end(), id),
                    g.members.end());
  }
  return absl::OkStatus();
}

absl::Status ScimSimulator::SetGroupMember(const std::string& group_id,
                                           const std::string& user_id,
                                           bool member) {
  absl::MutexLock lock(&mu_);
  auto g = groups_.find(group_id);
  if (g == groups_.end() || !users_.count(user_id)) {
    return absl::NotFoundError("no such group or user");
  }
  std::vector<std::string>& members = g->second.members;
  auto at = std::find(members.begin(), members.end(), user_id);
  if (member && at == members.end()) members.push_back(user_id);
  if (!member && at != members.end()) members.erase(at);
  g->second.modified = absl::Now();
  return absl::OkStatus();
}

std::vector<SimGroup> ScimSimulator::Groups() const {
  absl::MutexLock lock(&mu_);
  std::vector<SimGroup> out;
  for (const auto& [id, g] : groups_) out.push_back(g);
  return out;
}

bool ScimSimulator::Authenticate(const std::string& token,
                                 std::string* user_id) {
  for (size_t i = 0; i < options_.tokens.size(); ++i) {
    if (token == options_.tokens[i]) {
      absl::MutexLock lock(&mu_);
      *user_id = i == 0 && !users_.empty() ? users_.begin()->first : "";
      return true;
    }
  }
  absl::MutexLock lock(&mu_);
  auto it = issued_.find(token);
  if (it == issued_.end() || absl::Now() >= it->second) return false;
  user_id->clear();
  return true;
}

bool ScimSimulator::Charge(const std::string& token,
                           int64_t* retry_after_seconds) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  std::vector<absl::Time>& calls = calls_[token];
  calls.erase(std::remove_if(calls.begin(), calls.end(),
                             [&](absl::Time t) {
                               return t <= now - options_.rate_window;
                             }),
              calls.end());
  if (static_cast<int64_t>(calls.size()) >= options_.rate_limit) {
    const absl::Duration wait = calls.front() + options_.rate_window - now;
    *retry_after_seconds = std::max<int64_t>(
        1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
    return false;
  }
  calls.push_back(now);
  return true;
}

void ScimSimulator::Handle(const httplib::Request& req,
                           httplib::Response& res) {
  if (req.path == "/oauth/token") return HandleToken(req, res);
  if (options_.admin_api && absl::StartsWith(req.path, "/_sim/")) {
    return HandleAdmin(req, res);
  }
  if (!absl::StartsWith(req.path, kApiPrefix)) {
    return Error(res, 404, "no such endpoint");
  }
  std::string path = req.path.substr(strlen(kApiPrefix));
  if (options_.no_me_route && path == "/Me") {
    return Error(res, 404, "no such endpoint");
  }
  const std::string auth = req.get_header_value("Authorization");
  std::string token;
  if (absl::StartsWithIgnoreCase(auth, "Bearer ")) token = auth.substr(7);
  std::string user_id;
  if (token.empty() || !Authenticate(token, &user_id)) {
    res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return Error(res, 401, "the bearer token is missing, unknown or expired");
  }
  requests_.fetch_add(1);
  if (options_.latency > absl::ZeroDuration()) absl::SleepFor(options_.latency);
  int fault = 0;
  {
    absl::MutexLock lock(&mu_);
    if (fault_count_ > 0 && fault_skip_ > 0) {
      --fault_skip_;
    } else if (fault_count_ > 0) {
      --fault_count_;
      fault = fault_status_;
    }
  }
  if (fault != 0) return Error(res, fault, "injected fault");
  int64_t retry_after = 0;
  if (!Charge(token, &retry_after)) {
    res.set_header("Retry-After", absl::StrCat(retry_after));
    return Error(res, 429, "too many requests");
  }
  if (path == "/Me") {
    if (user_id.empty()) {
      return Error(res, 501, "/Me is not available to an API client");
    }
    path = "/Users/" + user_id;
  }
  HandleApi(req, res, path, token);
}

void ScimSimulator::HandleApi(const httplib::Request& req,
                              httplib::Response& res, const std::string& path,
                              const std::string& token) {
  const std::string base = base_url();
  auto write_user = [&](Writer& w,
                        const SimUser& u) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
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
    if (!options_.no_groups_attribute) {
      w.Key("groups");
      w.StartArray();
      for (const auto& [gid, g] : groups_) {
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
  };
  const bool exclude_members =
      absl::StrContains(req.get_param_value("excludedAttributes"), "members");
  auto write_group = [&](Writer& w,
                         const SimGroup& g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    w.StartObject();
    w.Key("schemas");
    w.StartArray();
    w.String(kGroupSchema);
    w.EndArray();
    w.Key("id");
    Str(w, g.id);
    w.Key("displayName");
    Str(w, g.display_name);
    if (!exclude_members) {
      w.Key("members");
      w.StartArray();
      for (const std::string& uid : g.members) {
        auto u = users_.find(uid);
        if (u == users_.end()) continue;
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
  };
  auto reply = [&](const rapidjson::StringBuffer& buffer, int status = 200) {
    res.status = status;
    res.set_content(buffer.GetString(), kScimJson);
  };

  if (path == "/ServiceProviderConfig" && req.method == "GET") {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
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
    w.Int(options_.max_results);
    w.EndObject();
    if (options_.cursor_paging) {
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
      w.Int(options_.max_results);
      w.Key("maxPageSize");
      w.Int(options_.max_results);
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
    return reply(buffer);
  }

  std::vector<std::string> parts = absl::StrSplit(path, '/');
  // parts[0] is "" (the path starts with '/').
  const std::string collection = parts.size() > 1 ? parts[1] : "";
  const std::string id = parts.size() > 2 ? parts[2] : "";
  if ((collection != "Users" && collection != "Groups") || parts.size() > 3 ||
      (parts.size() == 3 && id.empty())) {
    return Error(res, 404, "no such endpoint");
  }

  if (id.empty()) {
    if (req.method != "GET") {
      return Error(res, 501, "creating resources is not served");
    }
    std::vector<Condition> filter;
    if (req.has_param("filter") &&
        !ParseFilter(req.get_param_value("filter"), &filter)) {
      return Error(res, 400, "the filter is not supported", "invalidFilter");
    }
    for (const Condition& c : filter) {
      if (options_.no_groups_attribute && c.attribute == "groups.value") {
        return Error(res, 400, "no such attribute: groups", "invalidFilter");
      }
    }
    // Some providers accept a filter and answer as if none was given
    // (docs/scim.md).
    if (options_.ignore_filter) filter.clear();
    int64_t start_index = 1;
    int64_t count = options_.max_results;
    if (req.has_param("startIndex") &&
        !absl::SimpleAtoi(req.get_param_value("startIndex"), &start_index)) {
      return Error(res, 400, "startIndex is not a number", "invalidValue");
    }
    if (req.has_param("count") &&
        !absl::SimpleAtoi(req.get_param_value("count"), &count)) {
      return Error(res, 400, "count is not a number", "invalidValue");
    }
    start_index = std::max<int64_t>(1, start_index);  // RFC 7644 §3.4.2.4
    // Some providers ignore startIndex (docs/scim.md): every page is the
    // first, said to start where asked when `echo` (the worst case).
    const int64_t asked_start = start_index;
    if (options_.ignore_start_index) start_index = 1;
    count = std::clamp<int64_t>(count, 0, options_.max_results);
    absl::MutexLock lock(&mu_);
    auto in_group = [&](const std::string& uid, const std::string& gid) {
      auto g = groups_.find(gid);
      return g != groups_.end() &&
             std::find(g->second.members.begin(), g->second.members.end(),
                       uid) != g->second.members.end();
    };
    std::vector<const SimUser*> users;
    std::vector<const SimGroup*> groups;
    if (collection == "Users") {
      for (const auto& [uid, u] : users_) {
        bool match = true;
        for (const Condition& c : filter) {
          if (c.attribute == "username" || c.attribute == "emails.value" ||
              c.attribute == "emails") {
            match &= absl::EqualsIgnoreCase(
                c.attribute == "username" ? u.user_name : u.email, c.value);
          } else if (c.attribute == "groups.value") {
            match &= in_group(uid, c.value);
          } else if (c.attribute == "active" && !c.quoted) {
            match &= u.active == (c.value == "true");
          } else if (c.attribute == "id") {
            match &= uid == c.value;
          } else {
            return Error(res, 400, "the filter is not supported",
                         "invalidFilter");
          }
        }
        if (match) users.push_back(&u);
      }
    } else {
      for (const auto& [gid, g] : groups_) {
        bool match = true;
        for (const Condition& c : filter) {
          if (c.attribute == "displayname") {
            match &= g.display_name == c.value;
          } else if (c.attribute == "id") {
            match &= gid == c.value;
          } else {
            return Error(res, 400, "the filter is not supported",
                         "invalidFilter");
          }
        }
        if (match) groups.push_back(&g);
      }
    }
    const int64_t total = collection == "Users"
                              ? static_cast<int64_t>(users.size())
                              : static_cast<int64_t>(groups.size());
    int64_t first = std::min(total, start_index - 1);
    // RFC 9865: a cursor (empty for the first page) names the last resource
    // of the page before; the page goes on after it, in id order, however
    // the collection changed since.
    const bool by_cursor = options_.cursor_paging && req.has_param("cursor");
    if (by_cursor) {
      std::string after;
      if (!absl::WebSafeBase64Unescape(req.get_param_value("cursor"), &after)) {
        return Error(res, 400, "not a cursor of ours", "invalidCursor");
      }
      first = 0;
      while (!after.empty() && first < total &&
             (collection == "Users" ? users[first]->id : groups[first]->id) <=
                 after) {
        ++first;
      }
      ++cursor_requests_;
    }
    const int64_t last = std::min(total, first + count);
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    w.Key("schemas");
    w.StartArray();
    w.String(kListSchema);
    w.EndArray();
    w.Key("totalResults");
    w.Int64(total);
    if (by_cursor) {
      if (last < total && last > first) {
        w.Key("nextCursor");
        w.String(absl::WebSafeBase64Escape(collection == "Users"
                                               ? users[last - 1]->id
                                               : groups[last - 1]->id));
      }
    } else {
      w.Key("startIndex");
      w.Int64(options_.ignore_start_index ? asked_start : start_index);
    }
    w.Key("itemsPerPage");
    w.Int64(last - first);
    w.Key("Resources");
    w.StartArray();
    for (int64_t i = first; i < last; ++i) {
      if (collection == "Users") {
        write_user(w, *users[i]);
      } else {
        write_group(w, *groups[i]);
      }
    }
    w.EndArray();
    w.EndObject();
    return reply(buffer);
  }

  absl::MutexLock lock(&mu_);
  if (collection == "Users") {
    auto it = users_.find(id);
    if (it == users_.end()) {
      return Error(res, 404, absl::StrCat("Resource ", id, " not found"));
    }
    if (req.method == "DELETE") {
      users_.erase(it);
      for (auto& [gid, g] : groups_) {
        auto m = std::find(g.members.begin(), g.members.end(), id);
        if (m != g.members.end()) {
          g.members.erase(m);
          g.modified = absl::Now();
        }
      }
      res.status = 204;
      return;
    }
    if (req.method != "GET") return Error(res, 501, "not served");
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    write_user(w, it->second);
    return reply(buffer);
  }
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    return Error(res, 404, absl::StrCat("Resource ", id, " not found"));
  }
  if (req.method == "PATCH") {
    // RFC 7644 §3.5.2: add members, or remove one by members[value eq "x"].
    rapidjson::Document doc;
    doc.Parse(req.body.c_str(), req.body.size());
    if (doc.HasParseError() || !doc.IsObject() ||
        !doc.HasMember("Operations") || !doc["Operations"].IsArray()) {
      return Error(res, 400, "not a PatchOp", "invalidSyntax");
    }
    SimGroup next = it->second;
    for (const auto& op : doc["Operations"].GetArray()) {
      if (!op.IsObject() || !op.HasMember("op") || !op["op"].IsString()) {
        return Error(res, 400, "an operation without op", "invalidSyntax");
      }
      const std::string kind = absl::AsciiStrToLower(op["op"].GetString());
      const std::string op_path = op.HasMember("path") && op["path"].IsString()
                                      ? op["path"].GetString()
                                      : "";
      if (kind == "add" && op_path == "members" && op.HasMember("value") &&
          op["value"].IsArray()) {
        for (const auto& m : op["value"].GetArray()) {
          if (!m.IsObject() || !m.HasMember("value") ||
              !m["value"].IsString() || !users_.count(m["value"].GetString())) {
            return Error(res, 400, "no such member", "invalidValue");
          }
          const std::string uid = m["value"].GetString();
          if (std::find(next.members.begin(), next.members.end(), uid) ==
              next.members.end()) {
            next.members.push_back(uid);
          }
        }
      } else if (kind == "remove" &&
                 absl::StartsWith(op_path, "members[value eq \"") &&
                 absl::EndsWith(op_path, "\"]")) {
        const std::string uid = op_path.substr(18, op_path.size() - 20);
        auto m = std::find(next.members.begin(), next.members.end(), uid);
        if (m != next.members.end()) next.members.erase(m);
      } else {
        return Error(res, 400, "only member add and remove are served",
                     "invalidPath");
      }
    }
    next.modified = absl::Now();
    it->second = std::move(next);
    res.status = 204;
    return;
  }
  if (req.method != "GET") return Error(res, 501, "not served");
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  write_group(w, it->second);
  return reply(buffer);
}

void ScimSimulator::HandleToken(const httplib::Request& req,
                                httplib::Response& res) {
  auto oauth_error = [&](int status, const char* error) {
    res.status = status;
    res.set_content(absl::StrCat("{\"error\":\"", error, "\"}"),
                    "application/json");
  };
  if (req.method != "POST") return oauth_error(405, "invalid_request");
  // The form body (RFC 6749 §4.4.2), read by httplib's own form parser.
  httplib::Params form;
  httplib::detail::parse_query_text(req.body, form);
  auto field = [&form](const char* name) {
    auto it = form.find(name);
    return it == form.end() ? std::string() : it->second;
  };
  std::string id = field("client_id");
  std::string secret = field("client_secret");
  const std::string auth = req.get_header_value("Authorization");
  if (absl::StartsWithIgnoreCase(auth, "Basic ")) {
    std::string decoded;
    if (absl::Base64Unescape(auth.substr(6), &decoded)) {
      const size_t colon = decoded.find(':');
      if (colon != std::string::npos) {
        id = decoded.substr(0, colon);
        secret = decoded.substr(colon + 1);
      }
    }
  }
  if (field("grant_type") != "client_credentials") {
    return oauth_error(400, "unsupported_grant_type");
  }
  if (id != options_.client_id || secret != options_.client_secret) {
    return oauth_error(401, "invalid_client");
  }
  std::string token;
  {
    absl::MutexLock lock(&mu_);
    token = absl::StrCat("cc-", ++next_token_, "-", RandomHex(16));
    issued_[token] = absl::Now() + options_.token_lifetime;
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(
      absl::StrCat("{\"access_token\":\"", token,
                   "\",\"token_type\":\"Bearer\",\"expires_in\":",
                   absl::ToInt64Seconds(options_.token_lifetime), "}"),
      "application/json");
}

void ScimSimulator::InjectFault(int status, int count, int skip) {
  absl::MutexLock lock(&mu_);
  fault_status_ = status;
  fault_count_ = count;
  fault_skip_ = skip;
}

void ScimSimulator::HandleAdmin(const httplib::Request& req,
                                httplib::Response& res) {
  if (req.path == "/_sim/stats") {
    res.set_content(absl::StrCat("{\"requests\":", requests_.load(), "}"),
                    "application/json");
    return;
  }
  if (req.path == "/_sim/faults" && req.method == "POST") {
    int status = 0, count = 0, skip = 0;
    const std::string skip_text = req.get_param_value("skip");
    if (!absl::SimpleAtoi(req.get_param_value("status"), &status) ||
        !absl::SimpleAtoi(req.get_param_value("count"), &count) ||
        (!skip_text.empty() && !absl::SimpleAtoi(skip_text, &skip)) ||
        status < 400 || status > 599 || count < 0 || skip < 0) {
      res.status = 400;
      return;
    }
    InjectFault(status, count, skip);
    res.set_content("{}", "application/json");
    return;
  }
  absl::MutexLock lock(&mu_);
  if (req.path == "/_sim/expire_tokens" && req.method == "POST") {
    for (auto& [token, expires] : issued_) expires = absl::InfinitePast();
    res.set_content("{}", "application/json");
    return;
  }
  res.status = 404;
}

}  // namespace unified::scim_sim
