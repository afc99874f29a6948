#include "service/api/oauth_flow.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/status_macros.h"
#include "service/api/arguments.h"

namespace unified {
namespace {

constexpr absl::Duration kMaxGrantTime = absl::Seconds(30);

absl::Status InvalidState(absl::string_view why) {
  return Invalid(absl::StrCat("invalid OAuth state: ", why), "INVALID_STATE");
}

}  // namespace

absl::Status CheckRedirectUri(const std::string& uri) {
  RETURN_IF_ERROR(CheckArgument(uri, "redirect_uri", kMaxUriBytes));
  if (!(absl::StartsWith(uri, "https://") ||
        absl::StartsWith(uri, "http://")) ||
      uri.find('#') != std::string::npos ||
      uri.find_first_of(" \r\n\t") != std::string::npos) {
    return Invalid(
        "redirect_uri must be an absolute http(s) URL without a "
        "fragment",
        "INVALID_REDIRECT_URI");
  }
  return absl::OkStatus();
}

absl::StatusOr<ProviderAuth*> OAuthFlow::AuthFor(
    const std::string& provider) const {
  RETURN_IF_ERROR(CheckArgument(provider, "provider", 64, false));
  const std::string name =
      provider.empty() ? options_.default_provider : provider;
  ProviderAuth* auth = accounts_->auth(name);
  if (auth == nullptr) {
    return Invalid(absl::StrCat("no connector serves provider '", name, "'"),
                   "UNKNOWN_PROVIDER");
  }
  return auth;
}

absl::StatusOr<OAuthFlow::Started> OAuthFlow::Start(OAuthState state) {
  if (state.redirect_uri.empty()) {
    state.redirect_uri = options_.default_redirect_uri;
  }
  RETURN_IF_ERROR(CheckRedirectUri(state.redirect_uri));
  ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(state.provider));
  state.provider = auth->provider();
  state.nonce = NewStateNonce();
  state.expires = clock_->Now() + options_.state_ttl;
  Started started;
  started.state = SealOAuthState(*signer_, state);
  started.expires = state.expires;
  ASSIGN_OR_RETURN(started.authorization_url,
                   auth->AuthorizeUrl(state.redirect_uri, started.state));
  return started;
}

absl::StatusOr<OAuthFlow::Redeemed> OAuthFlow::Redeem(const std::string& tenant,
                                                      const std::string& code,
                                                      const std::string& state,
                                                      bool link_page) {
  RETURN_IF_ERROR(CheckArgument(code, "code", kMaxSecretBytes));
  RETURN_IF_ERROR(CheckArgument(state, "state", kMaxSecretBytes));
  Redeemed out;
  ASSIGN_OR_RETURN(out.state, OpenOAuthState(*signer_, state));
  if (!tenant.empty() && out.state.tenant != tenant) {
    return InvalidState("issued to another tenant");
  }
  if (out.state.link_hash.empty() == link_page) {
    // The connect page's flows end on its own callback, which knows the
    // session (link_flow.h); other flows never there.
    return InvalidState(link_page ? "not started by the connect page"
                                  : "started by the connect page, whose "
                                    "callback completes it");
  }
  if (clock_->Now() >= out.state.expires) return InvalidState("expired");
  absl::Status consumed =
      store_->ConsumeOnce(out.state.nonce, out.state.expires, clock_->Now());
  if (consumed.code() == absl::StatusCode::kAlreadyExists) {
    return InvalidState("already used");
  }
  RETURN_IF_ERROR(consumed);
  ASSIGN_OR_RETURN(out.auth, AuthFor(out.state.provider));
  ASSIGN_OR_RETURN(out.grant,
                   out.auth->ExchangeCode(code, out.state.redirect_uri,
                                          clock_->Now() + kMaxGrantTime));
  return out;
}

}  // namespace unified
