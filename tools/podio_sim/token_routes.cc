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
#include "service/core/html.h"
#include "tools/podio_sim/simulator.h"
#include "tools/podio_sim/simulator_internal.h"

namespace unified::podio_sim {

namespace {

// Podio's consent page, reduced to its decision: the client's request in
// hidden fields, and Allow / Deny.
std::string ConsentPage(const std::string& client_id,
                        const std::string& redirect_uri,
                        const std::string& state) {
  std::string hidden;
  for (const auto& [name, value] :
       {std::pair<std::string, std::string>{"client_id", client_id},
        {"redirect_uri", redirect_uri},
        {"state", state},
        {"response_type", "code"}}) {
    absl::StrAppend(&hidden, "<input type=\"hidden\" name=\"", name,
                    "\" value=\"", HtmlEscape(value), "\">");
  }
  return absl::StrCat(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>Podio simulator: allow access?</title></head><body><main>"
      "<h1>Allow access to your Podio account?</h1><p>The application <b>",
      HtmlEscape(client_id),
      "</b> asks to read and change your Podio data.</p>"
      "<form method=\"post\" action=\"/oauth/authorize\">",
      hidden,
      "<button type=\"submit\" name=\"decision\" value=\"allow\" "
      "id=\"allow\">Allow</button> <button type=\"submit\" "
      "name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>"
      "</form></main></body></html>\n");
}

}  // namespace

// Sends the browser back to the client: with a code for `user`, or denied
// (user 0).
void Simulator::RedirectWithConsent(const std::string& client_id,
                                    const std::string& redirect_uri,
                                    const std::string& state, int64_t user,
                                    httplib::Response& res) {
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

void Simulator::HandleAuthorize(const httplib::Request& req,
                                httplib::Response& res) {
  if (req.method == "POST") return HandleConsentDecision(req, res);
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
  if (options_.consent_page) {
    res.status = 200;
    res.set_content(ConsentPage(client_id, redirect_uri, state),
                    "text/html; charset=utf-8");
    return;
  }
  int64_t user = 0;
  {
    absl::MutexLock lock(&consent_mu_);
    user = consent_user_;
  }
  RedirectWithConsent(client_id, redirect_uri, state, user, res);
}

void Simulator::HandleConsentDecision(const httplib::Request& req,
                                      httplib::Response& res) {
  Params form = internal::ParseForm(req.body);
  const std::string client_id = form["client_id"];
  const std::string redirect_uri = form["redirect_uri"];
  if (!options_.consent_page) {
    return internal::SendError(
        res, req,
        ApiError{404, "not_found", "No consent page is served",
                 std::nullopt});
  }
  if (std::optional<ApiError> e =
          oauth_->CheckAuthorize(client_id, redirect_uri)) {
    return internal::SendError(res, req, *e);
  }
  int64_t user = 0;
  if (form["decision"] == "allow") {
    absl::MutexLock lock(&consent_mu_);
    user = consent_user_ != 0 ? consent_user_ : admin_user_id_;
  }
  RedirectWithConsent(client_id, redirect_uri, form["state"], user, res);
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
