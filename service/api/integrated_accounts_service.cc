#include "service/api/integrated_accounts_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "google/protobuf/util/time_util.h"
#include "service/api/arguments.h"
#include "service/api/link_flow.h"
#include "service/core/budget_report.h"
#include "service/core/grpc_status.h"
#include "service/core/proto_time.h"
#include "service/webhooks/payloads.h"
#include "service/webhooks/webhook_deliverer.h"

namespace unified {
namespace {

using accounts::AccountRecord;
using google::protobuf::util::TimeUtil;

constexpr char kListResource[] = "integrated_accounts";

constexpr absl::Duration kMaxGrantTime = absl::Seconds(30);

absl::Time Deadline(const grpc::ServerContextBase& context, Clock* clock) {
  return std::min(absl::FromChrono(context.deadline()),
                  clock->Now() + kMaxGrantTime);
}

}  // namespace

v1::IntegratedAccount ToProto(const AccountRecord& record) {
  v1::IntegratedAccount out;
  out.set_id(record.id);
  out.set_provider(record.provider);
  out.set_status(record.status == accounts::AccountStatus::kActive
                     ? v1::IntegratedAccount::ACTIVE
                     : v1::IntegratedAccount::NEEDS_REAUTH);
  out.set_status_reason(record.status_reason);
  out.set_provider_ref_type(record.ref_type);
  out.set_provider_ref_id(record.ref_id);
  out.set_scope(record.scope);
  *out.mutable_access_token_expires_at() =
      ToTimestamp(record.access_expires_at);
  out.set_link_method(record.link_method);
  *out.mutable_create_time() = ToTimestamp(record.created_at);
  *out.mutable_update_time() = ToTimestamp(record.updated_at);
  out.set_end_customer_id(record.end_customer_id);
  return out;
}

v1::IntegratedAccount IntegratedAccountsService::View(
    const AccountRecord& record) {
  v1::IntegratedAccount out = ToProto(record);
  if (budget_ != nullptr) {
    if (absl::StatusOr<BudgetState> state =
            budget_->State(accounts_->BudgetKey(record));
        state.ok()) {
      *out.mutable_budget() = ToProto(*state);
    }
  }
  return out;
}

absl::StatusOr<AccountRecord> IntegratedAccountsService::Complete(
    const std::string& tenant, const std::string& code,
    const std::string& state) {
  ASSIGN_OR_RETURN(OAuthFlow::Redeemed redeemed,
                   oauth_->Redeem(tenant, code, state, /*link_page=*/false));
  return accounts_->Link(redeemed.state.tenant, redeemed.auth->provider(),
                         redeemed.grant, "authorization_code",
                         redeemed.state.account_id);
}

grpc::ServerUnaryReactor* IntegratedAccountsService::CreateAuthorizationUrl(
    grpc::CallbackServerContext* context,
    const v1::CreateAuthorizationUrlRequest* request,
    v1::CreateAuthorizationUrlResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (!request->redirect_uri().empty()) {
          RETURN_IF_ERROR(CheckRedirectUri(request->redirect_uri()));
        }
        RETURN_IF_ERROR(CheckArgument(request->integrated_account_id(),
                                      "integrated_account_id", kMaxIdBytes,
                                      false));
        OAuthState state;
        state.tenant = tenant;
        state.redirect_uri = request->redirect_uri();
        state.account_id = request->integrated_account_id();
        state.provider = request->provider();
        if (!request->integrated_account_id().empty()) {
          // Re-authorization of an account of this tenant only, with its
          // own provider.
          ASSIGN_OR_RETURN(
              accounts::AccountRecord existing,
              accounts_->Get(tenant, request->integrated_account_id()));
          if (!state.provider.empty() && state.provider != existing.provider) {
            return Invalid("provider differs from the account's",
                           "UNKNOWN_PROVIDER");
          }
          state.provider = existing.provider;
        }
        ASSIGN_OR_RETURN(OAuthFlow::Started started,
                         oauth_->Start(std::move(state)));
        response->set_state(std::move(started.state));
        response->set_authorization_url(std::move(started.authorization_url));
        *response->mutable_expire_time() = ToTimestamp(started.expires);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::CreateLinkSession(
    grpc::CallbackServerContext* context,
    const v1::CreateLinkSessionRequest* request,
    v1::CreateLinkSessionResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (link_ == nullptr) {
          return WithErrorInfo(
              absl::FailedPreconditionError(
                  "this server serves no connect page (it has no HTTP side "
                  "listener: set --http_port)"),
              "LINK_PAGE_DISABLED");
        }
        return link_->CreateSession(tenant, *request, response);
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::CompleteAuthorization(
    grpc::CallbackServerContext* context,
    const v1::CompleteAuthorizationRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(AccountRecord record,
                         Complete(tenant, request->code(), request->state()));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::LinkWithAppToken(
    grpc::CallbackServerContext* context,
    const v1::LinkWithAppTokenRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (request->app_id() <= 0) {
          return Invalid("app_id must be a positive app id",
                         "MISSING_ARGUMENT");
        }
        RETURN_IF_ERROR(
            CheckArgument(request->app_token(), "app_token", kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth,
                         oauth_->AuthFor(request->provider()));
        ASSIGN_OR_RETURN(
            Grant grant,
            auth->AppGrant(absl::StrCat(request->app_id()),
                           request->app_token(), Deadline(*context, clock_)));
        ASSIGN_OR_RETURN(
            AccountRecord record,
            accounts_->Link(tenant, auth->provider(), grant, "app"));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::LinkWithPassword(
    grpc::CallbackServerContext* context,
    const v1::LinkWithPasswordRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(CheckArgument(request->username(), "username", 320));
        RETURN_IF_ERROR(
            CheckArgument(request->password(), "password", kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth,
                         oauth_->AuthFor(request->provider()));
        ASSIGN_OR_RETURN(
            Grant grant,
            auth->PasswordGrant(request->username(), request->password(),
                                Deadline(*context, clock_)));
        ASSIGN_OR_RETURN(
            AccountRecord record,
            accounts_->Link(tenant, auth->provider(), grant, "password"));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::LinkWithClientCredentials(
    grpc::CallbackServerContext* context,
    const v1::LinkWithClientCredentialsRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(
            CheckArgument(request->client_id(), "client_id", kMaxIdBytes));
        RETURN_IF_ERROR(CheckArgument(request->client_secret(), "client_secret",
                                      kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth,
                         oauth_->AuthFor(request->provider()));
        ASSIGN_OR_RETURN(Grant grant,
                         auth->ClientCredentialsGrant(
                             request->client_id(), request->client_secret(),
                             Deadline(*context, clock_)));
        ASSIGN_OR_RETURN(AccountRecord record,
                         accounts_->Link(tenant, auth->provider(), grant,
                                         "client_credentials"));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::ImportTokens(
    grpc::CallbackServerContext* context,
    const v1::ImportTokensRequest* request, v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(CheckArgument(request->access_token(), "access_token",
                                      kMaxSecretBytes));
        RETURN_IF_ERROR(CheckArgument(request->refresh_token(), "refresh_token",
                                      kMaxSecretBytes, false));
        ASSIGN_OR_RETURN(ProviderAuth * auth,
                         oauth_->AuthFor(request->provider()));
        Grant tokens;
        tokens.access_token = request->access_token();
        tokens.refresh_token = request->refresh_token();
        if (request->has_access_token_expires_at()) {
          tokens.expires_at =
              absl::FromUnixMillis(TimeUtil::TimestampToMilliseconds(
                  request->access_token_expires_at()));
        }
        ASSIGN_OR_RETURN(
            AccountRecord record,
            accounts_->Import(tenant, auth->provider(), std::move(tokens)));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::ListIntegratedAccounts(
    grpc::CallbackServerContext* context,
    const v1::ListIntegratedAccountsRequest* request,
    v1::ListIntegratedAccountsResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        int limit = request->limit() == 0 ? 100 : request->limit();
        if (limit < 1 || limit > 500) {
          return Invalid("limit must be between 1 and 500 (0 means 100)",
                         "INVALID_LIMIT");
        }
        RETURN_IF_ERROR(CheckArgument(request->end_customer_id(),
                                      "end_customer_id", kMaxEndCustomerIdBytes,
                                      false));
        // A cursor continues its own filter only.
        const CursorBinding binding{tenant, "", kListResource,
                                    request->end_customer_id()};
        ASSIGN_OR_RETURN(CursorState cursor,
                         signer_->Open(binding, request->cursor()));
        ASSIGN_OR_RETURN(std::vector<AccountRecord> page,
                         accounts_->List(tenant, cursor.page_token, limit + 1,
                                         request->end_customer_id()));
        const bool more = static_cast<int>(page.size()) > limit;
        if (more) page.resize(limit);
        for (const AccountRecord& r : page) *response->add_result() = View(r);
        if (more) {
          response->set_next_cursor(
              signer_->Seal(binding, CursorState{page.back().id, 0}));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::GetIntegratedAccount(
    grpc::CallbackServerContext* context,
    const v1::GetIntegratedAccountRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(CheckArgument(request->integrated_account_id(),
                                      "integrated_account_id", kMaxIdBytes));
        ASSIGN_OR_RETURN(
            AccountRecord record,
            accounts_->Get(tenant, request->integrated_account_id()));
        *response = View(record);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::DeleteIntegratedAccount(
    grpc::CallbackServerContext* context,
    const v1::DeleteIntegratedAccountRequest* request,
    v1::DeleteIntegratedAccountResponse*) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(CheckArgument(request->integrated_account_id(),
                                      "integrated_account_id", kMaxIdBytes));
        if (watch_ != nullptr) {
          // Its hooks go while its credentials can still remove them.
          RETURN_IF_ERROR(
              watch_->Unwatch({tenant, request->integrated_account_id()}));
        }
        return accounts_->Delete(tenant, request->integrated_account_id());
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::RefreshCredentials(
    grpc::CallbackServerContext* context,
    const v1::RefreshCredentialsRequest* request,
    v1::IntegratedAccount* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        RETURN_IF_ERROR(CheckArgument(request->integrated_account_id(),
                                      "integrated_account_id", kMaxIdBytes));
        ASSIGN_OR_RETURN(
            AccountRecord record,
            accounts_->ForceRefresh(tenant, request->integrated_account_id(),
                                    absl::FromChrono(context->deadline())));
        *response = View(record);
        return absl::OkStatus();
      });
}

}  // namespace unified
