#include "tools/podio_sim/oauth.h"

#include <openssl/rand.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace unified::podio_sim {
namespace {

std::string Get(const std::map<std::string, std::string>& params,
                const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

ApiError InvalidGrant(const std::string& description) {
  return ApiError{400, "invalid_grant", description, std::nullopt};
}

// The host part of an http(s) URL, or "".
std::string HostOf(const std::string& url) {
  size_t start = url.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  size_t end = url.find_first_of(":/?#", start);
  return url.substr(start,
                    end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

std::string Identity::Key() const {
  return absl::StrCat(ref_type, ":", ref_id, "/", client_id);
}

std::string RandomToken() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  std::string out;
  out.reserve(64);
  for (unsigned char b : bytes) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", b);
    out += hex;
  }
  return out;
}

OAuthState::OAuthState(OAuthOptions options,
                       std::vector<PasswordLogin> passwords,
                       std::vector<AppLogin> apps)
    : options_(std::move(options)),
      passwords_(std::move(passwords)),
      apps_(std::move(apps)) {}

std::optional<ApiError> OAuthState::CheckAuthorize(
    const std::string& client_id, const std::string& redirect_uri) const {
  if (client_id != options_.client_id) {
    return ApiError{400, "invalid_client",
                    "Sorry, you've supplied an invalid client id.",
                    "oauth.client.invalid_id"};
  }
  if (redirect_uri.empty() || HostOf(redirect_uri) != options_.redirect_host) {
    return ApiError{400, "invalid_request",
                    "The redirect_uri is not on the domain registered for "
                    "this API key",
                    std::nullopt};
  }
  return std::nullopt;
}

std::string OAuthState::IssueCode(const std::string& client_id,
                                  const std::string& redirect_uri,
                                  int64_t user_id, absl::Time now) {
  std::string code = RandomToken();
  absl::MutexLock lock(&mu_);
  codes_[code] =
      Code{client_id, redirect_uri, user_id, now + options_.code_lifetime};
  return code;
}

TokenResponse OAuthState::Issue(const Identity& identity,
                                const std::string& refresh, absl::Time now) {
  TokenResponse response;
  response.access_token = RandomToken();
  response.refresh_token = refresh.empty() ? RandomToken() : refresh;
  response.expires_in = absl::ToInt64Seconds(options_.access_lifetime);
  response.scope = "global:all";
  response.identity = identity;
  access_[response.access_token] =
      Access{identity, now + options_.access_lifetime, response.scope};
  // Podio keeps the refresh token and restarts its 28-day timer on each use.
  refresh_[response.refresh_token] =
      Refresh{identity, now + options_.refresh_lifetime, response.scope};
  return response;
}

std::variant<TokenResponse, ApiError> OAuthState::Token(
    const std::map<std::string, std::string>& params, absl::Time now) {
  const std::string grant_type = Get(params, "grant_type");
  const std::string client_id = Get(params, "client_id");
  if (client_id != options_.client_id) {
    return ApiError{400, "invalid_client",
                    "Sorry, you've supplied an invalid client id.",
                    "oauth.client.invalid_id"};
  }
  if (Get(params, "client_secret") != options_.client_secret) {
    return ApiError{400, "invalid_client",
                    "Sorry, you've supplied an invalid client secret.",
                    "oauth.client.invalid_secret"};
  }
  absl::MutexLock lock(&mu_);
  if (grant_type == "authorization_code") {
    auto it = codes_.find(Get(params, "code"));
    if (it == codes_.end()) return InvalidGrant("Invalid authorization code");
    Code code = it->second;
    codes_.erase(it);  // Single use, even when the exchange then fails.
    if (code.expires <= now) return InvalidGrant("Authorization code expired");
    if (code.redirect_uri != Get(params, "redirect_uri")) {
      return InvalidGrant("The redirect_uri does not match the authorization");
    }
    return Issue(Identity{"user", code.user_id, client_id}, "", now);
  }
  if (grant_type == "refresh_token") {
    auto it = refresh_.find(Get(params, "refresh_token"));
    if (it == refresh_.end() || it->second.identity.client_id != client_id) {
      return InvalidGrant("Invalid refresh token");
    }
    if (it->second.expires <= now) {
      refresh_.erase(it);
      return InvalidGrant("Refresh token expired");
    }
    const Identity identity = it->second.identity;
    if (options_.rotate_refresh_tokens) {
      refresh_.erase(it);
      return Issue(identity, "", now);
    }
    return Issue(identity, it->first, now);
  }
  if (grant_type == "password") {
    const std::string username = Get(params, "username");
    for (const PasswordLogin& login : passwords_) {
      if (login.username != username) continue;
      if (login.password != Get(params, "password")) {
        return ApiError{400, "invalid_grant", "Invalid password",
                        "user.invalid.password"};
      }
      if (login.mfa) {
        TokenResponse second_factor;
        second_factor.server_nonce = RandomToken();
        return second_factor;
      }
      return Issue(Identity{"user", login.user_id, client_id}, "", now);
    }
    return ApiError{400, "invalid_grant", "Invalid username",
                    "user.invalid.username"};
  }
  if (grant_type == "app") {
    int64_t app_id = 0;
    if (!absl::SimpleAtoi(Get(params, "app_id"), &app_id)) {
      return ApiError{400, "invalid_request", "app_id must be an integer",
                      std::nullopt};
    }
    for (const AppLogin& app : apps_) {
      if (app.app_id == app_id && app.app_token == Get(params, "app_token")) {
        return Issue(Identity{"app", app_id, client_id}, "", now);
      }
    }
    return InvalidGrant("Invalid app_id or app_token");
  }
  if (grant_type.empty()) {
    return ApiError{400, "invalid_request", "grant_type is required",
                    std::nullopt};
  }
  return ApiError{400, "unsupported_grant_type",
                  absl::StrCat("Unsupported grant type ", grant_type),
                  std::nullopt};
}

std::optional<Identity> OAuthState::Authenticate(
    const std::string& access_token, absl::Time now) const {
  absl::MutexLock lock(&mu_);
  auto it = access_.find(access_token);
  if (it == access_.end() || it->second.expires <= now) return std::nullopt;
  return it->second.identity;
}

std::optional<std::string> OAuthState::ScopeOf(
    const std::string& access_token) const {
  absl::MutexLock lock(&mu_);
  auto it = access_.find(access_token);
  if (it == access_.end()) return std::nullopt;
  return it->second.scope;
}

std::optional<Identity> OAuthState::PrincipalOf(
    const std::map<std::string, std::string>& params) const {
  auto field = [&params](const char* name) {
    auto it = params.find(name);
    return it == params.end() ? std::string() : it->second;
  };
  const std::string client_id = field("client_id");
  if (const std::string refresh = field("refresh_token"); !refresh.empty()) {
    absl::MutexLock lock(&mu_);
    auto it = refresh_.find(refresh);
    if (it != refresh_.end()) return it->second.identity;
    return std::nullopt;
  }
  if (const std::string username = field("username"); !username.empty()) {
    for (const PasswordLogin& login : passwords_) {
      if (login.username == username) {
        return Identity{"user", login.user_id, client_id};
      }
    }
    return std::nullopt;
  }
  int64_t app_id = 0;
  if (absl::SimpleAtoi(field("app_id"), &app_id)) {
    for (const AppLogin& app : apps_) {
      if (app.app_id == app_id) return Identity{"app", app_id, client_id};
    }
  }
  return std::nullopt;
}

int64_t OAuthState::SpaceOfApp(int64_t app_id) const {
  for (const AppLogin& app : apps_) {
    if (app.app_id == app_id) return app.space_id;
  }
  return 0;
}

}  // namespace unified::podio_sim
