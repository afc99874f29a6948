// The serving model: gRPC's callback API on gRPC's own few threads, blocking
// work on the WorkerPool, per-tenant admission. docs/serving.md explains the
// design, the thread bound and the limits.
//
//  - Serving::Admit authenticates the caller and takes one of the tenant's
//    slots (unary calls in flight, listing streams open, watch streams
//    open); beyond a limit the call is refused with RESOURCE_EXHAUSTED, an
//    ErrorInfo reason and a RetryInfo.
//  - RunUnary runs a unary handler's body on the pool and finishes the call.
//  - PooledStream is a server stream whose messages are produced by blocking
//    steps on the pool, one step (about one upstream page) ahead of the
//    client. While the client is slow or the stream waits for news it holds
//    no thread, only its buffered messages. A stream whose client accepted
//    no message for the stall timeout is finished with ABORTED (reason
//    STREAM_STALLED, saying where to resume) and its buffers are freed.
#ifndef SERVICE_API_SERVING_H_
#define SERVICE_API_SERVING_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/common/call_context.h"
#include "connectors/common/log_line.h"
#include "grpcpp/grpcpp.h"
#include "service/api/observability.h"
#include "service/core/grpc_status.h"
#include "service/core/tenants.h"
#include "service/core/worker_pool.h"

namespace unified {

struct ServingOptions {
  // Unary calls one tenant may have in flight (queued or running).
  int tenant_max_calls = 64;
  // Listing and proxy streams one tenant may have open.
  int tenant_max_streams = 64;
  // WatchDirectory streams one tenant may have open (they hold no thread
  // and little memory while idle).
  int tenant_max_watch_streams = 1000;
  // WatchDirectory streams open on this server, all tenants together.
  int max_watch_streams = 10000;
  // A stream whose client accepted no message for this long is ended.
  absl::Duration stream_stall_timeout = absl::Seconds(30);
  // An idle WatchDirectory stream sends a HEARTBEAT event this often.
  absl::Duration watch_heartbeat = absl::Seconds(15);
  // The retry delay suggested to refused callers.
  absl::Duration refused_retry_delay = absl::Seconds(1);
  // Pages one tenant's listings may hold read ahead at once, over all its
  // calls (ReadAheadAllowance).
  int tenant_max_read_ahead = 128;

  // INVALID_ARGUMENT naming the flag of a value out of range.
  absl::Status Validate() const;
};

class Serving;

// One admitted call's slot; given back when released or destroyed.
// Move-only.
class Admission {
 public:
  Admission() = default;
  Admission(Admission&& other) noexcept { *this = std::move(other); }
  Admission& operator=(Admission&& other) noexcept;
  ~Admission() { Release(); }

  const std::string& tenant() const { return tenant_; }
  // Its Serving::Kind, as a number.
  int kind() const { return kind_; }
  void Release();

 private:
  friend class Serving;
  Serving* serving_ = nullptr;
  int kind_ = 0;
  std::string tenant_;
  std::string key_hash_;     // The caller's API key, hashed.
  uint64_t generation_ = 0;  // The key set it was last found in.
};

class StreamTicker;

// Thread-safe. Not owning the authenticator or the pool.
class Serving {
 public:
  enum class Kind { kCall = 0, kStream = 1, kWatch = 2 };

  // `observability` records calls for metrics and the access log (null:
  // nowhere).
  Serving(const TenantAuthenticator* tenants, WorkerPool* pool,
          ServingOptions options, Observability* observability = nullptr);
  ~Serving();

  // The caller's tenant (UNAUTHENTICATED as TenantAuthenticator says) with
  // one of its `kind` slots, or RESOURCE_EXHAUSTED with reason
  // TENANT_CONCURRENCY_EXHAUSTED (unary calls), TENANT_STREAMS_EXHAUSTED,
  // TENANT_WATCH_STREAMS_EXHAUSTED or WATCH_STREAMS_EXHAUSTED (the
  // server's), and a RetryInfo.
  absl::StatusOr<Admission> Admit(const grpc::ServerContextBase& context,
                                  Kind kind);

  WorkerPool* pool() const { return pool_; }
  const ServingOptions& options() const { return options_; }

  // OK while the admission's API key still names its tenant; once a reload
  // removed or reassigned it, UNAUTHENTICATED with reason API_KEY_REVOKED.
  // Cheap when the keys have not changed since the last ask. Not
  // thread-safe for one admission (a stream asks under its own lock).
  absl::Status StillAuthorized(Admission& admission) const;

  // The shutdown's last step before gRPC cancels what still runs
  // (service/server_builder.cc): watch streams end at once, other streams and
  // calls still running at `end_at` end then, each with UNAVAILABLE, reason
  // SERVER_SHUTTING_DOWN and a RetryInfo, never gRPC's bare CANCELLED.
  void BeginStopping(absl::Time end_at);
  // OK, or the SERVER_SHUTTING_DOWN status a stream of `kind` ends with
  // now.
  absl::Status StillServing(Kind kind, absl::Time now) const;
  // True once `end_at` has passed: unary calls stop what they wait for.
  bool PastStop() const;
  // The SERVER_SHUTTING_DOWN status.
  static absl::Status ShuttingDown();

  // The counter of upstream requests of the call `context` serves, for its
  // connector's CallContext (null when calls are not observed).
  std::shared_ptr<std::atomic<int>> UpstreamCounter(
      const grpc::ServerContextBase* context) const;
  // The room `tenant`'s listings share for pages read ahead (made on first
  // use, kept while the server runs).
  std::shared_ptr<ReadAheadAllowance> ReadAheadOf(const std::string& tenant);
  // Provider rows a listing left out because they could not be read
  // (Page::unreadable), for the metrics.
  void OnUnreadableRecords(int64_t records) const;
  StreamTicker* ticker() const { return ticker_.get(); }

 private:
  friend class Admission;
  void Give(int kind, const std::string& tenant);

  const TenantAuthenticator* const tenants_;
  WorkerPool* const pool_;
  const ServingOptions options_;
  Observability* const observability_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::array<int, 3>> in_use_
      ABSL_GUARDED_BY(mu_);
  int watch_streams_ ABSL_GUARDED_BY(mu_) = 0;
  // BeginStopping: when it was called and when every call ends (Unix ms;
  // INT64_MAX until then).
  std::atomic<int64_t> stopping_since_ms_{INT64_MAX};
  std::atomic<int64_t> stop_at_ms_{INT64_MAX};
  absl::flat_hash_map<std::string, std::shared_ptr<ReadAheadAllowance>>
      read_ahead_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<StreamTicker> ticker_;
};

// Runs `body` for an admitted unary call on the pool (interactive lane) and
// finishes the call with its status (service/core/grpc_status.h). A call whose
// deadline passed or that was cancelled while queued is answered without
// running `body`. `body` may use the call's request, response and context:
// they live until it returns.
// `body` gets the caller's tenant.
grpc::ServerUnaryReactor* RunUnary(
    Serving& serving, grpc::CallbackServerContext* context,
    std::function<absl::Status(const std::string& tenant)> body);

// Something the ticker visits a few times a second.
class Ticking {
 public:
  virtual ~Ticking() = default;
  virtual void Tick(absl::Time now) = 0;
  virtual void Ref() = 0;
  virtual void Unref() = 0;
};

// One thread that visits every open stream every `period`: stall timeouts
// and heartbeats are decided there, so no stream needs a timer of its own.
class StreamTicker {
 public:
  explicit StreamTicker(absl::Duration period);
  ~StreamTicker();
  // `t` stays registered until Remove(); it must be alive (referenced) then.
  void Add(Ticking* t);
  void Remove(Ticking* t);

 private:
  void Loop();
  const absl::Duration period_;
  absl::Mutex mu_;
  std::set<Ticking*> streams_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// A stream refused before it started: finished at once with `status`.
template <typename Response>
class FinishedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit FinishedStream(grpc::Status status) {
    this->Finish(std::move(status));
  }
  void OnDone() override { delete this; }
};

// How long a stream finished for its stalled reader waits, still holding
// the one message the client has not taken, before it is reset: a client
// that reads again soon still receives the status saying where to resume.
inline constexpr absl::Duration kStalledResetAfter = absl::Seconds(60);

// The reason of a stream ended for its stalled reader.
inline constexpr char kStreamStalledReason[] = "STREAM_STALLED";

// A server-streaming call fed by blocking steps on the pool. Subclasses
// implement Produce(); the base writes what it produced, keeps at most one
// produced step ahead of the one being written, watches for stalls, and
// finishes the call exactly once. Reference counted: gRPC holds one
// reference until OnDone, and each pool job in flight one.
template <typename Response>
class PooledStream : public grpc::ServerWriteReactor<Response>, public Ticking {
 public:
  void Start() {
    serving_->ticker()->Add(this);
    Pump();
  }

  void Ref() override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() override {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  enum class Step { kMore, kDone, kWait };

  // `admission` is the stream's slot, held until the call is over.
  PooledStream(Serving* serving, grpc::CallbackServerContext* context,
               Admission admission, WorkerPool::Lane lane)
      : serving_(serving),
        context_(context),
        admission_(std::move(admission)),
        lane_(lane),
        deadline_(absl::FromChrono(context->deadline())),
        last_activity_(absl::Now()) {}
  ~PooledStream() override = default;

  // Runs on the pool, never two at once: appends the next messages to
  // `out` (none is fine). kMore: call again; kDone: that was the end; kWait:
  // call again after Wake(). An error ends the stream with it once the
  // messages produced before it are sent.
  virtual absl::StatusOr<Step> Produce(std::vector<Response>* out) = 0;
  // Called (under the stream's lock; must not block) for each message the
  // client accepted.
  virtual void Sent(const Response& message) {}
  // The status that ends a stalled stream: ABORTED, reason STREAM_STALLED,
  // and where to resume: right after `pending`, the message gRPC still
  // holds for the client (which receives it before the status if it reads
  // again). Under the stream's lock.
  virtual absl::Status StallStatus(absl::Duration stalled,
                                   const Response& pending) = 0;
  // A message for an idle, waiting stream (kWait) every heartbeat
  // interval; nullopt for none. Under the stream's lock.
  virtual std::optional<Response> Heartbeat() { return std::nullopt; }
  // How often a waiting stream (kWait) produces again unwoken, to re-read
  // a source that announces nothing (about, at the ticker's period).
  // Infinite: only Wake() does. Called under the stream's lock.
  virtual absl::Duration RecheckInterval() const {
    return absl::InfiniteDuration();
  }
  // Right before a normal Finish, with no Produce running: trailing
  // metadata may be added here.
  virtual void BeforeFinish() {}
  // Once the call is over (OnDone), with no lock held.
  virtual void Stopped() {}

  // Produce again after kWait. Thread-safe; a Wake during Produce counts.
  void Wake() {
    {
      absl::MutexLock lock(&mu_);
      if (waiting_) {
        waiting_ = false;
      } else {
        wake_pending_ = true;
      }
    }
    Pump();
  }

  // From Produce only, for a step that cannot end early (a relayed
  // transfer): sends `message` now rather than at the end of the step,
  // first waiting while `max_queued` messages wait for the client. This
  // holds the worker while the client is slow, for the stall timeout at
  // most. False once the stream has ended: stop producing.
  bool Emit(Response message, int max_queued) {
    {
      absl::MutexLock lock(&mu_);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return finished_ || cancelled_ ||
               static_cast<int>(queue_.size()) < max_queued;
      };
      mu_.Await(absl::Condition(&room));
      if (finished_ || cancelled_) return false;
      queue_.push_back(std::move(message));
      batches_.push_back(1);
    }
    Pump();
    return true;
  }

  // True once the client cancelled, went away or the stream ended.
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  absl::Time deadline() const { return deadline_; }
  const std::string& tenant() const { return admission_.tenant(); }
  Serving* serving() const { return serving_; }

 private:
  void OnWriteDone(bool ok) override {
    // The written message is freed now (outside the lock), not when the
    // next one replaces it.
    Response written;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      last_activity_ = absl::Now();
      if (ok) {
        Sent(current_);
      }
      written.Swap(&current_);
      if (!ok) {
        cancelled_ = true;
        queue_.clear();
        batches_.clear();
      }
      if (!batches_.empty() && --batches_.front() == 0) batches_.pop_front();
    }
    Pump();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Pump();
  }

  void OnDone() override {
    serving_->ticker()->Remove(this);
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      cancelled_ = true;
      queue_.clear();
      batches_.clear();
    }
    admission_.Release();
    Stopped();
    Unref();
  }

  // Starts what the state allows: the next write, the final Finish, the
  // next Produce. Never called with mu_ held.
  void Pump() {
    bool write = false, finish = false, produce = false, trailers = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (!writing_ && !producing_ && cancelled_) {
        finished_ = true;
        finish = true;
        status = grpc::Status(grpc::StatusCode::CANCELLED,
                              "the client cancelled the stream");
      } else if (!writing_ && !cancelled_ && !queue_.empty()) {
        writing_ = true;
        wrote_ = true;
        write_started_ = absl::Now();
        current_ = std::move(queue_.front());
        queue_.pop_front();
        write = true;
      } else if (!writing_ && queue_.empty() && ended_ && !producing_) {
        finished_ = true;
        // Work the stream still has queued (downloads ahead, a budget
        // wait) stops with it.
        cancelled_ = true;
        finish = true;
        trailers = final_status_.ok();
        status = final_status_;
      }
      if (!finished_ && !producing_ && !waiting_ && !ended_ && !cancelled_ &&
          batches_.size() <= 1) {
        producing_ = true;
        produce = true;
      }
    }
    if (write) this->StartWrite(&current_);
    if (finish) {
      if (trailers) BeforeFinish();
      LogEnd(status);
      this->Finish(status);
    }
    if (produce) {
      Ref();
      serving_->pool()->Submit(tenant(), lane_, [this] {
        RunProduce();
        Unref();
      });
    }
  }

  void RunProduce() {
    std::vector<Response> out;
    absl::StatusOr<Step> step = absl::CancelledError("cancelled");
    if (!cancelled()) {
      step = absl::Now() >= deadline_
                 ? absl::DeadlineExceededError("the call's deadline passed")
                 : Produce(&out);
    }
    {
      absl::MutexLock lock(&mu_);
      producing_ = false;
      if (!done_ && !finished_ && !out.empty()) {
        batches_.push_back(static_cast<int>(out.size()));
        for (Response& m : out) queue_.push_back(std::move(m));
      }
      if (!step.ok()) {
        ended_ = true;
        final_status_ = ToGrpcStatus(step.status());
      } else if (*step == Step::kDone) {
        ended_ = true;
      } else if (*step == Step::kWait) {
        if (wake_pending_) {
          wake_pending_ = false;
        } else {
          waiting_ = true;
        }
      }
    }
    Pump();
  }

  void Tick(absl::Time now) override {
    const absl::Duration stall = serving_->options().stream_stall_timeout;
    bool finish = false, cancel = false, pump = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      if (finished_) {
        // Finished while the client still held back a write: once it has
        // not read for kStalledResetAfter (or the stall timeout, if
        // longer) more, the stream is reset.
        cancel = stalled_at_ != absl::InfinitePast() &&
                 now - stalled_at_ >= std::max(stall, kStalledResetAfter) &&
                 !reset_;
        reset_ |= cancel;
      } else if (absl::Status key = StillGoing(now); !key.ok()) {
        // The key was removed or replaced, or the server stops: the stream
        // ends now, whatever it still had to send.
        status = ToGrpcStatus(key);
        queue_.clear();
        batches_.clear();
        finished_ = true;
        cancelled_ = true;
        if (writing_) stalled_at_ = now;
        finish = true;
      } else if (writing_ && now - write_started_ >= stall) {
        status = ToGrpcStatus(StallStatus(now - write_started_, current_));
        queue_.clear();
        batches_.clear();
        finished_ = true;
        cancelled_ = true;
        stalled_at_ = now;
        finish = true;
      } else if (waiting_ && !writing_ && queue_.empty() &&
                 now - last_activity_ >= serving_->options().watch_heartbeat) {
        if (std::optional<Response> beat = Heartbeat()) {
          queue_.push_back(std::move(*beat));
          batches_.push_back(1);
          last_activity_ = now;
          pump = true;
        }
      } else if (waiting_ && now - last_recheck_ >= RecheckInterval()) {
        waiting_ = false;
        last_recheck_ = now;
        pump = true;
      }
    }
    if (finish) {
      LogEnd(status);
      this->Finish(status);
    }
    if (cancel) context_->TryCancel();
    if (pump) Pump();
  }

  // OK while the stream may go on: its key still holds and the server is
  // not stopping (Serving::StillServing).
  absl::Status StillGoing(absl::Time now) {
    absl::Status key = serving_->StillAuthorized(admission_);
    if (!key.ok()) return key;
    return serving_->StillServing(static_cast<Serving::Kind>(admission_.kind()),
                                  now);
  }

  // Streams that end in an error after sending something leave a line in
  // the log: the client may not see the status soon (it is queued behind
  // what the client has not read).
  void LogEnd(const grpc::Status& status) {
    if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED ||
        !wrote_) {
      return;
    }
    LogEvent(LogLevel::kWarning, "server: a stream ended in an error",
             absl::StrCat("\"tenant\":", JsonQuote(tenant()),
                          ",\"error\":", JsonQuote(status.error_message())));
  }

  Serving* const serving_;
  grpc::CallbackServerContext* const context_;
  Admission admission_;
  const WorkerPool::Lane lane_;
  const absl::Time deadline_;
  std::atomic<int> refs_{1};
  std::atomic<bool> cancelled_{false};

  absl::Mutex mu_;
  std::deque<Response> queue_ ABSL_GUARDED_BY(mu_);
  absl::Time last_recheck_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Messages left to write of each produced step, oldest first.
  std::deque<int> batches_ ABSL_GUARDED_BY(mu_);
  Response current_;  // The message being written.
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool producing_ ABSL_GUARDED_BY(mu_) = false;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool reset_ ABSL_GUARDED_BY(mu_) = false;
  // A write was started (LogEnd reads it after the stream's last change).
  bool wrote_ = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
  absl::Time write_started_ ABSL_GUARDED_BY(mu_);
  absl::Time last_activity_ ABSL_GUARDED_BY(mu_);
  absl::Time stalled_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace unified

#endif  // SERVICE_API_SERVING_H_
