// Request handling of the simulator: each API request's way through
// authentication, rate limits and faults (Simulator::Exchange). The OAuth
// endpoints are in token_routes.cc, the hook routes in hook_routes.cc, the
// directory routes in read_routes.cc and write_routes.cc, the /_sim/ routes
// in admin_routes.cc.
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

namespace {

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

// GET /oauth/scope: what the token may do (the app's ref for an app).
std::string ScopeAnswer(const Identity& identity) {
  rapidjson::StringBuffer buffer;
  Json writer(buffer);
  writer.StartArray();
  writer.StartObject();
  writer.Key("ref_type");
  if (identity.ref_type == "app") {
    writer.String("app");
    writer.Key("ref_id");
    writer.Int64(identity.ref_id);
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
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

// One API request on its way through the simulator: logged, delayed and
// faulted as the fault rules say, authenticated, charged to its principal's
// rate budget, and answered with Podio's headers.
class Simulator::Exchange {
 public:
  Exchange(Simulator* sim, const httplib::Request& req, httplib::Response& res)
      : sim_(sim),
        req_(req),
        res_(res),
        now_(sim->clock_.Now()),
        faults_(sim->faults_.Match(req.method, req.path)) {
    entry_.method = req.method;
    entry_.path = req.path;
    entry_.query = internal::RawQuery(req);
    entry_.sim_time = now_;
    entry_.real_time = absl::Now();
    entry_.user_agent = req.get_header_value("User-Agent");
    // Headers of every answer (docs/podio.md §1).
    res.set_header("X-Podio-Request-Id", internal::RandomRequestId());
    res.set_header("Date", internal::HttpDate(entry_.sim_time));
    res.set_header("Server", "nginx");
    res.set_header("X-Podio-Auth-Ref", "None");
  }

  void Run();

 private:
  void Delay();
  void Finish();
  void Fail(const ApiError& e);
  std::variant<Identity, ApiError> Authenticate();
  void ResetConnection();
  void Token(const internal::Route& route);
  void Api(const internal::Route& route, const Params& params);
  // An injected fault that refuses the call: true when it answered.
  bool RefusedByFault();

  Simulator* const sim_;
  const httplib::Request& req_;
  httplib::Response& res_;
  const absl::Time now_;
  const FaultInjector::Applied faults_;
  LoggedRequest entry_;
  // Rate headers go on answers to a known principal only: an
  // unauthenticated 400 or 401 carries none (R-401a), and no answer reports
  // a refill.
  std::optional<RateLimiter::Decision> decision_;
};

void Simulator::Exchange::Run() {
  Delay();
  Params params;
  const internal::Route* route =
      internal::FindRoute(req_.method, req_.path, &params);
  if (route == nullptr) {
    // Not counted; a known caller sees its budget as it stands.
    std::variant<Identity, ApiError> who = Authenticate();
    if (auto* identity = std::get_if<Identity>(&who)) {
      decision_ = sim_->rate_.Peek(identity->Key(), now_);
    }
    return Fail(internal::NotFoundRoute(req_));
  }
  if (route->id == RouteId::kAuthorize) {
    sim_->HandleAuthorize(req_, res_);
    return Finish();
  }
  if (route->id == RouteId::kToken || route->id == RouteId::kTokenV2) {
    return Token(*route);
  }
  Api(*route, params);
}

void Simulator::Exchange::Delay() {
  if (!faults_.latency) return;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  absl::Duration delay = faults_.latency->latency;
  const int64_t jitter_us = absl::ToInt64Microseconds(faults_.latency->jitter);
  if (jitter_us > 0) {
    delay += absl::Microseconds(static_cast<int64_t>(rng() % jitter_us));
  }
  absl::SleepFor(delay);  // Simulated upstream latency.
}

void Simulator::Exchange::Finish() {
  if (decision_) {
    res_.set_header("X-Rate-Limit-Limit", absl::StrCat(decision_->limit));
    res_.set_header("X-Rate-Limit-Remaining",
                    absl::StrCat(decision_->remaining));
  }
  internal::MaybeGzip(req_, res_);
  entry_.status = res_.status;
  sim_->log_.Add(entry_);
}

void Simulator::Exchange::Fail(const ApiError& e) {
  internal::SendError(res_, req_, e);
  if (e.http_status == 401 && e.description == "expired_token") {
    SetExpiredHeader(res_);
  }
  Finish();
}

// "Authorization: OAuth2 <token>" (or Bearer).
std::variant<Identity, ApiError> Simulator::Exchange::Authenticate() {
  if (!req_.has_header("Authorization")) {
    return ApiError{401, "unauthorized", "invalid_request", std::nullopt};
  }
  const std::string header = req_.get_header_value("Authorization");
  const size_t space = header.find(' ');
  const std::string scheme = header.substr(0, space);
  const std::string token =
      space == std::string::npos
          ? ""
          : std::string(absl::StripAsciiWhitespace(header.substr(space + 1)));
  entry_.authorization_scheme = scheme;
  // OAuth2 is the documented scheme; production clients send Bearer, which
  // Podio's own 401 advertises (WWW-Authenticate: Bearer realm="podio").
  if ((scheme != "OAuth2" && scheme != "Bearer") || token.empty()) {
    return ApiError{400, "Invalid authorization header",
                    "Invalid authorization header", std::nullopt};
  }
  std::optional<Identity> identity = sim_->oauth_->Authenticate(token, now_);
  if (!identity) return ExpiredToken();
  entry_.identity = identity->Key();
  res_.set_header("X-Podio-Auth-Ref", AuthRef(*identity));
  return *identity;
}

void Simulator::Exchange::ResetConnection() {
  const int fd = internal::FindConnectionSocket(sim_->port_, req_.remote_port);
  if (fd >= 0) {
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    shutdown(fd, SHUT_RDWR);
  }
  res_.status = 500;
}

void Simulator::Exchange::Token(const internal::Route& route) {
  Params form;
  if (std::optional<ApiError> e =
          TokenParams(req_, route.id == RouteId::kTokenV2, &form)) {
    return Fail(*e);
  }
  // The answer reports the API budget of the principal the grant names
  // (the recorded 420 shows it), else the full limit: nobody was charged.
  const std::optional<Identity> principal = sim_->oauth_->PrincipalOf(form);
  const int64_t limit = sim_->options_.rate.limit;
  decision_ = principal ? sim_->rate_.Peek(principal->Key(), now_)
                        : RateLimiter::Decision{true, limit, limit};
  const RateLimiter::Decision throttle =
      sim_->rate_.ChargeToken(TokenThrottleKey(form, principal), now_);
  if (!throttle.allowed) return Fail(RateLimitError(throttle.wait));
  // Faults apply to the token endpoint too. Status and 420 faults refuse
  // the request; a reset or body fault hits the answer after the grant was
  // issued, i.e. a lost token response.
  if (faults_.fault) {
    entry_.fault = FaultKindName(faults_.fault->kind);
    if (faults_.fault->kind == FaultKind::kStatus ||
        faults_.fault->kind == FaultKind::kRateLimit) {
      RefusedByFault();
      return;
    }
  }
  sim_->HandleToken(req_, res_, form);
  if (faults_.fault && faults_.fault->kind == FaultKind::kReset) {
    ResetConnection();
  } else if (faults_.fault) {
    ApplyBodyFault(*faults_.fault, res_);
  }
  Finish();
}

bool Simulator::Exchange::RefusedByFault() {
  const FaultRule& rule = *faults_.fault;
  switch (rule.kind) {
    case FaultKind::kStatus:
      Fail(ApiError{rule.status,
                    rule.status >= 500 ? "server_error" : "bad_request",
                    "Injected failure", std::nullopt});
      return true;
    case FaultKind::kRateLimit:
      Fail(RateLimitError(rule.wait));
      return true;
    case FaultKind::kUnauthorized:
      Fail(ExpiredToken());
      return true;
    case FaultKind::kReset:
      ResetConnection();
      Finish();
      return true;
    default:
      return false;  // Body faults apply after the answer is built.
  }
}

void Simulator::Exchange::Api(const internal::Route& route,
                              const Params& params) {
  std::variant<Identity, ApiError> who = Authenticate();
  if (auto* e = std::get_if<ApiError>(&who)) return Fail(*e);
  const Identity& identity = std::get<Identity>(who);
  const bool restricted = sim_->options_.restricted_routes.count(absl::StrCat(
                              route.method, " ", route.pattern)) > 0;
  decision_ = sim_->rate_.Charge(identity.Key(), restricted, now_);
  if (!decision_->allowed) return Fail(RateLimitError(decision_->wait));
  if (faults_.fault) {
    entry_.fault = FaultKindName(faults_.fault->kind);
    if (RefusedByFault()) return;
  }
  std::optional<ApiError> error;
  if (route.id == RouteId::kScope) {
    res_.set_content(ScopeAnswer(identity), kJsonType);
  } else if (internal::IsHookRoute(route.id)) {
    error =
        sim_->HandleHooks(static_cast<int>(route.id), req_, res_, params,
                          identity.ref_type == "user" ? identity.ref_id : 0);
  } else {
    internal::Call call{req_, res_, params, identity, now_};
    std::string body;
    error = sim_->RunDirectoryRoute(static_cast<int>(route.id), call, &body);
    if (!error && res_.status != 204) res_.set_content(body, kJsonType);
  }
  if (error) return Fail(*error);
  if (res_.status <= 0) res_.status = 200;
  if (faults_.fault) ApplyBodyFault(*faults_.fault, res_);
  Finish();
}

void Simulator::Handle(const httplib::Request& req, httplib::Response& res) {
  if (absl::StartsWith(req.path, "/_sim/")) {
    if (options_.admin_api) {
      HandleAdmin(req, res);
    } else {
      internal::SendError(res, req, internal::NotFoundRoute(req));
    }
    return;
  }
  Exchange(this, req, res).Run();
}

}  // namespace unified::podio_sim
