// What an operator sees of the service: Prometheus metrics (prometheus-cpp,
// served as text at GET /metrics) and one JSON access-log line per RPC.
//
// RPCs are observed by a gRPC server interceptor, so every service (health
// and reflection too) is counted in one place: calls by service, method and
// code, latency, open streams. The interceptor also gives each call its
// request id (from `x-request-id`, else W3C `traceparent`'s trace id, else a
// new one), echoes it as `x-request-id` in the response metadata, and writes
// the access log line when the status goes out. Serving code adds what only
// it knows (tenant, account, upstream calls) through the CallRecord of the
// call's ServerContext.
//
// Labels are bounded: services and methods must exist in the descriptor
// pool (else "other"), routes are the connectors' declared templates
// (connectors/common/upstream_observer.h) or "proxy", and no account, user,
// cursor or key is ever a label. Log lines hold ids, never a credential.
// Thread-safe.
#ifndef SERVICE_API_OBSERVABILITY_H_
#define SERVICE_API_OBSERVABILITY_H_

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/log_line.h"
#include "connectors/common/upstream_observer.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "service/watch/watch_engine.h"

namespace unified {

// "debug" | "info" | "warning" | "error".
bool ParseLogLevel(absl::string_view text, LogLevel* level);

struct ObservabilityOptions {
  // One access-log line per RPC (at info level).
  bool access_log = true;
  LogLevel level = LogLevel::kInfo;
  FILE* log = stderr;  // Not owned.
  std::string version = "dev";
  // Requests of our services larger than this are flagged for refusal
  // (CallRecord::oversized); 0 = no limit here.
  size_t max_request_bytes = 0;
};

// What serving code knows of one call, for its access-log line.
struct CallRecord {
  std::string request_id;
  absl::Mutex mu;
  std::string tenant ABSL_GUARDED_BY(mu);
  std::string account ABSL_GUARDED_BY(mu);
  // Shared with the connector's CallContext, which may outlive the call
  // (downloads ahead finishing after a stream ended).
  std::shared_ptr<std::atomic<int>> upstream_calls =
      std::make_shared<std::atomic<int>>(0);
  // The request message is larger than the service accepts.
  std::atomic<bool> oversized{false};
};

// The metrics of one RPC method (resolved once per method).
struct MethodMetrics {
  std::string service, method;  // "other" when the server has no such one.
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  prometheus::Histogram* seconds = nullptr;
  prometheus::Gauge* open_streams = nullptr;
  std::atomic<prometheus::Counter*> by_code[17] = {};
  // The request's `integrated_account_id` (a string), if it has one.
  const google::protobuf::FieldDescriptor* account_field = nullptr;
};

class Observability final : public UpstreamObserver, public LogSink {
 public:
  // A LogSink (connectors/common/log_line.h) for the process's other log
  // lines, once installed with SetLogSink; it removes itself when destroyed.
  explicit Observability(ObservabilityOptions options);
  ~Observability() override;

  void Write(LogLevel level, absl::string_view msg,
             absl::string_view fields) override {
    Log(level, msg, fields);
  }

  size_t max_request_bytes() const { return options_.max_request_bytes; }

  // The metrics in Prometheus' text exposition format.
  std::string MetricsText() const;

  // The interceptor to install on the gRPC server.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // The record of the call `context` serves (null if it is not observed, or
  // its status was sent).
  std::shared_ptr<CallRecord> Record(const grpc::ServerContextBase* context);

  // UpstreamObserver.
  void OnUpstreamResponse(absl::string_view provider, absl::string_view route,
                          int status, bool rate_limited) override;
  void OnBudgetRefused() override;
  void OnBudgetRemaining(int64_t remaining) override;

  // Token refreshes by outcome ("ok", "rate_limited", ...).
  void OnRefresh(absl::string_view outcome);
  // Watch: events logged, hook deliveries by outcome, how old the oldest
  // change was when a poll found it.
  void OnWatchEvents(int64_t events);
  void OnHookDelivery(absl::string_view outcome);
  void OnPollLag(absl::Duration lag);
  // Roster re-reads made to confirm a departure (service/watch/reconcile.cc).
  void OnWatchRereads(int64_t rereads);
  // Accounts watched, and paused (over every replica of the store).
  void OnWatchedAccounts(int64_t watching, int64_t paused);
  // Points the watch engine's hooks (events, poll lag, re-reads, watched
  // accounts) at the metrics above.
  void Observe(watch::WatchOptions& options);
  // Provider rows a listing left out because they could not be read.
  void OnUnreadableRecords(int64_t records);
  // Store operations (for latency and errors) and health.
  void OnStoreOperation(absl::Duration took, bool ok);
  void SetReady(bool ready);
  // Reloads of a configuration file ("api_keys", "encryption_keys") by
  // outcome ("ok", "error").
  void OnReload(absl::string_view file, absl::string_view outcome);

  // A log line at `level` (JSON: time, level, msg and `fields`, already
  // JSON-encoded as "key":value pairs, may be empty).
  void Log(LogLevel level, absl::string_view message,
           absl::string_view fields = "");

  // Internal, for the interceptor.
  MethodMetrics& Method(const std::string& full_method);
  void Finish(MethodMetrics& method, const grpc::Status& status,
              absl::Duration took, CallRecord& record,
              const std::string& peer_identity);
  void Register(const grpc::ServerContextBase* context,
                std::shared_ptr<CallRecord> record);
  void Unregister(const grpc::ServerContextBase* context);

 private:
  const ObservabilityOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  prometheus::Family<prometheus::Gauge>& open_streams_;
  prometheus::Family<prometheus::Counter>& upstream_;
  prometheus::Family<prometheus::Counter>& rate_limited_;
  prometheus::Counter& budget_refusals_;
  prometheus::Histogram& budget_remaining_;
  prometheus::Family<prometheus::Counter>& refreshes_;
  prometheus::Counter& watch_events_;
  prometheus::Family<prometheus::Counter>& hook_deliveries_;
  prometheus::Histogram& poll_lag_;
  prometheus::Counter& watch_rereads_;
  prometheus::Counter& watch_polls_;
  prometheus::Family<prometheus::Gauge>& watched_;
  prometheus::Gauge& watching_;
  prometheus::Gauge& paused_;
  prometheus::Counter& unreadable_records_;
  prometheus::Histogram& store_seconds_;
  prometheus::Counter& store_errors_;
  prometheus::Gauge& ready_;
  prometheus::Family<prometheus::Counter>& reloads_;

  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*,
                      std::shared_ptr<CallRecord>>
      records_ ABSL_GUARDED_BY(mu_);
  // Upstream counters by "provider class route" (bounded).
  absl::Mutex upstream_mu_;
  absl::flat_hash_map<std::string, prometheus::Counter*> upstream_counters_
      ABSL_GUARDED_BY(upstream_mu_);
  absl::Mutex methods_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MethodMetrics>> methods_
      ABSL_GUARDED_BY(methods_mu_);

  // Log lines wait here and go out in one write every 100 ms (warnings and
  // errors at once), so that no RPC pays for a write of its own.
  void FlushLoop();
  void Flush() ABSL_EXCLUSIVE_LOCKS_REQUIRED(log_mu_);
  absl::Mutex log_mu_;
  std::string pending_ ABSL_GUARDED_BY(log_mu_);
  bool stopping_ ABSL_GUARDED_BY(log_mu_) = false;
  std::thread flusher_;
};

// The request id a caller sent: `x_request_id` when it is 1 to 128
// printable characters without quotes or backslashes, else the trace id of
// a well-formed W3C `traceparent`, else "".
std::string RequestIdFrom(absl::string_view x_request_id,
                          absl::string_view traceparent);

}  // namespace unified

#endif  // SERVICE_API_OBSERVABILITY_H_
