#include "connectors/scim/scim_auth.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/json.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_errors.h"

namespace unified::scim {
namespace {

constexpr absl::Duration kMaxAttempt = absl::Seconds(30);
// A client credentials account's "refresh token": what repeating the grant
// needs, sealed in the store like any refresh token.
constexpr char kClientCredentials[] = "client_credentials ";

class ScimAuth final : public ProviderAuth {
 public:
  ScimAuth(HttpClient* http, Clock* clock, ScimAuthOptions options)
      : http_(http), clock_(clock), options_(std::move(options)) {}

  std::string provider() const override { return "scim"; }
  // Accounts use the customer's own credentials; there is no deployment
  // client to share a budget under.
  std::string client_id() const override { return "customer"; }
  absl::Duration default_access_lifetime() const override {
    return options_.default_access_lifetime;
  }
  LinkPage link_page() const override {
    return {"SCIM directory", false, "SCIM bearer token"};
  }

  absl::StatusOr<Grant> ClientCredentialsGrant(const std::string& client_id,
                                               const std::string& client_secret,
                                               absl::Time deadline) override {
    if (options_.token_url.empty()) {
      return Unsupported("the client credentials grant (no --scim_token_url)");
    }
    HttpRequest request;
    request.method = "POST";
    request.url = options_.token_url;
    std::string basic;
    absl::Base64Escape(
        absl::StrCat(UrlEncode(client_id), ":", UrlEncode(client_secret)),
        &basic);
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                       {"Accept", "application/json"},
                       {"Authorization", "Basic " + basic}};
    request.body = "grant_type=client_credentials";
    ASSIGN_OR_RETURN(HttpResponse response, Send(request, deadline));
    if (response.status != 200) return TokenError(response);
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::move(response.body));
    if (!doc.ok() || !doc->root().IsObject() ||
        json::StringOr(*doc, "access_token").empty()) {
      return WithErrorInfo(
          absl::UnavailableError("the SCIM token answer is unreadable"),
          "UPSTREAM_MALFORMED_RESPONSE");
    }
    Grant grant;
    grant.access_token = json::StringOr(*doc, "access_token");
    grant.scope = json::StringOr(*doc, "scope");
    grant.expires_at =
        clock_->Now() +
        absl::Seconds(json::Int64(*doc, "expires_in").value_or(3600));
    std::string id64, secret64;
    absl::WebSafeBase64Escape(client_id, &id64);
    absl::WebSafeBase64Escape(client_secret, &secret64);
    grant.refresh_token = absl::StrCat(kClientCredentials, id64, " ", secret64);
    grant.ref_type = "client";
    grant.ref_id = client_id;
    return grant;
  }

  absl::StatusOr<Grant> Refresh(const std::string& refresh_token,
                                absl::Time deadline) override {
    absl::string_view rest = refresh_token;
    std::vector<std::string> parts;
    std::string id, secret;
    if (!absl::ConsumePrefix(&rest, kClientCredentials) ||
        (parts = absl::StrSplit(rest, ' ')).size() != 2 ||
        !absl::WebSafeBase64Unescape(parts[0], &id) ||
        !absl::WebSafeBase64Unescape(parts[1], &secret)) {
      // Only client credentials accounts renew; an imported bearer token
      // cannot be refreshed here.
      return GrantRefused(
          "this SCIM account's token cannot be renewed; import a new one");
    }
    return ClientCredentialsGrant(id, secret, deadline);
  }

  absl::StatusOr<Grant> Identify(const std::string& access_token,
                                 absl::Time deadline) override {
    HttpRequest request;
    request.url = options_.api_base + "/Me";
    request.headers = {{"Authorization", "Bearer " + access_token},
                       {"Accept", "application/scim+json"}};
    ASSIGN_OR_RETURN(HttpResponse response, Send(request, deadline));
    if (response.status == 401) {
      return CredentialsRejected("the SCIM provider refused the token",
                                 {{"upstream_status", "401"}});
    }
    Grant grant;
    if (response.status == 200) {
      absl::StatusOr<rapidjson::Document> doc = json::Parse(response.body);
      if (doc.ok() && doc->IsObject() && !json::StringOr(*doc, "id").empty()) {
        grant.ref_type = "user";
        grant.ref_id = json::StringOr(*doc, "id");
        return grant;
      }
    }
    if (response.status != 200 && response.status != 404 &&
        response.status != 501) {
      return StatusForScimError(response.status, response.body,
                                response.Header("retry-after"));
    }
    // No user behind the token (/Me unsupported, or an API client). A
    // provider without /Me answers 404 to any token, so the token is tried
    // on a read that needs one: a listing of no users.
    request.url = options_.api_base + "/Users?startIndex=1&count=1";
    ASSIGN_OR_RETURN(HttpResponse check, Send(request, deadline));
    if (check.status == 401 || check.status == 403) {
      return CredentialsRejected(
          "the SCIM provider refused the token",
          {{"upstream_status", absl::StrCat(check.status)}});
    }
    if (check.status < 200 || check.status >= 300) {
      return StatusForScimError(check.status, check.body,
                                check.Header("retry-after"));
    }
    // The token itself is the identity, named by a digest that reveals
    // nothing.
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(access_token.data()),
           access_token.size(), digest);
    grant.ref_type = "token";
    grant.ref_id = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), 8));
    return grant;
  }

 private:
  absl::StatusOr<HttpResponse> Send(HttpRequest& request, absl::Time deadline) {
    return SendOnce(*http_, *clock_, request, deadline, "the SCIM provider",
                    kMaxAttempt);
  }

  // RFC 6749 §5.2 errors: a refused client is the customer's credential.
  static absl::Status TokenError(const HttpResponse& response) {
    std::string error;
    if (absl::StatusOr<rapidjson::Document> doc = json::Parse(response.body);
        doc.ok() && doc->IsObject()) {
      error = json::StringOr(*doc, "error");
    }
    if (error == "invalid_client" || error == "invalid_grant" ||
        error == "unauthorized_client") {
      return GrantRefused(
          absl::StrCat("the SCIM provider refused the client credentials: ",
                       error),
          {{"upstream_status", absl::StrCat(response.status)},
           {"upstream_error", error}});
    }
    return StatusForScimError(response.status, response.body,
                              response.Header("retry-after"));
  }

  HttpClient* const http_;
  Clock* const clock_;
  const ScimAuthOptions options_;
};

}  // namespace

std::unique_ptr<ProviderAuth> NewScimAuth(HttpClient* http, Clock* clock,
                                          ScimAuthOptions options) {
  return std::make_unique<ScimAuth>(http, clock, std::move(options));
}

}  // namespace unified::scim
