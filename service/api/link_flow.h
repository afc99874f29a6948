// The end customer's connect flow: link sessions
// (IntegratedAccounts.CreateLinkSession) and the hosted connect page that
// takes them (routes in link_route.h). docs/linking.md describes it.
//
// The page: GET /link?link_token=T[&mode=popup] shows the providers the
// session offers; POST /link/start goes on to the provider's consent page
// (the code flow, oauth_flow.h, ending on the server's /oauth/callback) or
// shows a token form (POST /link/token); the account is linked with the
// session's end_customer_id (and account id, to re-authorize). The answer
// goes back to the SaaS's page: in popup mode by a page whose script posts
// {source: "unified-link", type: "success"|"exit", ...} to the session's
// origin only (link.js), else by a 303 to return_url with
// integrated_account_id (or error) and state; without JavaScript the popup
// page's link does the same.
//
// Every page is sent with a Content Security Policy of the page's own
// origin and no framing, no-store and no-referrer. A session links once
// (claimed in the store across replicas), expires, and is locked after
// kMaxFailures refused tokens or failed exchanges.
#ifndef SERVICE_API_LINK_FLOW_H_
#define SERVICE_API_LINK_FLOW_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/unified/v1/integrated_accounts.pb.h"
#include "service/accounts/account_manager.h"
#include "service/api/http_route.h"
#include "service/api/oauth_flow.h"
#include "service/link/link_store.h"

namespace unified {

struct LinkFlowOptions {
  // The page's URL as browsers reach it, e.g. "http://127.0.0.1:8081/link".
  std::string page_url;
  // Every provider the server serves, in the order the page offers them.
  std::vector<std::string> providers;
};

// Thread-safe. Not owning; all must outlive it.
class LinkFlow {
 public:
  static constexpr int kMaxFailures = 5;

  LinkFlow(OAuthFlow* oauth, accounts::AccountManager* accounts,
           link::LinkSessionStore* sessions, LinkFlowOptions options)
      : oauth_(oauth),
        accounts_(accounts),
        sessions_(sessions),
        options_(std::move(options)) {}

  // CreateLinkSession's work for `tenant`.
  absl::Status CreateSession(const std::string& tenant,
                             const v1::CreateLinkSessionRequest& request,
                             v1::CreateLinkSessionResponse* response);

  // GET /link: the provider picker.
  HttpAnswer Show(const std::map<std::string, std::string>& query);
  // POST /link/start: the consent page, or the token form.
  HttpAnswer Start(const std::map<std::string, std::string>& form);
  // POST /link/token: a token provider's credential.
  HttpAnswer SubmitToken(const std::map<std::string, std::string>& form);
  // GET /oauth/callback for a state of this page (`state.link_hash` set).
  HttpAnswer AfterConsent(const std::map<std::string, std::string>& query,
                          const OAuthState& state);

 private:
  struct Loaded;
  // The session of `link_token`, or the page that says why it cannot be
  // used (unknown, expired, used, locked).
  Loaded Load(const std::string& link_token, const std::string& mode);
  Loaded LoadByHash(const std::string& hash, const std::string& mode);
  // A posted step of the page (link_token, mode, provider) with its
  // session, or the page refusing it: also when the session does not
  // offer the provider, or (`token_form`) offers it by consent.
  struct Step;
  Step Posted(const std::map<std::string, std::string>& form,
              bool token_form);
  // Links with the session claimed: `link` runs between the claim and its
  // finish (or release, when it fails).
  absl::StatusOr<accounts::AccountRecord> ClaimAndLink(
      const link::LinkSession& session,
      const std::function<absl::StatusOr<accounts::AccountRecord>()>& link);
  HttpAnswer TokenForm(const link::LinkSession& session,
                       const std::string& link_token, const std::string& mode,
                       const std::string& provider, const std::string& error,
                       int status);
  HttpAnswer Success(const link::LinkSession& session, const std::string& mode,
                     const accounts::AccountRecord& account);
  HttpAnswer Exit(const link::LinkSession& session, const std::string& mode,
                  const std::string& reason, const std::string& message,
                  int status);
  bool Offers(const link::LinkSession& session,
              const std::string& provider) const;

  OAuthFlow* const oauth_;
  accounts::AccountManager* const accounts_;
  link::LinkSessionStore* const sessions_;
  const LinkFlowOptions options_;
};

// The connect page's URL: beside the server's own OAuth callback
// (`callback_uri`, which may be a public URL of --oauth_redirect_uri), else
// on the side listener at `listener_url`.
std::string LinkPageUrl(const std::string& callback_uri,
                        const std::string& listener_url);

// The origin (scheme://host[:port], as browsers write it) of an http(s)
// URL; INVALID_ARGUMENT when it is not one.
absl::StatusOr<std::string> OriginOf(const std::string& url);

}  // namespace unified

#endif  // SERVICE_API_LINK_FLOW_H_
