// IntegratedAccounts' account events and outbound webhooks:
// WatchIntegratedAccounts (the tenant's account log as a stream) and the
// webhook endpoint RPCs (docs/webhooks.md).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/api/integrated_accounts_service.h"
#include "service/core/grpc_status.h"
#include "service/core/proto_time.h"
#include "service/webhooks/payloads.h"
#include "service/webhooks/webhook_deliverer.h"

namespace unified {

namespace {

// A WatchIntegratedAccounts stream: the tenant's account log from a
// position, re-read while waiting every second (the log announces nothing;
// it is written by whichever replica made the change).
class AccountEventStream final : public PooledStream<v1::AccountEvent> {
 public:
  AccountEventStream(Serving* serving, grpc::CallbackServerContext* context,
                     Admission admission, accounts::CredentialStore* store,
                     const CursorCodec* signer, std::string resume_token)
      : PooledStream(serving, context, std::move(admission),
                     WorkerPool::Lane::kBulk),
        store_(store),
        signer_(signer),
        resume_token_(std::move(resume_token)) {}

 private:
  static constexpr int kBatch = 500;

  CursorBinding Binding() const {
    return CursorBinding{tenant(), "", "account_events", ""};
  }
  std::string Token(int64_t seq) const {
    return SealPosition(*signer_, Binding(), {"", seq});
  }

  absl::StatusOr<Step> Produce(std::vector<v1::AccountEvent>* out) override {
    if (!opened_) {
      ASSIGN_OR_RETURN(const int64_t last,
                       store_->AccountEventPosition(tenant()));
      int64_t seq = last;
      if (!resume_token_.empty()) {
        std::optional<SealedPosition> opened =
            OpenPosition(*signer_, Binding(), resume_token_);
        if (signer_->SealedUnderAnotherKey(resume_token_)) {
          return CursorKeyUnknown("resume_token");
        }
        if (opened && opened->scope.empty()) seq = opened->seq;
        if (!opened || !opened->scope.empty() || seq > last) {
          return WithErrorInfo(
              absl::InvalidArgumentError(
                  "resume_token is damaged or was issued for another tenant"),
              "INVALID_RESUME_TOKEN");
        }
      }
      absl::MutexLock lock(&mu_);
      seq_ = seq;
      token_ = resume_token_.empty() ? Token(seq) : resume_token_;
      opened_ = true;
    }
    // Rate limits that ended are logged by whichever reader (or replica)
    // looks first.
    RETURN_IF_ERROR(store_->ClearRateLimits(absl::Now()));
    int64_t after;
    {
      absl::MutexLock lock(&mu_);
      after = seq_;
    }
    ASSIGN_OR_RETURN(std::vector<accounts::AccountEvent> events,
                     store_->ReadAccountEvents(tenant(), after, kBatch));
    for (const accounts::AccountEvent& e : events) {
      v1::AccountEvent& event = out->emplace_back(webhooks::ToProto(e));
      event.set_resume_token(Token(e.seq));
      absl::MutexLock lock(&mu_);
      seq_ = e.seq;
      token_ = event.resume_token();
    }
    return static_cast<int>(events.size()) < kBatch ? Step::kWait : Step::kMore;
  }

  absl::Duration RecheckInterval() const override { return absl::Seconds(1); }

  absl::Status StallStatus(absl::Duration stalled,
                           const v1::AccountEvent& pending) override {
    return WithErrorInfo(
        absl::AbortedError(absl::StrCat(
            "the client accepted no event for ", absl::FormatDuration(stalled),
            "; the stream was ended. Watch again with the last resume_token "
            "received")),
        kStreamStalledReason, {{"resume_token", pending.resume_token()}});
  }

  std::optional<v1::AccountEvent> Heartbeat() override {
    absl::MutexLock lock(&mu_);
    if (!opened_) return std::nullopt;
    v1::AccountEvent beat;
    beat.set_type(v1::AccountEvent::HEARTBEAT);
    beat.set_sequence(seq_);
    beat.set_resume_token(token_);
    *beat.mutable_observed_at() = ToTimestamp(absl::Now());
    return beat;
  }

  accounts::CredentialStore* const store_;
  const CursorCodec* const signer_;
  const std::string resume_token_;
  // Written by Produce, read by Heartbeat (the ticker).
  absl::Mutex mu_;
  bool opened_ ABSL_GUARDED_BY(mu_) = false;
  int64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::string token_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

namespace {

v1::WebhookEndpoint EndpointView(const webhooks::Endpoint& e) {
  v1::WebhookEndpoint out;
  out.set_url(e.url);
  out.set_status(e.status == webhooks::EndpointStatus::kFailing
                     ? v1::WebhookEndpoint::FAILING
                     : v1::WebhookEndpoint::ACTIVE);
  out.set_failed_attempts(e.attempts);
  if (e.first_failure != absl::InfinitePast()) {
    *out.mutable_failing_since() = ToTimestamp(e.first_failure);
  }
  out.set_last_error(e.last_error);
  if (e.next_attempt != absl::InfinitePast()) {
    *out.mutable_next_attempt_at() = ToTimestamp(e.next_attempt);
  }
  if (!e.previous_sealed_secret.empty() && e.previous_until > absl::Now()) {
    *out.mutable_previous_secret_valid_until() = ToTimestamp(e.previous_until);
  }
  return out;
}

absl::Status NoEndpoint() {
  return WithErrorInfo(
      absl::NotFoundError("this tenant has no webhook endpoint"),
      "WEBHOOK_ENDPOINT_NOT_FOUND");
}

}  // namespace

webhooks::PreviousSecret IntegratedAccountsService::RotationOf(
    const std::optional<webhooks::Endpoint>& before, const std::string& tenant,
    const std::string& secret) const {
  if (!before.has_value()) return {};
  absl::StatusOr<std::string> old = webhooks_.sealer->Open(
      webhooks::SecretContext(tenant), before->sealed_secret);
  // The same secret again keeps whatever overlap was running.
  if (old.ok() && *old == secret) {
    return {before->previous_sealed_secret, before->previous_until};
  }
  if (!old.ok()) return {};
  return {before->sealed_secret, absl::Now() + webhooks_.secret_overlap};
}

grpc::ServerUnaryReactor* IntegratedAccountsService::SetWebhookEndpoint(
    grpc::CallbackServerContext* context,
    const v1::SetWebhookEndpointRequest* request,
    v1::WebhookEndpoint* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (webhooks_.store == nullptr || watch_ == nullptr) {
          return WithErrorInfo(
              absl::FailedPreconditionError("this server sends no webhooks"),
              "WATCH_NOT_CONFIGURED");
        }
        RETURN_IF_ERROR(
            webhooks::CheckWebhookUrl(request->url(), webhooks_.url_policy));
        RETURN_IF_ERROR(webhooks::SecretKey(request->secret()).status());
        ASSIGN_OR_RETURN(std::string sealed,
                         webhooks_.sealer->Seal(webhooks::SecretContext(tenant),
                                                request->secret()));
        // A new endpoint starts at the present of both logs.
        ASSIGN_OR_RETURN(int64_t tseq, watch_->TenantPosition(tenant));
        ASSIGN_OR_RETURN(int64_t seq, store_->AccountEventPosition(tenant));
        ASSIGN_OR_RETURN(std::optional<webhooks::Endpoint> before,
                         webhooks_.store->Get(tenant));
        RETURN_IF_ERROR(webhooks_.store->Set(
            tenant, request->url(), sealed, tseq, seq,
            RotationOf(before, tenant, request->secret())));
        ASSIGN_OR_RETURN(std::optional<webhooks::Endpoint> e,
                         webhooks_.store->Get(tenant));
        if (!e) return NoEndpoint();
        *response = EndpointView(*e);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::GetWebhookEndpoint(
    grpc::CallbackServerContext* context,
    const v1::GetWebhookEndpointRequest* request,
    v1::WebhookEndpoint* response) {
  return RunUnary(*serving_, context,
                  [=](const std::string& tenant) -> absl::Status {
                    if (webhooks_.store == nullptr) return NoEndpoint();
                    ASSIGN_OR_RETURN(std::optional<webhooks::Endpoint> e,
                                     webhooks_.store->Get(tenant));
                    if (!e) return NoEndpoint();
                    *response = EndpointView(*e);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* IntegratedAccountsService::DeleteWebhookEndpoint(
    grpc::CallbackServerContext* context,
    const v1::DeleteWebhookEndpointRequest* request,
    v1::DeleteWebhookEndpointResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (webhooks_.store == nullptr) return NoEndpoint();
        ASSIGN_OR_RETURN(bool deleted, webhooks_.store->Delete(tenant));
        return deleted ? absl::OkStatus() : NoEndpoint();
      });
}

grpc::ServerWriteReactor<v1::AccountEvent>*
IntegratedAccountsService::WatchIntegratedAccounts(
    grpc::CallbackServerContext* context,
    const v1::WatchIntegratedAccountsRequest* request) {
  absl::StatusOr<Admission> admitted =
      serving_->Admit(*context, Serving::Kind::kWatch);
  absl::Status refused = admitted.status();
  if (refused.ok() && request->resume_token().size() > 1024) {
    refused = WithErrorInfo(
        absl::InvalidArgumentError("resume_token is not one we issued"),
        "INVALID_RESUME_TOKEN");
  }
  if (!refused.ok()) {
    return new FinishedStream<v1::AccountEvent>(ToGrpcStatus(refused));
  }
  auto* stream =
      new AccountEventStream(serving_, context, std::move(*admitted), store_,
                             signer_, request->resume_token());
  stream->Start();
  return stream;
}

}  // namespace unified
