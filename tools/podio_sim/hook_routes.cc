// The simulator's hook routes (docs/podio.md: create, list, verify,
// validate and delete hooks on spaces).
#include <optional>
#include <set>
#include <string>
#include <vector>

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

namespace unified::podio_sim {

namespace {

// The hooks of GET /hook/{ref_type}/{ref_id}/ as Podio lists them.
void WriteHooks(Json& w, const std::vector<Hook>& hooks,
                const std::string& client_id) {
  w.StartArray();
  for (const Hook& hook : hooks) {
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
    w.String(client_id);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
}

// The body of POST /hook/{ref_type}/{ref_id}/: its url and a space event
// type.
std::optional<ApiError> ReadHookBody(const httplib::Request& req,
                                     std::string* url, std::string* type) {
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
  *type = body["type"].GetString();
  if (!kSpaceEvents.count(*type)) {
    return ApiError{400, "invalid_value",
                    absl::StrCat("Invalid hook type ", *type), std::nullopt};
  }
  *url = body["url"].GetString();
  return std::nullopt;
}

}  // namespace

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
      WriteHooks(w, hooks_.List(ref_type, ref_id), options_.oauth.client_id);
      SendJson(res, 200, buffer);
      return std::nullopt;
    }
    std::string url, type;
    if (auto e = ReadHookBody(req, &url, &type)) return e;
    HookRegistry::CreateResult created =
        hooks_.Create(ref_type, ref_id, url, type, user, clock_.Now());
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

}  // namespace unified::podio_sim
