#include "service/webhooks/webhook_deliverer.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/watch/watch_stream.h"
#include "service/webhooks/payloads.h"

namespace unified::webhooks {
namespace {

std::string RandomOwner() {
  unsigned char bytes[12];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

// What an endpoint's last_error shows of a failed attempt: the HTTP status,
// or one of two words, never the transport's own message. Finer detail
// (refused, reset, timed out, not HTTP) would tell the endpoint's owner
// which internal ports are open.
std::string DeliveryError(const absl::StatusOr<HttpResponse>& r) {
  if (r.ok()) return absl::StrCat("HTTP status ", r->status);
  return TransportFailureOf(r.status()) == TransportFailure::kTls
             ? "TLS failed"
             : "unreachable";
}

}  // namespace

struct WebhookDeliverer::Next {
  bool directory = false;
  int64_t position = 0;
  std::string id;
  std::string body;
};

accounts::SealContext SecretContext(const std::string& tenant) {
  return accounts::SealContext{tenant, "", "webhook_secret"};
}

WebhookDeliverer::WebhookDeliverer(WebhookStore* endpoints,
                                   accounts::CredentialStore* accounts,
                                   watch::EventLog* directory,
                                   const accounts::Sealer* sealer,
                                   HttpClient* http, Clock* clock,
                                   DelivererOptions options)
    : endpoints_(endpoints),
      accounts_(accounts),
      directory_(directory),
      sealer_(sealer),
      http_(http),
      clock_(clock),
      options_(options),
      owner_(RandomOwner()) {}

WebhookDeliverer::~WebhookDeliverer() { Stop(); }

void WebhookDeliverer::Start() {
  worker_ = std::thread([this] { Loop(); });
}

void WebhookDeliverer::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

void WebhookDeliverer::Loop() {
  while (true) {
    RunOnce();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.tick);
    if (stopping_) return;
  }
}

void WebhookDeliverer::RunOnce() {
  absl::StatusOr<std::vector<Endpoint>> due =
      endpoints_->Claim(clock_->Now(), options_.lease, owner_, 20);
  if (!due.ok()) {
    LogEvent(LogLevel::kError, "webhooks: endpoints not read",
             absl::StrCat("\"error\":", JsonQuote(due.status().ToString())));
    return;
  }
  for (Endpoint& e : *due) Deliver(std::move(e));
}

absl::StatusOr<bool> WebhookDeliverer::NextEvent(const Endpoint& e,
                                                 Next* next) {
  ASSIGN_OR_RETURN(std::vector<watch::StoredEvent> dir,
                   directory_->ReadTenantEvents(e.tenant, {}, e.dir_tseq, 1));
  ASSIGN_OR_RETURN(std::vector<accounts::AccountEvent> acct,
                   accounts_->ReadAccountEvents(e.tenant, e.acct_seq, 1));
  if (dir.empty() && acct.empty()) return false;
  // The older of the two; on a tie, the account event (an account is
  // linked before its directory changes).
  if (!acct.empty() && (dir.empty() || acct[0].at <= dir[0].at)) {
    next->directory = false;
    next->position = acct[0].seq;
    next->id = absl::StrCat("msg_a", acct[0].seq);
    next->body = Body(ToProto(acct[0]));
  } else {
    next->directory = true;
    next->position = dir[0].tseq;
    next->id = absl::StrCat("msg_d", dir[0].tseq);
    next->body = Body(watch::ToProto(dir[0]));
  }
  return true;
}

std::string WebhookDeliverer::Post(
    const Endpoint& e, const Next& next, const std::string& key,
    const std::optional<std::string>& previous_key, absl::Time now) {
  absl::StatusOr<ParsedUrl> parsed = ParseWebhookUrl(e.url);
  if (!parsed.ok() || !CheckWebhookUrl(e.url, options_.url_policy).ok()) {
    return "unreachable";
  }
  HttpRequest request;
  request.method = "POST";
  request.url = e.url;
  request.body = next.body;
  request.timeout = options_.attempt_timeout;
  request.allow_peer = [https = parsed->https, policy = options_.url_policy](
                           absl::string_view address) {
    return PeerAllowed(address, https, policy);
  };
  const int64_t timestamp = absl::ToUnixSeconds(now);
  std::string signature = Sign(key, next.id, timestamp, next.body);
  if (previous_key.has_value()) {
    absl::StrAppend(&signature, " ",
                    Sign(*previous_key, next.id, timestamp, next.body));
  }
  request.headers = {
      {"Content-Type", "application/json"},
      {"webhook-id", next.id},
      {"webhook-timestamp", absl::StrCat(timestamp)},
      {"webhook-signature", signature},
  };
  absl::StatusOr<HttpResponse> r = http_->Send(request);
  if (r.ok() && r->status / 100 == 2) return "";
  return DeliveryError(r);
}

void WebhookDeliverer::Deliver(Endpoint e) {
  auto fail_quietly = [&](const absl::Status& s) {
    LogEvent(LogLevel::kError, "webhooks: delivery failed",
             absl::StrCat("\"tenant\":", JsonQuote(e.tenant),
                          ",\"error\":", JsonQuote(s.ToString())));
    (void)endpoints_->Release(e.tenant, owner_);
  };
  absl::StatusOr<std::string> secret =
      sealer_->Open(SecretContext(e.tenant), e.sealed_secret);
  absl::StatusOr<std::string> key =
      secret.ok() ? SecretKey(*secret) : secret.status();
  if (!key.ok()) return fail_quietly(key.status());
  // A rotated secret signs too until its overlap ends, so receivers can
  // switch to the new one at their own pace.
  std::optional<std::string> previous_key;
  if (!e.previous_sealed_secret.empty() && clock_->Now() < e.previous_until) {
    absl::StatusOr<std::string> previous =
        sealer_->Open(SecretContext(e.tenant), e.previous_sealed_secret);
    absl::StatusOr<std::string> k =
        previous.ok() ? SecretKey(*previous) : previous.status();
    if (k.ok()) previous_key = *k;
  }
  for (int sent = 0; sent < options_.batch; ++sent) {
    Next next;
    absl::StatusOr<bool> has = NextEvent(e, &next);
    if (!has.ok()) return fail_quietly(has.status());
    if (!*has) break;
    const absl::Time now = clock_->Now();
    const std::string error = Post(e, next, *key, previous_key, now);
    if (error.empty()) {
      absl::StatusOr<bool> held = endpoints_->Delivered(
          e.tenant, owner_, next.directory, next.position);
      if (!held.ok() || !*held) return;  // Another replica has it now.
      (next.directory ? e.dir_tseq : e.acct_seq) = next.position;
      e.attempts = 0;
      e.first_failure = absl::InfinitePast();
      continue;
    }
    // A failure: back off (exponentially, with jitter) or give up.
    const absl::Time first =
        e.first_failure == absl::InfinitePast() ? now : e.first_failure;
    const bool give_up = now - first >= options_.give_up_after;
    const absl::Duration delay =
        std::min(
            options_.retry_max,
            options_.retry_base * std::pow(2.0, std::min(e.attempts, 30))) *
        absl::Uniform(random_, 0.5, 1.0);
    (void)endpoints_->Failed(e.tenant, owner_, error, now, now + delay,
                             give_up);
    return;
  }
  (void)endpoints_->Release(e.tenant, owner_);
}

absl::Status DelivererOptions::Validate() const {
  if (retry_base <= absl::ZeroDuration() ||
      give_up_after <= absl::ZeroDuration() || lease <= absl::ZeroDuration() ||
      tick <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--webhook_retry_base, --webhook_give_up_after, --webhook_lease and "
        "--webhook_tick must be positive");
  }
  return absl::OkStatus();
}

}  // namespace unified::webhooks
