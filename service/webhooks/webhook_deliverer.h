// Sends each tenant's events to its webhook endpoint (webhook_store.h):
// one worker thread per process; endpoints are leased in the database, so
// replicas sharing PostgreSQL split them and one event is in flight per
// endpoint at a time, in order. Each delivery is a POST of the event's
// JSON (payloads.h) with the Standard Webhooks headers: webhook-id (stable:
// "msg_d<tseq>" for a directory event, "msg_a<seq>" for an account event),
// webhook-timestamp (the attempt's, in seconds) and webhook-signature. A
// 2xx answer moves the endpoint past the event; anything else (another
// status, a transport failure, a timeout, a URL the rules now refuse) is
// retried after base * 2^(attempts-1), capped, times a random factor in
// [0.5, 1]; once failures have lasted `give_up_after` the endpoint is
// FAILING. Redirects are never followed.
#ifndef SERVICE_WEBHOOKS_WEBHOOK_DELIVERER_H_
#define SERVICE_WEBHOOKS_WEBHOOK_DELIVERER_H_

#include <string>
#include <thread>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "service/accounts/credential_store.h"
#include "service/accounts/sealer.h"
#include "service/watch/event_log.h"
#include "service/webhooks/webhook_store.h"
#include "service/webhooks/webhook_url.h"

namespace unified::webhooks {

struct DelivererOptions {
  UrlPolicy url_policy;
  // How often the worker looks for endpoints with events to send.
  absl::Duration tick = absl::Seconds(1);
  // How long one replica holds an endpoint (a dead replica's endpoints
  // move on after it).
  absl::Duration lease = absl::Seconds(30);
  absl::Duration retry_base = absl::Seconds(5);
  absl::Duration retry_max = absl::Hours(1);
  absl::Duration give_up_after = absl::Hours(24);
  absl::Duration attempt_timeout = absl::Seconds(15);
  // Events sent to one endpoint per lease.
  int batch = 100;

  // INVALID_ARGUMENT naming the flag of a value out of range.
  absl::Status Validate() const;
};

// The seal context of a tenant's webhook secret.
accounts::SealContext SecretContext(const std::string& tenant);

class WebhookDeliverer {
 public:
  // Not owning; all must outlive the deliverer.
  WebhookDeliverer(WebhookStore* endpoints, accounts::CredentialStore* accounts,
                   watch::EventLog* directory, const accounts::Sealer* sealer,
                   HttpClient* http, Clock* clock, DelivererOptions options);
  ~WebhookDeliverer();  // Stops the worker.

  void Start();
  void Stop();
  // One pass: every endpoint due, each until its events run out, a failure,
  // or `batch`. Tests call it with an injected clock.
  void RunOnce();

 private:
  struct Next;
  // The tenant's next undelivered event after the endpoint's cursors (the
  // older of the two logs' next), if any.
  absl::StatusOr<bool> NextEvent(const Endpoint& e, Next* next);
  void Deliver(Endpoint e);
  // POSTs `next` to the endpoint, signed with `key` (and `previous_key`
  // while a rotation overlaps): "" on a 2xx answer, else what failed
  // ("HTTP status N", "TLS failed", "unreachable").
  std::string Post(const Endpoint& e, const Next& next, const std::string& key,
                   const std::optional<std::string>& previous_key,
                   absl::Time now);
  void Loop();

  WebhookStore* const endpoints_;
  accounts::CredentialStore* const accounts_;
  watch::EventLog* const directory_;
  const accounts::Sealer* const sealer_;
  HttpClient* const http_;
  Clock* const clock_;
  const DelivererOptions options_;
  const std::string owner_;  // This process's lease name.
  absl::BitGen random_;      // Only the worker uses it.
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace unified::webhooks

#endif  // SERVICE_WEBHOOKS_WEBHOOK_DELIVERER_H_
