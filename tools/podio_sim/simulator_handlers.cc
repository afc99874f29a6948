// Request handling of the simulator: authentication, rate limits, faults, the
// OAuth endpoints, hooks and the admin API. Directory routes are rendered by
// Simulator::Router in simulator.cc.
#include <sys/socket.h>

#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/podio_sim/simulator.h"
#include "tools/podio_sim/simulator_internal.h"

// cpp-httplib writes the status line's reason phrase from its own table,
// which lacks 420 and so wrote "Internal Server Error". The library calls the
// table through its dynamic symbol, so this definition takes its place. 420's
// phrase is Podio's nginx's, unrecorded; "Enhance Your Calm" is the one the
// code is known by (docs/podio.md §1).
namespace httplib::detail {

const char* status_message(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 420:
      return "Enhance Your Calm";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Internal Server Error" : "Unknown";
  }
}

}  // namespace httplib::detail

namespace unified::podio_sim {

using internal::Json;
using internal::kJsonType;
using internal::Params;
using internal::RouteId;

namespace {

void SendJson(httplib::Response& res, int status,
              const rapidjson::StringBuffer& buffer) {
  res.status = status;
  res.set_content(buffer.GetString(), buffer.GetSize(), kJsonType);
}

ApiError RateLimitError(absl::Duration wait) {
  const int64_t seconds = std::max<int64_t>(
      1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))));
  return ApiError{420, "rate_limit",
                  absl::StrCat("You have hit the rate limit. Please wait ",
                               seconds, " seconds before trying again"),
                  std::nullopt};
}

ApiError ExpiredToken() {
  return ApiError{401, "unauthorized", "expired_token", std::nullopt};
}

// X-Podio-Auth-Ref of an authenticated answer ("None" otherwise, as
// recorded on a token call); the real format is unconfirmed.
std::string AuthRef(const Identity& identity) {
  return absl::StrCat(identity.ref_type, ":", identity.ref_id);
}

// Whose token requests one throttle window counts: the API client and the
// principal the grant names (or, for a code exchange, the client alone).
std::string TokenThrottleKey(const Params& form,
                             const std::optional<Identity>& principal) {
  if (principal) return principal->Key();  // It names the client.
  auto it = form.find("client_id");
  return absl::StrCat("client:", it == form.end() ? "" : it->second);
}

void SetExpiredHeader(httplib::Response& res) {
  res.set_header("WWW-Authenticate",
                 "Bearer realm=\"podio\", error=\"expired_token\"");
}

// Replaces the answer's body per a post-processing fault.
void ApplyBodyFault(const FaultRule& rule, httplib::Response& res) {
  std::string body = res.body;
  const std::string type = kJsonType;
  switch (rule.kind) {
    case FaultKind::kMalformedJson:
      res.status = 200;
      res.set_content("{\"error\": <html>" + body.substr(0, body.size() / 2),
                      type);
      return;
    case FaultKind::kInvalidUtf8: {
      res.status = 200;
      const std::string bad = "\xC3\x28\xFF\xFE";
      size_t at = body.find("\"name\":\"");
      if (at == std::string::npos) {
        res.set_content("{\"name\":\"" + bad + "\"}", type);
      } else {
        body.insert(at + 8, bad);
        res.set_content(body, type);
      }
      return;
    }
    case FaultKind::kTruncate: {
      auto shared = std::make_shared<std::string>(body);
      res.body.clear();  // httplib sends a provider only when body is empty.
      res.set_content_provider(
          shared->size(), type,
          [shared](size_t offset, size_t, httplib::DataSink& sink) {
            if (offset == 0) sink.write(shared->data(), shared->size() / 2);
            return false;  // Drop the connection mid-body.
          });
      return;
    }
    case FaultKind::kSlowBody: {
      auto shared = std::make_shared<std::string>(body);
      res.body.clear();
      const absl::Duration delay = rule.chunk_delay;
      res.set_content_provider(
          shared->size(), type,
          [shared, delay](size_t offset, size_t, httplib::DataSink& sink) {
            if (offset > 0) absl::SleepFor(delay);  // Simulated slowness.
            const size_t n = std::min<size_t>(256, shared->size() - offset);
            sink.write(shared->data() + offset, n);
            return true;
          });
      return;
    }
    default:
      return;
  }
}

}  // namespace

void Simulator::Handle(const httplib::Request& req, httplib::Response& res) {
  if (absl::StartsWith(req.path, "/_sim/")) {
    if (options_.admin_api) {
      HandleAdmin(req, res);
    } else {
      internal::SendError(res, req, internal::NotFoundRoute(req));
    }
    return;
  }
  LoggedRequest entry;
  entry.method = req.method;
  entry.path = req.path;
  entry.query = internal::RawQuery(req);
  entry.sim_time = clock_.Now();
  entry.real_time = absl::Now();
  entry.user_agent = req.get_header_value("User-Agent");
  // Headers of every answer (docs/podio.md §1).
  res.set_header("X-Podio-Request-Id", internal::RandomRequestId());
  res.set_header("Date", internal::HttpDate(entry.sim_time));
  res.set_header("Server", "nginx");
  res.set_header("X-Podio-Auth-Ref", "None");

  const FaultInjector::Applied faults = faults_.Match(req.method, req.path);
  if (faults.latency) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    absl::Duration delay = faults.latency->latency;
    const int64_t jitter_us = absl::ToInt64Microseconds(faults.latency->jitter);
    if (jitter_us > 0) {
      delay += absl::Microseconds(static_cast<int64_t>(rng() % jitter_us));
    }
    absl::SleepFor(delay);  // Simulated upstream latency.
  }

  // Rate headers go on answers to a known principal only: an unauthenticated
  // 400 or 401 carries none (R-401a), and no answer reports a refill.
  std::optional<RateLimiter::Decision> decision;
  auto finish = [&] {
    if (decision) {
      res.set_header("X-Rate-Limit-Limit", absl::StrCat(decision->limit));
      res.set_header("X-Rate-Limit-Remaining",
                     absl::StrCat(decision->remaining));
    }
    internal::MaybeGzip(req, res);
    entry.status = res.status;
    log_.Add(entry);
  };
  auto fail = [&](const ApiError& e) {
    internal::SendError(res, req, e);
    if (e.http_status == 401 && e.description == "expired_token") {
      SetExpiredHeader(res);
    }
    finish();
  };

  // Authentication: "Authorization: OAuth2 <token>" (or Bearer).
  const absl::Time now = clock_.Now();
  auto authenticate = [&]() -> std::variant<Identity, ApiError> {
    if (!req.has_header("Authorization")) {
      return ApiError{401, "unauthorized", "invalid_request", std::nullopt};
    }
    const std::string header = req.get_header_value("Authorization");
    const size_t space = header.find(' ');
    const std::string scheme = header.substr(0, space);
    const std::string token =
        space == std::string::npos
            ? ""
            : std::string(absl::StripAsciiWhitespace(header.substr(space + 1)));
    entry.authorization_scheme = scheme;
    // OAuth2 is the documented scheme; production clients send Bearer, which
    // Podio's own 401 advertises (WWW-Authenticate: Bearer realm="podio").
    if ((scheme != "OAuth2" && scheme != "Bearer") || token.empty()) {
      return ApiError{400, "Invalid authorization header",
                      "Invalid authorization header", std::nullopt};
    }
    std::optional<Identity> identity = oauth_->Authenticate(token, now);
    if (!identity) return ExpiredToken();
    entry.identity = identity->Key();
    res.set_header("X-Podio-Auth-Ref", AuthRef(*identity));
    return *identity;
  };

  Params params;
  const internal::Route* route =
      internal::FindRoute(req.method, req.path, &params);
  if (route == nullptr) {
    // Not counted; a known caller sees its budget as it stands.
    std::variant<Identity, ApiError> who = authenticate();
    if (auto* identity = std::get_if<Identity>(&who)) {
      decision = rate_.Peek(identity->Key(), now);
    }
    return fail(internal::NotFoundRoute(req));
  }
  if (route->id == RouteId::kAuthorize) {
    HandleAuthorize(req, res);
    return finish();
  }
  auto reset_connection = [&] {
    const int fd = internal::FindConnectionSocket(port_, req.remote_port);
    if (fd >= 0) {
      linger hard{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
      shutdown(fd, SHUT_RDWR);
    }
    res.status = 500;
  };
  if (route->id == RouteId::kToken || route->id == RouteId::kTokenV2) {
    Params form;
    if (std::optional<ApiError> e =
            TokenParams(req, route->id == RouteId::kTokenV2, &form)) {
      return fail(*e);
    }
    // The answer reports the API budget of the principal the grant names
    // (the recorded 420 shows it), else the full limit: nobody was charged.
    const std::optional<Identity> principal = oauth_->PrincipalOf(form);
    decision = principal ? rate_.Peek(principal->Key(), now)
                         : RateLimiter::Decision{true, options_.rate.limit,
                                                 options_.rate.limit};
    const RateLimiter::Decision throttle =
        rate_.ChargeToken(TokenThrottleKey(form, principal), now);
    if (!throttle.allowed) return fail(RateLimitError(throttle.wait));
    // Faults apply to the token endpoint too. Status and 420 faults refuse
    // the request; a reset or body fault hits the answer after the grant was
    // issued, i.e. a lost token response.
    if (faults.fault) {
      entry.fault = FaultKindName(faults.fault->kind);
      if (faults.fault->kind == FaultKind::kStatus) {
        return fail(ApiError{
            faults.fault->status,
            faults.fault->status >= 500 ? "server_error" : "bad_request",
            "Injected failure", std::nullopt});
      }
      if (faults.fault->kind == FaultKind::kRateLimit) {
        return fail(RateLimitError(faults.fault->wait));
      }
    }
    HandleToken(req, res, form);
    if (faults.fault && faults.fault->kind == FaultKind::kReset) {
      reset_connection();
    } else if (faults.fault) {
      ApplyBodyFault(*faults.fault, res);
    }
    return finish();
  }

  std::variant<Identity, ApiError> who = authenticate();
  if (auto* e = std::get_if<ApiError>(&who)) return fail(*e);
  const Identity* identity = &std::get<Identity>(who);

  const bool restricted = options_.restricted_routes.count(absl::StrCat(
                              route->method, " ", route->pattern)) > 0;
  decision = rate_.Charge(identity->Key(), restricted, now);
  if (!decision->allowed) return fail(RateLimitError(decision->wait));

  if (faults.fault) {
    const FaultRule& rule = *faults.fault;
    entry.fault = FaultKindName(rule.kind);
    switch (rule.kind) {
      case FaultKind::kStatus:
        return fail(ApiError{
            rule.status, rule.status >= 500 ? "server_error" : "bad_request",
            "Injected failure", std::nullopt});
      case FaultKind::kRateLimit:
        return fail(RateLimitError(rule.wait));
      case FaultKind::kUnauthorized:
        return fail(ExpiredToken());
      case FaultKind::kReset:
        reset_connection();
        return finish();
      default:
        break;  // Body faults apply after the answer is built.
    }
  }

  internal::Call call{req, res, params, *identity, now};
  rapidjson::StringBuffer buffer;
  Json writer(buffer);
  std::optional<ApiError> error;
  if (route->id == RouteId::kScope) {
    writer.StartArray();
    writer.StartObject();
    writer.Key("ref_type");
    if (identity->ref_type == "app") {
      writer.String("app");
      writer.Key("ref_id");
      writer.Int64(identity->ref_id);
    } else {
      writer.Null();
      writer.Key("ref_id");
      writer.Null();
    }
    writer.Key("permissions");
    writer.StartArray();
    for (const char* p : {"read", "write", "delete", "all"}) writer.String(p);
    writer.EndArray();
    writer.Key("ref_data");
    writer.StartObject();
    writer.EndObject();
    writer.EndObject();
    writer.EndArray();
  } else if (internal::IsHookRoute(route->id)) {
    error = HandleHooks(static_cast<int>(route->id), req, res, params,
                        identity->ref_type == "user" ? identity->ref_id : 0);
  } else {
    std::string body;
    error = RunDirectoryRoute(static_cast<int>(route->id), call, &body);
    if (!error && res.status != 204) res.set_content(body, kJsonType);
  }
  if (error) return fail(*error);
  if (res.status <= 0) res.status = 200;
  if (route->id == RouteId::kScope) {
    res.set_content(buffer.GetString(), buffer.GetSize(), kJsonType);
  }
  if (faults.fault) ApplyBodyFault(*faults.fault, res);
  finish();
}

void Simulator::HandleAuthorize(const httplib::Request& req,
                                httplib::Response& res) {
  const std::string client_id = internal::QueryValue(req, "client_id");
  const std::string redirect_uri = internal::QueryValue(req, "redirect_uri");
  const std::string state = internal::QueryValue(req, "state");
  if (std::optional<ApiError> e =
          oauth_->CheckAuthorize(client_id, redirect_uri)) {
    return internal::SendError(res, req, *e);
  }
  const std::string response_type =
      internal::QueryValue(req, "response_type", "code");
  if (response_type != "code") {
    return internal::SendError(
        res, req,
        ApiError{400, "unsupported_response_type",
                 "The simulator supports the server-side flow only",
                 std::nullopt});
  }
  int64_t user = 0;
  {
    absl::MutexLock lock(&consent_mu_);
    user = consent_user_;
  }
  std::string location = redirect_uri;
  location += redirect_uri.find('?') == std::string::npos ? "?" : "&";
  if (user == 0) {
    location +=
        "error_reason=user_denied&error=access_denied&error_description="
        "The+user+denied+your+request.";
  } else {
    location += "code=" +
                oauth_->IssueCode(client_id, redirect_uri, user, clock_.Now());
  }
  if (!state.empty()) {
    location += "&state=" + httplib::detail::encode_query_param(state);
  }
  res.status = 302;
  res.set_header("Location", location);
}

std::optional<ApiError> Simulator::TokenParams(const httplib::Request& req,
                                               bool json_body, Params* params) {
  if (!json_body) {
    *params = internal::ParseForm(req.body);
    return std::nullopt;
  }
  rapidjson::Document doc;
  if (doc.Parse(req.body.c_str(), req.body.size()).HasParseError() ||
      !doc.IsObject()) {
    return ApiError{400, "invalid_request", "Body must be a JSON object",
                    std::nullopt};
  }
  for (const auto& member : doc.GetObject()) {
    (*params)[member.name.GetString()] = internal::Str(member.value);
  }
  return std::nullopt;
}

void Simulator::HandleToken(const httplib::Request& req, httplib::Response& res,
                            const Params& params) {
  auto result = oauth_->Token(params, clock_.Now());
  if (auto* e = std::get_if<ApiError>(&result)) {
    return internal::SendError(res, req, *e);
  }
  const TokenResponse& t = std::get<TokenResponse>(result);
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  w.StartObject();
  if (!t.server_nonce.empty()) {
    w.Key("server_nonce");
    w.String(t.server_nonce);
    w.EndObject();
    return SendJson(res, 200, buffer);
  }
  w.Key("access_token");
  w.String(t.access_token);
  w.Key("token_type");
  w.String("bearer");
  w.Key("expires_in");
  w.Int64(t.expires_in);
  w.Key("refresh_token");
  w.String(t.refresh_token);
  w.Key("scope");
  w.String(t.scope);
  w.Key("ref");
  w.StartObject();
  w.Key("type");
  w.String(t.identity.ref_type);
  w.Key("id");
  w.Int64(t.identity.ref_id);
  w.EndObject();
  w.EndObject();
  SendJson(res, 200, buffer);
}

std::optional<ApiError> Simulator::HandleHooks(int route_int,
                                               const httplib::Request& req,
                                               httplib::Response& res,
                                               const Params& params,
                                               int64_t user) {
  const auto route = static_cast<RouteId>(route_int);
  if (user == 0) {
    return ApiError{403, "forbidden", "This operation is not available to apps",
                    std::nullopt};
  }
  // Which space the hook or its target lives on, and may the caller manage it?
  auto may_manage = [&](int64_t space_id,
                        bool write) -> std::optional<ApiError> {
    absl::ReaderMutexLock lock(&dir_mu_);
    const SimSpace* s = directory_.FindSpace(space_id);
    if (s == nullptr) return internal::ObjectNotFound();
    const SpaceMembership* m = directory_.ActiveSpaceMembership(space_id, user);
    const bool admin =
        (m && m->role == "admin") || directory_.IsOrgAdmin(s->org_id, user);
    if (write ? !admin : (m == nullptr && !admin)) {
      return ApiError{403, "forbidden",
                      "You may not manage hooks on this space", std::nullopt};
    }
    return std::nullopt;
  };
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  if (route == RouteId::kCreateHook || route == RouteId::kListHooks) {
    const std::string ref_type = params.at("ref_type");
    int64_t ref_id = 0;
    (void)absl::SimpleAtoi(params.at("ref_id"), &ref_id);
    if (ref_type != "space") {
      return ApiError{400, "invalid_value",
                      "The simulator supports hooks on spaces only",
                      std::nullopt};
    }
    if (auto e = may_manage(ref_id, route == RouteId::kCreateHook)) return e;
    if (route == RouteId::kListHooks) {
      w.StartArray();
      for (const Hook& hook : hooks_.List(ref_type, ref_id)) {
        w.StartObject();
        w.Key("hook_id");
        w.Int64(hook.hook_id);
        w.Key("status");
        w.String(hook.status);
        w.Key("type");
        w.String(hook.type);
        w.Key("url");
        w.String(hook.url);
        w.Key("created_on");
        w.String(PodioDateTime(hook.created_on));
        w.Key("created_by");
        w.StartObject();
        w.Key("type");
        w.String("user");
        w.Key("id");
        w.Int64(hook.created_by);
        w.EndObject();
        w.Key("created_via");
        w.StartObject();
        w.Key("id");
        w.Int(1);
        w.Key("name");
        w.String(options_.oauth.client_id);
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
      SendJson(res, 200, buffer);
      return std::nullopt;
    }
    rapidjson::Document body;
    if (body.Parse(req.body.c_str(), req.body.size()).HasParseError() ||
        !body.IsObject() || !body.HasMember("url") || !body["url"].IsString() ||
        !body.HasMember("type") || !body["type"].IsString()) {
      return ApiError{400, "invalid_value",
                      "Body must be an object with url and type", std::nullopt};
    }
    static const std::set<std::string> kSpaceEvents = {
        "member.add",  "member.remove", "role.change",   "task.create",
        "task.update", "task.delete",   "status.create", "app.create"};
    const std::string type = body["type"].GetString();
    if (!kSpaceEvents.count(type)) {
      return ApiError{400, "invalid_value",
                      absl::StrCat("Invalid hook type ", type), std::nullopt};
    }
    HookRegistry::CreateResult created = hooks_.Create(
        ref_type, ref_id, body["url"].GetString(), type, user, clock_.Now());
    if (!created.error.empty()) {
      return ApiError{400, created.error, created.description, std::nullopt};
    }
    w.StartObject();
    w.Key("hook_id");
    w.Int64(created.hook_id);
    w.EndObject();
    SendJson(res, 200, buffer);
    return std::nullopt;
  }
  int64_t hook_id = 0;
  (void)absl::SimpleAtoi(params.at("hook_id"), &hook_id);
  std::optional<Hook> hook = hooks_.Get(hook_id);
  if (!hook) return internal::ObjectNotFound();
  if (auto e = may_manage(hook->ref_id, true)) return e;
  if (route == RouteId::kDeleteHook) {
    hooks_.Delete(hook_id);
  } else if (route == RouteId::kRequestHookVerify) {
    hooks_.RequestVerify(hook_id);
  } else {
    rapidjson::Document body;
    if (body.Parse(req.body.c_str(), req.body.size()).HasParseError() ||
        !body.IsObject() || !body.HasMember("code") ||
        !body["code"].IsString()) {
      return ApiError{400, "invalid_value", "Body must hold the code",
                      std::nullopt};
    }
    if (!hooks_.Validate(hook_id, body["code"].GetString())) {
      return ApiError{400, "invalid_value", "Invalid verification code",
                      std::nullopt};
    }
  }
  res.status = 204;
  return std::nullopt;
}

void Simulator::HandleAdmin(const httplib::Request& req,
                            httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  const std::string& path = req.path;
  auto bad = [&](const std::string& why) {
    internal::SendError(res, req,
                        ApiError{400, "invalid_value", why, std::nullopt});
  };
  if (path == "/_sim/clock" && req.method == "GET") {
    // Falls through to the clock answer below.
  } else if (path == "/_sim/clock/advance" && req.method == "POST") {
    int64_t seconds = 0;
    if (!absl::SimpleAtoi(internal::QueryValue(req, "seconds"), &seconds) ||
        seconds < 0) {
      return bad("seconds must be a non-negative integer");
    }
    clock_.Advance(absl::Seconds(seconds));
  } else if (path == "/_sim/requests" && req.method == "GET") {
    int64_t since = 0;
    (void)absl::SimpleAtoi(internal::QueryValue(req, "since", "0"), &since);
    w.StartObject();
    w.Key("next");
    w.Int64(log_.next_seq());
    w.Key("requests");
    w.StartArray();
    for (const LoggedRequest& r : log_.Since(since)) {
      w.StartObject();
      w.Key("seq");
      w.Int64(r.seq);
      w.Key("method");
      w.String(r.method);
      w.Key("path");
      w.String(r.path);
      w.Key("query");
      w.String(r.query);
      w.Key("identity");
      w.String(r.identity);
      w.Key("authorization_scheme");
      w.String(r.authorization_scheme);
      w.Key("user_agent");
      w.String(r.user_agent);
      w.Key("sim_time");
      w.String(PodioDateTime(r.sim_time));
      w.Key("sim_unix");
      w.Int64(absl::ToUnixSeconds(r.sim_time));
      w.Key("real_unix_micros");
      w.Int64(absl::ToUnixMicros(r.real_time));
      w.Key("status");
      w.Int(r.status);
      w.Key("fault");
      w.String(r.fault);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return SendJson(res, 200, buffer);
  } else if (path == "/_sim/requests" && req.method == "DELETE") {
    log_.Clear();
    res.status = 204;
    return;
  } else if (path == "/_sim/faults") {
    if (req.method == "DELETE") {
      faults_.Clear();
      res.status = 204;
      return;
    }
    if (req.method == "POST") {
      const std::string body(absl::StripAsciiWhitespace(req.body));
      std::vector<FaultRule> rules;
      if (absl::StartsWith(body, "[")) {
        absl::StatusOr<std::vector<FaultRule>> parsed = ParseFaultRules(body);
        if (!parsed.ok()) return bad(std::string(parsed.status().message()));
        rules = *parsed;
      } else {
        absl::StatusOr<FaultRule> parsed = ParseFaultRule(body);
        if (!parsed.ok()) return bad(std::string(parsed.status().message()));
        rules.push_back(*parsed);
      }
      w.StartObject();
      w.Key("ids");
      w.StartArray();
      for (FaultRule& rule : rules) w.Int64(faults_.Add(rule));
      w.EndArray();
      w.EndObject();
      return SendJson(res, 200, buffer);
    }
    w.StartArray();
    for (const FaultRule& rule : faults_.List()) {
      w.StartObject();
      w.Key("id");
      w.Int64(rule.id);
      w.Key("method");
      w.String(rule.method);
      w.Key("path");
      w.String(rule.path);
      w.Key("kind");
      w.String(FaultKindName(rule.kind));
      w.Key("seen");
      w.Int64(rule.seen);
      w.EndObject();
    }
    w.EndArray();
    return SendJson(res, 200, buffer);
  } else if (path == "/_sim/consent" && req.method == "POST") {
    int64_t user = 0;
    if (!internal::QueryBool(req, "deny", false) &&
        !absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user)) {
      return bad("give user_id=N or deny=1");
    }
    absl::MutexLock lock(&consent_mu_);
    consent_user_ = user;
    res.status = 204;
    return;
  } else if (path == "/_sim/hooks" && req.method == "GET") {
    w.StartArray();
    for (const Hook& hook : hooks_.ListAll()) {
      w.StartObject();
      w.Key("hook_id");
      w.Int64(hook.hook_id);
      w.Key("ref_type");
      w.String(hook.ref_type);
      w.Key("ref_id");
      w.Int64(hook.ref_id);
      w.Key("type");
      w.String(hook.type);
      w.Key("url");
      w.String(hook.url);
      w.Key("status");
      w.String(hook.status);
      w.Key("delivered");
      w.Int64(hook.delivered);
      w.Key("failed");
      w.Int64(hook.failed);
      w.EndObject();
    }
    w.EndArray();
    return SendJson(res, 200, buffer);
  } else if (path == "/_sim/hooks/drop" && req.method == "POST") {
    hooks_.SetDropEvents(internal::QueryBool(req, "on", true));
    w.StartObject();
    w.Key("dropped");
    w.Int64(hooks_.dropped());
    w.EndObject();
    return SendJson(res, 200, buffer);
  } else if (path == "/_sim/hooks/deactivate" && req.method == "POST") {
    int64_t hook_id = 0;
    if (!absl::SimpleAtoi(internal::QueryValue(req, "hook_id"), &hook_id) ||
        !hooks_.Deactivate(hook_id)) {
      return bad("give the hook_id of an existing hook");
    }
    res.status = 204;
    return;
  } else if (path == "/_sim/hooks/wait" && req.method == "POST") {
    w.StartObject();
    w.Key("idle");
    w.Bool(hooks_.WaitIdle(absl::Seconds(10)));
    w.EndObject();
    return SendJson(res, 200, buffer);
  } else if ((path == "/_sim/invitations" ||
              path == "/_sim/invitations/accept") &&
             req.method == "POST") {
    // What a person does outside the API: be invited to an organization
    // (a pending membership, as an administrator's invitation by mail
    // makes), or accept the invitation.
    int64_t org_id = 0, user_id = 0;
    if (!absl::SimpleAtoi(internal::QueryValue(req, "org_id"), &org_id) ||
        !absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user_id)) {
      return bad("give org_id=N&user_id=M");
    }
    absl::WriterMutexLock lock(&dir_mu_);
    SimOrg* org = directory_.FindOrg(org_id);
    auto index = directory_.user_index.find(user_id);
    if (org == nullptr || index == directory_.user_index.end()) {
      return internal::SendError(res, req, internal::ObjectNotFound());
    }
    SimUser& user = directory_.users[index->second];
    auto it = org->members.find(user_id);
    if (path == "/_sim/invitations") {
      if (it != org->members.end()) return bad("already a member or invited");
      OrgMembership m;
      m.user_id = user_id;
      m.employee = false;
      m.invited = true;
      org->members[user_id] = m;
      directory_.InsertSorted(org->member_order, user_id);
    } else {
      if (it == org->members.end() || !it->second.invited) {
        return bad("no pending invitation");
      }
      it->second.invited = false;
      user.status = "active";
    }
    res.status = 204;
    return;
  } else if (path == "/_sim/hide" && req.method == "POST") {
    // A listing that misses a row it should hold (a replica's lag, say):
    // the user is left out of the next `times` directory listings that
    // would show them.
    int64_t user_id = 0;
    int times = 0;
    if (!absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user_id) ||
        !absl::SimpleAtoi(internal::QueryValue(req, "times"), &times) ||
        times < 0) {
      return bad("give user_id=N&times=M");
    }
    HideFromNextListings(user_id, times);
    res.status = 204;
    return;
  } else if (path == "/_sim/principals" && req.method == "GET") {
    absl::ReaderMutexLock lock(&dir_mu_);
    const SimUser& admin = directory_.users[kAdminUserIndex];
    const SimUser& regular = directory_.users[kRegularUserIndex];
    w.StartObject();
    w.Key("client_id");
    w.String(options_.oauth.client_id);
    w.Key("client_secret");
    w.String(options_.oauth.client_secret);
    w.Key("admin");
    w.StartObject();
    w.Key("user_id");
    w.Int64(admin.user_id);
    w.Key("username");
    w.String(admin.mail);
    w.Key("password");
    w.String(options_.admin_password);
    w.EndObject();
    w.Key("regular");
    w.StartObject();
    w.Key("user_id");
    w.Int64(regular.user_id);
    w.Key("username");
    w.String(regular.mail);
    w.Key("password");
    w.String(options_.regular_password);
    w.EndObject();
    w.Key("app");
    w.StartObject();
    w.Key("app_id");
    w.Int64(options_.app_id);
    w.Key("app_token");
    w.String(options_.app_token);
    w.EndObject();
    w.EndObject();
    return SendJson(res, 200, buffer);
  } else {
    return internal::SendError(res, req, internal::NotFoundRoute(req));
  }
  const absl::Time now = clock_.Now();
  w.StartObject();
  w.Key("now");
  w.String(PodioDateTime(now));
  w.Key("unix");
  w.Int64(absl::ToUnixSeconds(now));
  w.EndObject();
  SendJson(res, 200, buffer);
}

}  // namespace unified::podio_sim
