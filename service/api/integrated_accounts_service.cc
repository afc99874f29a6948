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
#include "service/core/budget_report.h"
#include "service/core/grpc_status.h"
#include "service/webhooks/payloads.h"
#include "service/webhooks/webhook_deliverer.h"

namespace unified {
namespace {

using accounts::AccountRecord;
using google::protobuf::util::TimeUtil;

constexpr size_t kMaxIdBytes = 128;
constexpr size_t kMaxSecretBytes = 4096;
constexpr size_t kMaxUriBytes = 2048;
constexpr absl::Duration kMaxGrantTime = absl::Seconds(30);
constexpr char kStateResource[] = "oauth_state";
constexpr char kListResource[] = "integrated_accounts";

absl::Status Invalid(const std::string& message, absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

absl::Status Check(const std::string& value, absl::string_view name,
                   size_t max_bytes, bool required = true) {
  if (required && value.empty()) {
    return Invalid(absl::StrCat(name, " is required"), "MISSING_ARGUMENT");
  }
  if (value.size() > max_bytes) {
    return Invalid(absl::StrCat(name, " is longer than ", max_bytes, " bytes"),
                   "INVALID_ARGUMENT");
  }
  // Control characters (CR, LF, NUL, ...) belong in no credential or name;
  // sent on, they would break the provider request rather than fail it.
  if (std::any_of(value.begin(), value.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return Invalid(absl::StrCat(name, " holds a control character"),
                   "MALFORMED_CREDENTIALS");
  }
  return absl::OkStatus();
}

google::protobuf::Timestamp Timestamp(absl::Time t) {
  return TimeUtil::MillisecondsToTimestamp(absl::ToUnixMillis(t));
}

absl::Time Deadline(const grpc::ServerContextBase& context, Clock* clock) {
  return std::min(absl::FromChrono(context.deadline()),
                  clock->Now() + kMaxGrantTime);
}

// The fields a state carries, length-prefixed so none can run into another.
struct StateFields {
  std::string tenant;
  std::string nonce;
  int64_t expires_ms = 0;
  std::string redirect_uri;
  std::string account_id;
  std::string provider;  // "" in states of the first releases: the default.
};

std::string Encode(const StateFields& f) {
  std::string out;
  for (const std::string& part : {f.tenant, f.nonce, absl::StrCat(f.expires_ms),
                                  f.redirect_uri, f.account_id, f.provider}) {
    absl::StrAppend(&out, part.size(), ":", part);
  }
  return out;
}

bool Decode(absl::string_view text, StateFields* f) {
  std::vector<std::string> parts;
  while (!text.empty() && parts.size() < 6) {
    const size_t colon = text.find(':');
    size_t n = 0;
    if (colon == absl::string_view::npos ||
        !absl::SimpleAtoi(text.substr(0, colon), &n) ||
        n > text.size() - colon - 1) {
      return false;
    }
    parts.emplace_back(text.substr(colon + 1, n));
    text.remove_prefix(colon + 1 + n);
  }
  if (parts.size() < 5 || !text.empty() ||
      !absl::SimpleAtoi(parts[2], &f->expires_ms)) {
    return false;
  }
  f->tenant = parts[0];
  f->nonce = parts[1];
  f->redirect_uri = parts[3];
  f->account_id = parts[4];
  if (parts.size() == 6) f->provider = parts[5];
  return true;
}

absl::Status InvalidState(absl::string_view why) {
  return Invalid(absl::StrCat("invalid OAuth state: ", why), "INVALID_STATE");
}

absl::Status CheckRedirectUri(const std::string& uri) {
  RETURN_IF_ERROR(Check(uri, "redirect_uri", kMaxUriBytes));
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
  *out.mutable_access_token_expires_at() = Timestamp(record.access_expires_at);
  out.set_link_method(record.link_method);
  *out.mutable_create_time() = Timestamp(record.created_at);
  *out.mutable_update_time() = Timestamp(record.updated_at);
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

absl::StatusOr<ProviderAuth*> IntegratedAccountsService::AuthFor(
    const std::string& provider) const {
  RETURN_IF_ERROR(Check(provider, "provider", 64, false));
  const std::string name =
      provider.empty() ? options_.default_provider : provider;
  ProviderAuth* auth = accounts_->auth(name);
  if (auth == nullptr) {
    return Invalid(absl::StrCat("no connector serves provider '", name, "'"),
                   "UNKNOWN_PROVIDER");
  }
  return auth;
}

absl::StatusOr<AccountRecord> IntegratedAccountsService::Complete(
    const std::string& tenant, const std::string& code,
    const std::string& state) {
  RETURN_IF_ERROR(Check(code, "code", kMaxSecretBytes));
  RETURN_IF_ERROR(Check(state, "state", kMaxSecretBytes));
  absl::StatusOr<CursorState> opened =
      signer_->Open(CursorBinding{"", "", kStateResource, ""}, state);
  StateFields fields;
  if (!opened.ok() || opened->page_token.empty() ||
      !Decode(opened->page_token, &fields)) {
    return InvalidState("not issued by this service");
  }
  if (!tenant.empty() && fields.tenant != tenant) {
    return InvalidState("issued to another tenant");
  }
  const absl::Time expires = absl::FromUnixMillis(fields.expires_ms);
  if (clock_->Now() >= expires) return InvalidState("expired");
  absl::Status consumed =
      store_->ConsumeOnce(fields.nonce, expires, clock_->Now());
  if (consumed.code() == absl::StatusCode::kAlreadyExists) {
    return InvalidState("already used");
  }
  RETURN_IF_ERROR(consumed);
  ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(fields.provider));
  absl::StatusOr<Grant> grant = auth->ExchangeCode(
      code, fields.redirect_uri, clock_->Now() + kMaxGrantTime);
  if (!grant.ok()) return grant.status();
  return accounts_->Link(fields.tenant, auth->provider(), *grant,
                         "authorization_code", fields.account_id);
}

grpc::ServerUnaryReactor* IntegratedAccountsService::CreateAuthorizationUrl(
    grpc::CallbackServerContext* context,
    const v1::CreateAuthorizationUrlRequest* request,
    v1::CreateAuthorizationUrlResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        const std::string redirect = request->redirect_uri().empty()
                                         ? options_.default_redirect_uri
                                         : request->redirect_uri();
        RETURN_IF_ERROR(CheckRedirectUri(redirect));
        RETURN_IF_ERROR(Check(request->integrated_account_id(),
                              "integrated_account_id", kMaxIdBytes, false));
        std::string provider = request->provider();
        if (!request->integrated_account_id().empty()) {
          // Re-authorization of an account of this tenant only, with its
          // own provider.
          ASSIGN_OR_RETURN(
              accounts::AccountRecord existing,
              accounts_->Get(tenant, request->integrated_account_id()));
          if (!provider.empty() && provider != existing.provider) {
            return Invalid("provider differs from the account's",
                           "UNKNOWN_PROVIDER");
          }
          provider = existing.provider;
        }
        ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(provider));
        unsigned char nonce[16];
        RAND_bytes(nonce, sizeof(nonce));
        StateFields fields;
        fields.tenant = tenant;
        fields.nonce = absl::BytesToHexString(absl::string_view(
            reinterpret_cast<const char*>(nonce), sizeof(nonce)));
        const absl::Time expires = clock_->Now() + options_.state_ttl;
        fields.expires_ms = absl::ToUnixMillis(expires);
        fields.redirect_uri = redirect;
        fields.account_id = request->integrated_account_id();
        fields.provider = auth->provider();
        const std::string state =
            signer_->Seal(CursorBinding{"", "", kStateResource, ""},
                          CursorState{Encode(fields), 0});
        response->set_state(state);
        ASSIGN_OR_RETURN(std::string page, auth->AuthorizeUrl(redirect, state));
        response->set_authorization_url(std::move(page));
        *response->mutable_expire_time() = Timestamp(expires);
        return absl::OkStatus();
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
            Check(request->app_token(), "app_token", kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(request->provider()));
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
        RETURN_IF_ERROR(Check(request->username(), "username", 320));
        RETURN_IF_ERROR(
            Check(request->password(), "password", kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(request->provider()));
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
        RETURN_IF_ERROR(Check(request->client_id(), "client_id", kMaxIdBytes));
        RETURN_IF_ERROR(
            Check(request->client_secret(), "client_secret", kMaxSecretBytes));
        ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(request->provider()));
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
        RETURN_IF_ERROR(
            Check(request->access_token(), "access_token", kMaxSecretBytes));
        RETURN_IF_ERROR(Check(request->refresh_token(), "refresh_token",
                              kMaxSecretBytes, false));
        ASSIGN_OR_RETURN(ProviderAuth * auth, AuthFor(request->provider()));
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
        const CursorBinding binding{tenant, "", kListResource, ""};
        ASSIGN_OR_RETURN(CursorState cursor,
                         signer_->Open(binding, request->cursor()));
        ASSIGN_OR_RETURN(std::vector<AccountRecord> page,
                         accounts_->List(tenant, cursor.page_token, limit + 1));
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
        RETURN_IF_ERROR(Check(request->integrated_account_id(),
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
        RETURN_IF_ERROR(Check(request->integrated_account_id(),
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
        RETURN_IF_ERROR(Check(request->integrated_account_id(),
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
