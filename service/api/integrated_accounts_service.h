// unified.v1.IntegratedAccounts: thin handlers over the account manager, plus
// the OAuth 2.0 code flow's signed, expiring, single-use `state`.
#ifndef SERVICE_API_INTEGRATED_ACCOUNTS_SERVICE_H_
#define SERVICE_API_INTEGRATED_ACCOUNTS_SERVICE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "proto/unified/v1/integrated_accounts.grpc.pb.h"
#include "service/accounts/account_manager.h"
#include "service/accounts/sealer.h"
#include "service/api/oauth_flow.h"
#include "service/api/serving.h"
#include "service/core/cursor.h"
#include "service/watch/watch_engine.h"
#include "service/webhooks/webhook_store.h"
#include "service/webhooks/webhook_url.h"

namespace unified {

// What the webhook endpoint RPCs need (service/webhooks).
struct WebhookSettings {
  webhooks::WebhookStore* store = nullptr;
  const accounts::Sealer* sealer = nullptr;
  webhooks::UrlPolicy url_policy;
  // How long a secret replaced by SetWebhookEndpoint still signs
  // deliveries (beside the new one).
  absl::Duration secret_overlap = absl::Hours(24);
};

class LinkFlow;

class IntegratedAccountsService final
    : public v1::IntegratedAccounts::CallbackService {
 public:
  // Not owning; all must outlive the service. `serving` runs the calls
  // (service/api/serving.h); `signer` signs listing cursors; `oauth` runs
  // the code flow; `link` creates link sessions (null: the server has no
  // connect page). Deleting an account also removes its watch and hooks
  // from `watch` (null: none).
  IntegratedAccountsService(Serving* serving,
                            accounts::AccountManager* accounts,
                            accounts::CredentialStore* store,
                            const CursorCodec* signer, Clock* clock,
                            OAuthFlow* oauth, LinkFlow* link,
                            RateBudget* budget = nullptr,
                            watch::WatchEngine* watch = nullptr,
                            WebhookSettings webhooks = {})
      : serving_(serving),
        accounts_(accounts),
        store_(store),
        signer_(signer),
        clock_(clock),
        oauth_(oauth),
        link_(link),
        budget_(budget),
        watch_(watch),
        webhooks_(webhooks) {}

  // Finishes a code flow for whichever tenant the (signed) state names: the
  // HTTP callback's path (`tenant` empty), and CompleteAuthorization's after
  // its tenant check (`tenant` non-empty: the state must be that tenant's).
  absl::StatusOr<accounts::AccountRecord> Complete(const std::string& tenant,
                                                   const std::string& code,
                                                   const std::string& state);

  grpc::ServerUnaryReactor* CreateAuthorizationUrl(
      grpc::CallbackServerContext* context,
      const v1::CreateAuthorizationUrlRequest* request,
      v1::CreateAuthorizationUrlResponse* response) override;
  grpc::ServerUnaryReactor* CompleteAuthorization(
      grpc::CallbackServerContext* context,
      const v1::CompleteAuthorizationRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* CreateLinkSession(
      grpc::CallbackServerContext* context,
      const v1::CreateLinkSessionRequest* request,
      v1::CreateLinkSessionResponse* response) override;
  grpc::ServerUnaryReactor* LinkWithAppToken(
      grpc::CallbackServerContext* context,
      const v1::LinkWithAppTokenRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* LinkWithPassword(
      grpc::CallbackServerContext* context,
      const v1::LinkWithPasswordRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* LinkWithClientCredentials(
      grpc::CallbackServerContext* context,
      const v1::LinkWithClientCredentialsRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* ImportTokens(
      grpc::CallbackServerContext* context,
      const v1::ImportTokensRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* ListIntegratedAccounts(
      grpc::CallbackServerContext* context,
      const v1::ListIntegratedAccountsRequest* request,
      v1::ListIntegratedAccountsResponse* response) override;
  grpc::ServerUnaryReactor* GetIntegratedAccount(
      grpc::CallbackServerContext* context,
      const v1::GetIntegratedAccountRequest* request,
      v1::IntegratedAccount* response) override;
  grpc::ServerUnaryReactor* DeleteIntegratedAccount(
      grpc::CallbackServerContext* context,
      const v1::DeleteIntegratedAccountRequest* request,
      v1::DeleteIntegratedAccountResponse* response) override;
  grpc::ServerUnaryReactor* SetWebhookEndpoint(
      grpc::CallbackServerContext* context,
      const v1::SetWebhookEndpointRequest* request,
      v1::WebhookEndpoint* response) override;
  grpc::ServerUnaryReactor* GetWebhookEndpoint(
      grpc::CallbackServerContext* context,
      const v1::GetWebhookEndpointRequest* request,
      v1::WebhookEndpoint* response) override;
  grpc::ServerUnaryReactor* DeleteWebhookEndpoint(
      grpc::CallbackServerContext* context,
      const v1::DeleteWebhookEndpointRequest* request,
      v1::DeleteWebhookEndpointResponse* response) override;
  grpc::ServerWriteReactor<v1::AccountEvent>* WatchIntegratedAccounts(
      grpc::CallbackServerContext* context,
      const v1::WatchIntegratedAccountsRequest* request) override;
  grpc::ServerUnaryReactor* RefreshCredentials(
      grpc::CallbackServerContext* context,
      const v1::RefreshCredentialsRequest* request,
      v1::IntegratedAccount* response) override;

 private:
  // What SetWebhookEndpoint keeps of the secret it replaces: the old one,
  // for secret_overlap, when `secret` differs from it; the running overlap
  // when it is the same; nothing for a first endpoint.
  webhooks::PreviousSecret RotationOf(
      const std::optional<webhooks::Endpoint>& before,
      const std::string& tenant, const std::string& secret) const;
  // The API's view of an account, with its upstream budget.
  v1::IntegratedAccount View(const accounts::AccountRecord& record);

  Serving* const serving_;
  accounts::AccountManager* const accounts_;
  accounts::CredentialStore* const store_;
  const CursorCodec* const signer_;
  Clock* const clock_;
  OAuthFlow* const oauth_;
  LinkFlow* const link_;
  RateBudget* const budget_;
  watch::WatchEngine* const watch_;
  const WebhookSettings webhooks_;
};

// The API's view of an account (no credential).
v1::IntegratedAccount ToProto(const accounts::AccountRecord& record);

}  // namespace unified

#endif  // SERVICE_API_INTEGRATED_ACCOUNTS_SERVICE_H_
