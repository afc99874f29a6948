// The simulator's control routes (/_sim/...: clock, request log, faults,
// consent, hooks, invitations, hidden rows, principals; documented in
// tools/podio_sim/README.md), one handler each, found in one table.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"
#include "tools/podio_sim/simulator.h"
#include "tools/podio_sim/simulator_internal.h"

namespace unified::podio_sim {

class Simulator::Admin {
 public:
  explicit Admin(Simulator* sim) : sim_(sim) {}

  void Handle(const httplib::Request& req, httplib::Response& res) {
    using Handler =
        void (Admin::*)(const httplib::Request&, httplib::Response&);
    struct Route {
      const char* method;  // "" = any.
      const char* path;
      Handler handler;
    };
    static const Route kRoutes[] = {
        {"GET", "/_sim/clock", &Admin::Clock},
        {"POST", "/_sim/clock/advance", &Admin::AdvanceClock},
        {"GET", "/_sim/requests", &Admin::Requests},
        {"DELETE", "/_sim/requests", &Admin::ClearRequests},
        {"", "/_sim/faults", &Admin::Faults},
        {"POST", "/_sim/consent", &Admin::Consent},
        {"GET", "/_sim/hooks", &Admin::Hooks},
        {"POST", "/_sim/hooks/drop", &Admin::DropHookEvents},
        {"POST", "/_sim/hooks/deactivate", &Admin::DeactivateHook},
        {"POST", "/_sim/hooks/wait", &Admin::WaitForHooks},
        {"POST", "/_sim/invitations", &Admin::Invitation},
        {"POST", "/_sim/hide", &Admin::Hide},
        {"GET", "/_sim/principals", &Admin::Principals},
        {"POST", "/_sim/invitations/accept", &Admin::Invitation},
    };
    for (const Route& r : kRoutes) {
      if (req.path == r.path && (*r.method == 0 || req.method == r.method)) {
        return (this->*r.handler)(req, res);
      }
    }
    internal::SendError(res, req, internal::NotFoundRoute(req));
  }

 private:
  static void Bad(const httplib::Request& req, httplib::Response& res,
                  const std::string& why) {
    internal::SendError(res, req,
                        ApiError{400, "invalid_value", why, std::nullopt});
  }

  void Clock(const httplib::Request& req, httplib::Response& res);
  void AdvanceClock(const httplib::Request& req, httplib::Response& res);
  void Requests(const httplib::Request& req, httplib::Response& res);
  void ClearRequests(const httplib::Request& req, httplib::Response& res);
  void Faults(const httplib::Request& req, httplib::Response& res);
  void Consent(const httplib::Request& req, httplib::Response& res);
  void Hooks(const httplib::Request& req, httplib::Response& res);
  void DropHookEvents(const httplib::Request& req, httplib::Response& res);
  void DeactivateHook(const httplib::Request& req, httplib::Response& res);
  void WaitForHooks(const httplib::Request& req, httplib::Response& res);
  void Invitation(const httplib::Request& req, httplib::Response& res);
  void Hide(const httplib::Request& req, httplib::Response& res);
  void Principals(const httplib::Request& req, httplib::Response& res);

  Simulator* const sim_;
};

void Simulator::Admin::Clock(const httplib::Request& req,
                             httplib::Response& res) {
  const absl::Time now = sim_->clock_.Now();
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  w.StartObject();
  w.Key("now");
  w.String(PodioDateTime(now));
  w.Key("unix");
  w.Int64(absl::ToUnixSeconds(now));
  w.EndObject();
  SendJson(res, 200, buffer);
}

void Simulator::Admin::AdvanceClock(const httplib::Request& req,
                                    httplib::Response& res) {
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(internal::QueryValue(req, "seconds"), &seconds) ||
      seconds < 0) {
    return Bad(req, res, "seconds must be a non-negative integer");
  }
  sim_->clock_.Advance(absl::Seconds(seconds));
  Clock(req, res);
}

void Simulator::Admin::Requests(const httplib::Request& req,
                                httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  int64_t since = 0;
  (void)absl::SimpleAtoi(internal::QueryValue(req, "since", "0"), &since);
  w.StartObject();
  w.Key("next");
  w.Int64(sim_->log_.next_seq());
  w.Key("requests");
  w.StartArray();
  for (const LoggedRequest& r : sim_->log_.Since(since)) {
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
}

void Simulator::Admin::ClearRequests(const httplib::Request& req,
                                     httplib::Response& res) {
  sim_->log_.Clear();
  res.status = 204;
  return;
}

void Simulator::Admin::Faults(const httplib::Request& req,
                              httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  if (req.method == "DELETE") {
    sim_->faults_.Clear();
    res.status = 204;
    return;
  }
  if (req.method == "POST") {
    const std::string body(absl::StripAsciiWhitespace(req.body));
    std::vector<FaultRule> rules;
    if (absl::StartsWith(body, "[")) {
      absl::StatusOr<std::vector<FaultRule>> parsed = ParseFaultRules(body);
      if (!parsed.ok())
        return Bad(req, res, std::string(parsed.status().message()));
      rules = *parsed;
    } else {
      absl::StatusOr<FaultRule> parsed = ParseFaultRule(body);
      if (!parsed.ok())
        return Bad(req, res, std::string(parsed.status().message()));
      rules.push_back(*parsed);
    }
    w.StartObject();
    w.Key("ids");
    w.StartArray();
    for (FaultRule& rule : rules) w.Int64(sim_->faults_.Add(rule));
    w.EndArray();
    w.EndObject();
    return SendJson(res, 200, buffer);
  }
  w.StartArray();
  for (const FaultRule& rule : sim_->faults_.List()) {
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
}

void Simulator::Admin::Consent(const httplib::Request& req,
                               httplib::Response& res) {
  int64_t user = 0;
  if (!internal::QueryBool(req, "deny", false) &&
      !absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user)) {
    return Bad(req, res, "give user_id=N or deny=1");
  }
  absl::MutexLock lock(&sim_->consent_mu_);
  sim_->consent_user_ = user;
  res.status = 204;
  return;
}

void Simulator::Admin::Hooks(const httplib::Request& req,
                             httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  w.StartArray();
  for (const Hook& hook : sim_->hooks_.ListAll()) {
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
}

void Simulator::Admin::DropHookEvents(const httplib::Request& req,
                                      httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  sim_->hooks_.SetDropEvents(internal::QueryBool(req, "on", true));
  w.StartObject();
  w.Key("dropped");
  w.Int64(sim_->hooks_.dropped());
  w.EndObject();
  return SendJson(res, 200, buffer);
}

void Simulator::Admin::DeactivateHook(const httplib::Request& req,
                                      httplib::Response& res) {
  int64_t hook_id = 0;
  if (!absl::SimpleAtoi(internal::QueryValue(req, "hook_id"), &hook_id) ||
      !sim_->hooks_.Deactivate(hook_id)) {
    return Bad(req, res, "give the hook_id of an existing hook");
  }
  res.status = 204;
  return;
}

void Simulator::Admin::WaitForHooks(const httplib::Request& req,
                                    httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  w.StartObject();
  w.Key("idle");
  w.Bool(sim_->hooks_.WaitIdle(absl::Seconds(10)));
  w.EndObject();
  return SendJson(res, 200, buffer);
}

void Simulator::Admin::Invitation(const httplib::Request& req,
                                  httplib::Response& res) {
  // What a person does outside the API: be invited to an organization
  // (a pending membership, as an administrator's invitation by mail
  // makes), or accept the invitation.
  int64_t org_id = 0, user_id = 0;
  if (!absl::SimpleAtoi(internal::QueryValue(req, "org_id"), &org_id) ||
      !absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user_id)) {
    return Bad(req, res, "give org_id=N&user_id=M");
  }
  absl::WriterMutexLock lock(&sim_->dir_mu_);
  SimOrg* org = sim_->directory_.FindOrg(org_id);
  auto index = sim_->directory_.user_index.find(user_id);
  if (org == nullptr || index == sim_->directory_.user_index.end()) {
    return internal::SendError(res, req, internal::ObjectNotFound());
  }
  SimUser& user = sim_->directory_.users[index->second];
  auto it = org->members.find(user_id);
  if (req.path == "/_sim/invitations") {
    if (it != org->members.end())
      return Bad(req, res, "already a member or invited");
    OrgMembership m;
    m.user_id = user_id;
    m.employee = false;
    m.invited = true;
    org->members[user_id] = m;
    sim_->directory_.InsertSorted(org->member_order, user_id);
  } else {
    if (it == org->members.end() || !it->second.invited) {
      return Bad(req, res, "no pending invitation");
    }
    it->second.invited = false;
    user.status = "active";
  }
  res.status = 204;
  return;
}

void Simulator::Admin::Hide(const httplib::Request& req,
                            httplib::Response& res) {
  // A listing that misses a row it should hold (a replica's lag, say):
  // the user is left out of the next `times` directory listings that
  // would show them.
  int64_t user_id = 0;
  int times = 0;
  if (!absl::SimpleAtoi(internal::QueryValue(req, "user_id"), &user_id) ||
      !absl::SimpleAtoi(internal::QueryValue(req, "times"), &times) ||
      times < 0) {
    return Bad(req, res, "give user_id=N&times=M");
  }
  sim_->HideFromNextListings(user_id, times);
  res.status = 204;
  return;
}

void Simulator::Admin::Principals(const httplib::Request& req,
                                  httplib::Response& res) {
  rapidjson::StringBuffer buffer;
  Json w(buffer);
  absl::ReaderMutexLock lock(&sim_->dir_mu_);
  const SimUser& admin = sim_->directory_.users[kAdminUserIndex];
  const SimUser& regular = sim_->directory_.users[kRegularUserIndex];
  w.StartObject();
  w.Key("client_id");
  w.String(sim_->options_.oauth.client_id);
  w.Key("client_secret");
  w.String(sim_->options_.oauth.client_secret);
  w.Key("admin");
  w.StartObject();
  w.Key("user_id");
  w.Int64(admin.user_id);
  w.Key("username");
  w.String(admin.mail);
  w.Key("password");
  w.String(sim_->options_.admin_password);
  w.EndObject();
  w.Key("regular");
  w.StartObject();
  w.Key("user_id");
  w.Int64(regular.user_id);
  w.Key("username");
  w.String(regular.mail);
  w.Key("password");
  w.String(sim_->options_.regular_password);
  w.EndObject();
  w.Key("app");
  w.StartObject();
  w.Key("app_id");
  w.Int64(sim_->options_.app_id);
  w.Key("app_token");
  w.String(sim_->options_.app_token);
  w.EndObject();
  w.EndObject();
  return SendJson(res, 200, buffer);
}

void Simulator::HandleAdmin(const httplib::Request& req,
                            httplib::Response& res) {
  Admin(this).Handle(req, res);
}

}  // namespace unified::podio_sim
