#include "connectors/podio/podio_auth.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

constexpr absl::Duration kAccessLifetime = absl::Hours(8);
constexpr absl::Duration kMaxAttempt = absl::Seconds(30);

using Params = std::vector<std::pair<std::string, std::string>>;

std::string Form(const Params& params) {
  std::string body;
  for (const auto& [name, value] : params) {
    if (!body.empty()) body.push_back('&');
    absl::StrAppend(&body, UrlEncode(name), "=", UrlEncode(value));
  }
  return body;
}

class PodioAuth final : public ProviderAuth {
 public:
  PodioAuth(HttpClient* http, Clock* clock, PodioAuthOptions options)
      : http_(http), clock_(clock), options_(std::move(options)) {}

  std::string provider() const override { return "podio"; }
  std::string client_id() const override { return options_.client_id; }
  absl::Duration default_access_lifetime() const override {
    return kAccessLifetime;
  }

  LinkPage link_page() const override { return {"Podio", true, ""}; }

  absl::StatusOr<std::string> AuthorizeUrl(
      const std::string& redirect_uri,
      const std::string& state) const override {
    return absl::StrCat(options_.web_base, "/oauth/authorize?",
                        Form({{"client_id", options_.client_id},
                              {"redirect_uri", redirect_uri},
                              {"response_type", "code"},
                              {"state", state}}));
  }

  absl::StatusOr<Grant> ExchangeCode(const std::string& code,
                                     const std::string& redirect_uri,
                                     absl::Time deadline) override {
    return Token({{"grant_type", "authorization_code"},
                  {"code", code},
                  {"redirect_uri", redirect_uri}},
                 deadline);
  }

  absl::StatusOr<Grant> PasswordGrant(const std::string& username,
                                      const std::string& password,
                                      absl::Time deadline) override {
    return Token({{"grant_type", "password"},
                  {"username", username},
                  {"password", password}},
                 deadline);
  }

  absl::StatusOr<Grant> AppGrant(const std::string& app_id,
                                 const std::string& app_token,
                                 absl::Time deadline) override {
    int64_t id = 0;
    if (!absl::SimpleAtoi(app_id, &id) || id <= 0) {
      return WithErrorInfo(
          absl::InvalidArgumentError("a Podio app id is a positive number"),
          "INVALID_ID");
    }
    return Token({{"grant_type", "app"},
                  {"app_id", absl::StrCat(id)},
                  {"app_token", app_token}},
                 deadline);
  }

  absl::StatusOr<Grant> Refresh(const std::string& refresh_token,
                                absl::Time deadline) override {
    return Token(
        {{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}},
        deadline);
  }

  absl::StatusOr<Grant> Identify(const std::string& access_token,
                                 absl::Time deadline) override {
    HttpRequest request;
    request.url = options_.api_base + "/user/status";
    request.headers = {{"Authorization", "OAuth2 " + access_token},
                       {"Accept", "application/json"}};
    ASSIGN_OR_RETURN(HttpResponse response, Send(request, deadline));
    if (response.status == 401) {
      return CredentialsRejected("Podio refused the access token",
                                 {{"upstream_status", "401"}});
    }
    if (response.status != 200) {
      return StatusForHttpError(response.status, response.body);
    }
    ASSIGN_OR_RETURN(json::Body doc,
                     json::ParseOwned(std::move(response.body)));
    const rapidjson::Value* user =
        doc.root().IsObject() ? json::Find(doc, "user") : nullptr;
    std::optional<int64_t> id =
        user != nullptr ? json::Int64(*user, "user_id") : std::nullopt;
    if (!id) {
      return WithErrorInfo(
          absl::InternalError("Podio's /user/status has no user.user_id"),
          "UPSTREAM_MALFORMED_RESPONSE");
    }
    Grant grant;
    grant.ref_type = "user";
    grant.ref_id = absl::StrCat(*id);
    return grant;
  }

 private:
  absl::StatusOr<HttpResponse> Send(HttpRequest& request, absl::Time deadline) {
    return SendOnce(*http_, *clock_, request, deadline, "Podio", kMaxAttempt);
  }

  // One token request (never retried here: a lost answer is retried by the
  // caller, which Podio allows since refresh tokens are not rotated).
  absl::StatusOr<Grant> Token(Params params, absl::Time deadline) {
    params.emplace_back("client_id", options_.client_id);
    params.emplace_back("client_secret", options_.client_secret);
    HttpRequest request;
    request.method = "POST";
    request.url = options_.api_base + "/oauth/token";
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"}};
    request.body = Form(params);
    ASSIGN_OR_RETURN(HttpResponse response, Send(request, deadline));
    if (response.status != 200) return TokenError(response);
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(response.body));
    if (!doc.ok() || !doc->root().IsObject()) {
      return WithErrorInfo(
          absl::UnavailableError("Podio's token answer is unreadable"),
          "UPSTREAM_MALFORMED_RESPONSE");
    }
    // A two-factor account's password grant answers a nonce for the second
    // step (podio-rb; docs/podio.md): no tokens, and nothing to retry.
    if (json::Find(*doc, "server_nonce") != nullptr &&
        json::StringOr(*doc, "access_token").empty()) {
      return WithErrorInfo(
          absl::FailedPreconditionError(
              "the Podio account signs in with a second factor, which a "
              "password grant cannot give; link it through the OAuth code "
              "flow (CreateAuthorizationUrl)"),
          "SECOND_FACTOR_REQUIRED");
    }
    Grant grant;
    grant.access_token = json::StringOr(*doc, "access_token");
    grant.refresh_token = json::StringOr(*doc, "refresh_token");
    grant.scope = json::StringOr(*doc, "scope");
    const int64_t expires_in =
        json::Int64(*doc, "expires_in")
            .value_or(absl::ToInt64Seconds(kAccessLifetime));
    grant.expires_at = clock_->Now() + absl::Seconds(expires_in);
    if (const rapidjson::Value* ref = json::Find(*doc, "ref");
        ref != nullptr && ref->IsObject()) {
      grant.ref_type = json::StringOr(*ref, "type");
      if (std::optional<int64_t> id = json::Int64(*ref, "id")) {
        grant.ref_id = absl::StrCat(*id);
      }
    }
    if (grant.access_token.empty() || grant.ref_type.empty() ||
        grant.ref_id.empty()) {
      return WithErrorInfo(
          absl::UnavailableError(
              "Podio's token answer lacks access_token or ref"),
          "UPSTREAM_MALFORMED_RESPONSE");
    }
    return grant;
  }

  static absl::Status TokenError(const HttpResponse& response) {
    const PodioError error = ReadPodioError(response.body);
    const std::map<std::string, std::string> metadata = {
        {"upstream_status", absl::StrCat(response.status)},
        {"upstream_error", error.error},
        {"upstream_error_detail", error.detail}};
    if (error.error == "invalid_grant") {
      return GrantRefused(
          absl::StrCat("Podio refused the grant: ", error.description.empty()
                                                        ? "invalid_grant"
                                                        : error.description),
          metadata);
    }
    if (error.error == "invalid_client") {
      return WithErrorInfo(
          absl::FailedPreconditionError(
              "Podio refused this server's OAuth client id or secret; check "
              "the server's Podio client configuration"),
          "OAUTH_CLIENT_REJECTED", metadata);
    }
    return StatusForHttpError(response.status, response.body);
  }

  HttpClient* const http_;
  Clock* const clock_;
  const PodioAuthOptions options_;
};

}  // namespace

std::unique_ptr<ProviderAuth> NewPodioAuth(HttpClient* http, Clock* clock,
                                           PodioAuthOptions options) {
  return std::make_unique<PodioAuth>(http, clock, std::move(options));
}

}  // namespace unified::podio
