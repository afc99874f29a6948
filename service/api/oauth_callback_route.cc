#include "service/api/oauth_callback_route.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

class OAuthCallbackRoute final : public HttpRoute {
 public:
  OAuthCallbackRoute(IntegratedAccountsService* accounts, OAuthFlow* oauth,
                     LinkFlow* link)
      : accounts_(accounts), oauth_(oauth), link_(link) {}

  bool Matches(absl::string_view path) const override {
    return path == "/oauth/callback";
  }

  std::optional<HttpAnswer> Screen(
      const HttpRouteRequest& request) const override {
    if (request.method != "GET") {
      return PlainAnswer(405, "method not allowed\n");
    }
    return std::nullopt;
  }

  HttpAnswer Serve(const HttpRouteRequest& request) override {
    if (absl::StatusOr<OAuthState> state = oauth_->Open(Arg(request, "state"));
        link_ != nullptr && state.ok() && !state->link_hash.empty()) {
      return link_->AfterConsent(request.query, *state);
    }
    if (auto error = request.query.find("error");
        error != request.query.end()) {
      // The customer denied consent (or the provider refused the request).
      return HtmlAnswer(
          400, HtmlPage("Account not linked",
                        absl::StrCat("The authorization was not given: ",
                                     HtmlEscape(error->second), ".")));
    }
    absl::StatusOr<accounts::AccountRecord> linked =
        accounts_->Complete("", Arg(request, "code"), Arg(request, "state"));
    if (!linked.ok()) {
      std::string reason;
      if (auto info = GetErrorInfo(linked.status())) reason = info->reason();
      return HtmlAnswer(
          linked.status().code() == absl::StatusCode::kInvalidArgument ? 400
                                                                       : 502,
          HtmlPage("Account not linked",
                   absl::StrCat(HtmlEscape(linked.status().message()), " (",
                                HtmlEscape(reason), ")")));
    }
    return HtmlAnswer(
        200,
        HtmlPage("Account linked",
                 absl::StrCat("Integrated account id: <code id=\"account\">",
                              HtmlEscape(linked->id),
                              "</code>. You can close this window.")));
  }

 private:
  static std::string Arg(const HttpRouteRequest& request, const char* name) {
    auto it = request.query.find(name);
    return it == request.query.end() ? "" : it->second;
  }

  IntegratedAccountsService* const accounts_;
  OAuthFlow* const oauth_;
  LinkFlow* const link_;
};

}  // namespace

std::unique_ptr<HttpRoute> NewOAuthCallbackRoute(
    IntegratedAccountsService* accounts, OAuthFlow* oauth, LinkFlow* link) {
  return std::make_unique<OAuthCallbackRoute>(accounts, oauth, link);
}

}  // namespace unified
