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
#include "tools/scim_sim/scim_json.h"
#include "tools/testing/sim_http_server.h"

namespace unified::scim_sim {
namespace {

std::string RandomHex(int bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  return absl::BytesToHexString(raw);
}

}  // namespace

ScimSimulator::ScimSimulator(ScimSimOptions options)
    : options_(std::move(options)) {}

ScimSimulator::~ScimSimulator() {
  http_.reset();  // Stops serving before what the handlers use goes.
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
  ScimSimulator* self = sim.get();
  testing::SimHttpServerOptions http;
  http.host = sim->options_.host;
  http.port = sim->options_.port;
  absl::StatusOr<std::unique_ptr<testing::SimHttpServer>> server =
      testing::SimHttpServer::Start(
          http,
          [self](const httplib::Request& req, httplib::Response& res) {
            self->Handle(req, res);
          },
          [](const httplib::Request&, httplib::Response& res) {
            Error(res, res.status, "malformed request", "invalidSyntax");
          });
  if (!server.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "the SCIM simulator cannot listen: ", server.status().message()));
  }
  sim->http_ = std::move(*server);
  sim->port_ = sim->http_->port();
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
  HandleApi(req, res, path);
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
