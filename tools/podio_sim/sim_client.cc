#include "tools/podio_sim/sim_client.h"

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace unified::podio_sim {

absl::StatusOr<std::string> PasswordGrantToken(HttpClient& http,
                                               const std::string& base_url,
                                               const std::string& username,
                                               const std::string& password) {
  HttpRequest grant;
  grant.method = "POST";
  grant.url = base_url + "/oauth/token";
  grant.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  // The simulator's principals have URL-safe passwords; '@' is encoded.
  std::string user = username;
  for (size_t at; (at = user.find('@')) != std::string::npos;) {
    user.replace(at, 1, "%40");
  }
  grant.body = absl::StrCat(
      "grant_type=password&client_id=demo-client&client_secret=demo-secret"
      "&username=",
      user, "&password=", password);
  absl::StatusOr<HttpResponse> response = http.Send(grant);
  if (!response.ok()) return response.status();
  rapidjson::Document doc;
  doc.Parse(response->body.c_str(), response->body.size());
  if (response->status != 200 || !doc.IsObject() ||
      !doc.HasMember("access_token") || !doc["access_token"].IsString()) {
    return absl::UnauthenticatedError(
        absl::StrCat("password grant refused: HTTP ", response->status));
  }
  return std::string(doc["access_token"].GetString());
}

}  // namespace unified::podio_sim
