// The simulator's OAuth endpoints: the consent page (/oauth/authorize) and
// the token endpoint's grants (docs/podio.md §2).
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

}  // namespace unified::podio_sim
