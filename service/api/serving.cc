#include "service/api/serving.h"

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"

namespace unified {
namespace {

// How often the ticker visits the open streams: stall timeouts and
// heartbeats are decided within this much of their time.
constexpr absl::Duration kTickPeriod = absl::Milliseconds(250);

absl::Status Refused(absl::string_view what, int limit, absl::string_view flag,
                     absl::string_view reason, absl::Duration retry) {
  return WithRetryDelay(
      WithErrorInfo(absl::ResourceExhaustedError(
                        absl::StrCat(what, " (", limit, ", ", flag,
                                     "); retry when one of them has ended")),
                    reason, {{"limit", absl::StrCat(limit)}}),
      retry);
}

}  // namespace

Admission& Admission::operator=(Admission&& other) noexcept {
  if (this != &other) {
    Release();
    serving_ = other.serving_;
    kind_ = other.kind_;
    tenant_ = std::move(other.tenant_);
    key_hash_ = std::move(other.key_hash_);
    generation_ = other.generation_;
    other.serving_ = nullptr;
  }
  return *this;
}

void Admission::Release() {
  if (serving_ != nullptr) serving_->Give(kind_, tenant_);
  serving_ = nullptr;
}

Serving::Serving(const TenantAuthenticator* tenants, WorkerPool* pool,
                 ServingOptions options, Observability* observability)
    : tenants_(tenants),
      pool_(pool),
      options_(options),
      observability_(observability),
      ticker_(std::make_unique<StreamTicker>(kTickPeriod)) {}

Serving::~Serving() = default;

std::shared_ptr<std::atomic<int>> Serving::UpstreamCounter(
    const grpc::ServerContextBase* context) const {
  if (observability_ == nullptr) return nullptr;
  std::shared_ptr<CallRecord> record = observability_->Record(context);
  return record != nullptr ? record->upstream_calls : nullptr;
}

std::shared_ptr<ReadAheadAllowance> Serving::ReadAheadOf(
    const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<ReadAheadAllowance>& room = read_ahead_[tenant];
  if (room == nullptr) {
    room = std::make_shared<ReadAheadAllowance>(options_.tenant_max_read_ahead);
  }
  return room;
}

void Serving::OnUnreadableRecords(int64_t records) const {
  if (observability_ != nullptr && records > 0) {
    observability_->OnUnreadableRecords(records);
  }
}

absl::StatusOr<Admission> Serving::Admit(const grpc::ServerContextBase& context,
                                         Kind kind) {
  const uint64_t generation = tenants_->generation();
  std::string key_hash;
  ASSIGN_OR_RETURN(std::string tenant,
                   tenants_->Authenticate(context, &key_hash));
  if (observability_ != nullptr) {
    if (std::shared_ptr<CallRecord> record = observability_->Record(&context)) {
      {
        absl::MutexLock lock(&record->mu);
        record->tenant = tenant;
      }
      if (record->oversized) {
        return WithErrorInfo(
            absl::ResourceExhaustedError(
                absl::StrCat("the request message is larger than ",
                             observability_->max_request_bytes(), " bytes")),
            "MESSAGE_TOO_LARGE",
            {{"limit", absl::StrCat(observability_->max_request_bytes())}});
      }
    }
  }
  const int k = static_cast<int>(kind);
  {
    absl::MutexLock lock(&mu_);
    std::array<int, 3>& used = in_use_[tenant];
    const absl::Duration retry = options_.refused_retry_delay;
    switch (kind) {
      case Kind::kCall:
        if (used[k] >= options_.tenant_max_calls) {
          return Refused("this API key has as many calls in flight as it may",
                         options_.tenant_max_calls, "--tenant_max_calls",
                         "TENANT_CONCURRENCY_EXHAUSTED", retry);
        }
        break;
      case Kind::kStream:
        if (used[k] >= options_.tenant_max_streams) {
          return Refused("this API key has as many streams open as it may",
                         options_.tenant_max_streams, "--tenant_max_streams",
                         "TENANT_STREAMS_EXHAUSTED", retry);
        }
        break;
      case Kind::kWatch:
        if (used[k] >= options_.tenant_max_watch_streams) {
          return Refused(
              "this API key has as many WatchDirectory streams open as it may",
              options_.tenant_max_watch_streams, "--tenant_max_watch_streams",
              "TENANT_WATCH_STREAMS_EXHAUSTED", retry);
        }
        if (watch_streams_ >= options_.max_watch_streams) {
          return Refused(
              "this server has as many WatchDirectory streams open as it "
              "serves; try another replica or later",
              options_.max_watch_streams, "--max_watch_streams",
              "WATCH_STREAMS_EXHAUSTED", retry);
        }
        ++watch_streams_;
        break;
    }
    ++used[k];
  }
  Admission admission;
  admission.serving_ = this;
  admission.kind_ = k;
  admission.tenant_ = std::move(tenant);
  admission.key_hash_ = std::move(key_hash);
  admission.generation_ = generation;
  return admission;
}

absl::Status Serving::StillAuthorized(Admission& admission) const {
  const uint64_t now = tenants_->generation();
  if (admission.generation_ == now || admission.serving_ == nullptr) {
    return absl::OkStatus();
  }
  if (!tenants_->Holds(admission.tenant_, admission.key_hash_)) {
    return WithErrorInfo(
        absl::UnauthenticatedError(
            "the API key of this stream was removed or replaced"),
        "API_KEY_REVOKED");
  }
  admission.generation_ = now;
  return absl::OkStatus();
}

void Serving::BeginStopping(absl::Time end_at) {
  stop_at_ms_.store(absl::ToUnixMillis(end_at));
  stopping_since_ms_.store(absl::ToUnixMillis(absl::Now()));
}

absl::Status Serving::ShuttingDown() {
  // The client tries again at once: another replica, or this service once
  // it is back (its connection attempts back off on their own).
  return WithRetryDelay(
      WithErrorInfo(absl::UnavailableError(
                        "the server is shutting down; try again (streams: "
                        "resume from the last cursor or token received)"),
                    "SERVER_SHUTTING_DOWN"),
      absl::Milliseconds(100));
}

absl::Status Serving::StillServing(Kind kind, absl::Time now) const {
  // Watch streams never end on their own: they go at once. Listings, like
  // calls, may finish until the end.
  const int64_t at =
      kind == Kind::kWatch ? stopping_since_ms_.load() : stop_at_ms_.load();
  if (absl::ToUnixMillis(now) < at) return absl::OkStatus();
  return ShuttingDown();
}

bool Serving::PastStop() const {
  // Asked on every poll of a transfer: no clock read until a stop is set.
  const int64_t stop_at = stop_at_ms_.load();
  return stop_at != INT64_MAX && absl::ToUnixMillis(absl::Now()) >= stop_at;
}

void Serving::Give(int kind, const std::string& tenant) {
  absl::MutexLock lock(&mu_);
  if (kind == static_cast<int>(Kind::kWatch)) --watch_streams_;
  auto it = in_use_.find(tenant);
  if (it == in_use_.end()) return;
  --it->second[kind];
  if (it->second[0] == 0 && it->second[1] == 0 && it->second[2] == 0) {
    in_use_.erase(it);
  }
}

grpc::ServerUnaryReactor* RunUnary(
    Serving& serving, grpc::CallbackServerContext* context,
    std::function<absl::Status(const std::string& tenant)> body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Admission> admitted =
      serving.Admit(*context, Serving::Kind::kCall);
  if (!admitted.ok()) {
    reactor->Finish(ToGrpcStatus(admitted.status()));
    return reactor;
  }
  const std::string tenant = admitted->tenant();
  auto admission = std::make_shared<Admission>(std::move(*admitted));
  serving.pool()->Submit(
      tenant, WorkerPool::Lane::kInteractive,
      [reactor, context, admission, tenant, serving = &serving,
       body = std::move(body)] {
        absl::Status status;
        if (context->IsCancelled()) {
          status = absl::CancelledError("the client cancelled the call");
        } else if (absl::Now() >= absl::FromChrono(context->deadline())) {
          status = absl::DeadlineExceededError(
              "the call's deadline passed before it could start");
        } else if (serving->PastStop()) {
          // Queued until the stop: answered at once, never started.
          status = Serving::ShuttingDown();
        } else {
          status = body(tenant);
        }
        // What the stop cut short is answered as such (Serving::PastStop):
        // a call that stopped waiting ends CANCELLED.
        if (absl::IsCancelled(status) && serving->PastStop()) {
          status = Serving::ShuttingDown();
        }
        grpc::Status answer = ToGrpcStatus(status);
        // The slot is free before the answer leaves, so that a caller's
        // next call never finds its own last one still counted.
        admission->Release();
        reactor->Finish(answer);
      });
  return reactor;
}

StreamTicker::StreamTicker(absl::Duration period)
    : period_(period), thread_([this] { Loop(); }) {}

StreamTicker::~StreamTicker() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void StreamTicker::Add(Ticking* t) {
  absl::MutexLock lock(&mu_);
  streams_.insert(t);
}

void StreamTicker::Remove(Ticking* t) {
  absl::MutexLock lock(&mu_);
  streams_.erase(t);
}

void StreamTicker::Loop() {
  std::vector<Ticking*> visit;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), period_);
      if (stopping_) return;
      // Registered streams are referenced by gRPC until they remove
      // themselves (under this lock), so taking a reference here is safe.
      visit.assign(streams_.begin(), streams_.end());
      for (Ticking* t : visit) t->Ref();
    }
    const absl::Time now = absl::Now();
    for (Ticking* t : visit) {
      t->Tick(now);
      t->Unref();
    }
    visit.clear();
  }
}

absl::Status ServingOptions::Validate() const {
  if (tenant_max_calls < 1 || tenant_max_read_ahead < 0 ||
      tenant_max_streams < 1 || tenant_max_watch_streams < 1 ||
      max_watch_streams < 1 || stream_stall_timeout <= absl::ZeroDuration() ||
      watch_heartbeat <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--tenant_max_read_ahead must be at least 0, the stream and call "
        "limits at least 1, --stream_stall_timeout and --watch_heartbeat "
        "positive");
  }
  return absl::OkStatus();
}

}  // namespace unified
