#include "service/api/observability.h"

#include <algorithm>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "prometheus/text_serializer.h"
#include "service/core/grpc_status.h"

namespace unified {
namespace {

using prometheus::Histogram;

const Histogram::BucketBoundaries& RpcBuckets() {
  static const auto* b = new Histogram::BucketBoundaries{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,   1,      2.5,   5,    10,    30};
  return *b;
}

}  // namespace

namespace {

// The ErrorInfo reason of a status, or "".
std::string ReasonOf(const grpc::Status& status) {
  if (status.error_details().empty()) return "";
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return "";
  for (const auto& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) return info.reason();
  }
  return "";
}

std::string NewRequestId() {
  thread_local absl::BitGen bitgen;
  return absl::StrCat(
      absl::Hex(absl::Uniform<uint64_t>(bitgen), absl::kZeroPad16),
      absl::Hex(absl::Uniform<uint64_t>(bitgen), absl::kZeroPad16));
}

class RpcInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(Observability* observability,
                 grpc::experimental::ServerRpcInfo* info)
      : observability_(observability),
        context_(info->server_context()),
        start_(absl::Now()) {
    // Resolved once per method, checked against the descriptors so that a
    // caller cannot mint label values.
    metrics_ = &observability_->Method(info->method());
    method_descriptor_ = metrics_->descriptor;
    observability_->Register(context_, record_);
    if (info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY) {
      streams_ = metrics_->open_streams;
      streams_->Increment();
    }
  }

  ~RpcInterceptor() override {
    if (!finished_) observability_->Unregister(context_);
    if (streams_ != nullptr) streams_->Decrement();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    using grpc::experimental::InterceptionHookPoints;
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::string x_request_id, traceparent;
      for (const auto& [key, value] : *m->GetRecvInitialMetadata()) {
        const absl::string_view k(key.data(), key.size());
        if (k == "x-request-id")
          x_request_id.assign(value.data(), value.size());
        if (k == "traceparent") traceparent.assign(value.data(), value.size());
      }
      record_->request_id = RequestIdFrom(x_request_id, traceparent);
      if (record_->request_id.empty()) record_->request_id = NewRequestId();
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE) &&
        method_descriptor_ != nullptr && m->GetRecvMessage() != nullptr &&
        absl::StartsWith(metrics_->service, "unified.")) {
      // Our services' requests are generated messages; the account they
      // name goes into the log (an id, not a secret).
      const auto* request =
          static_cast<const google::protobuf::Message*>(m->GetRecvMessage());
      if (request->GetDescriptor() == method_descriptor_->input_type()) {
        if (observability_->max_request_bytes() > 0 &&
            request->ByteSizeLong() > observability_->max_request_bytes()) {
          record_->oversized = true;  // Serving refuses it (with details).
        }
        const google::protobuf::FieldDescriptor* field =
            metrics_->account_field;
        if (field != nullptr) {
          absl::MutexLock lock(&record_->mu);
          record_->account = request->GetReflection()
                                 ->GetString(*request, field)
                                 .substr(0, 64);
        }
      }
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      m->GetSendInitialMetadata()->insert(
          {"x-request-id", record_->request_id});
      id_sent_ = true;
    }
    if (m->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (!id_sent_) {
        m->GetSendTrailingMetadata()->insert(
            {"x-request-id", record_->request_id});
      }
      std::string peer;
      if (std::shared_ptr<const grpc::AuthContext> auth =
              context_->auth_context()) {
        for (const grpc::string_ref& cn :
             auth->FindPropertyValues("x509_common_name")) {
          peer.assign(cn.data(), cn.size());
        }
      }
      // Statuses gRPC made itself get the details ours carry.
      const grpc::Status sent = m->GetSendStatus();
      const grpc::Status completed =
          CompleteStatus(sent, method_descriptor_ != nullptr);
      if (completed.error_code() != sent.error_code() ||
          completed.error_details() != sent.error_details()) {
        m->ModifySendStatus(completed);
      }
      finished_ = true;
      observability_->Unregister(context_);
      observability_->Finish(*metrics_, completed, absl::Now() - start_,
                             *record_, peer);
    }
    m->Proceed();
  }

 private:
  Observability* const observability_;
  grpc::ServerContextBase* const context_;
  const absl::Time start_;
  MethodMetrics* metrics_ = nullptr;
  const google::protobuf::MethodDescriptor* method_descriptor_ = nullptr;
  std::shared_ptr<CallRecord> record_ = std::make_shared<CallRecord>();
  prometheus::Gauge* streams_ = nullptr;
  bool id_sent_ = false;
  bool finished_ = false;
};

class RpcInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(Observability* observability)
      : observability_(observability) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(observability_, info);
  }

 private:
  Observability* const observability_;
};

}  // namespace

bool ParseLogLevel(absl::string_view text, LogLevel* level) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (text == LogLevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

std::string RequestIdFrom(absl::string_view x_request_id,
                          absl::string_view traceparent) {
  if (!x_request_id.empty() && x_request_id.size() <= 128 &&
      std::all_of(x_request_id.begin(), x_request_id.end(), [](char c) {
        return c > 0x20 && c < 0x7f && c != '"' && c != '\\';
      })) {
    return std::string(x_request_id);
  }
  // "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>".
  const std::vector<absl::string_view> parts = absl::StrSplit(traceparent, '-');
  auto hex = [](absl::string_view s, size_t n) {
    return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
             return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
           });
  };
  if (parts.size() == 4 && hex(parts[0], 2) && hex(parts[1], 32) &&
      hex(parts[2], 16) && hex(parts[3], 2) &&
      parts[1] != std::string(32, '0')) {
    return std::string(parts[1]);
  }
  return "";
}

Observability::Observability(ObservabilityOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      rpcs_(prometheus::BuildCounter()
                .Name("unified_rpcs_total")
                .Help("RPCs finished, by service, method and status code.")
                .Register(*registry_)),
      rpc_seconds_(prometheus::BuildHistogram()
                       .Name("unified_rpc_duration_seconds")
                       .Help("RPC latency, from arrival to status.")
                       .Register(*registry_)),
      open_streams_(prometheus::BuildGauge()
                        .Name("unified_open_streams")
                        .Help("Streaming RPCs open now.")
                        .Register(*registry_)),
      upstream_(prometheus::BuildCounter()
                    .Name("unified_upstream_requests_total")
                    .Help("Requests to providers, by provider, route "
                          "template and status class.")
                    .Register(*registry_)),
      rate_limited_(prometheus::BuildCounter()
                        .Name("unified_upstream_rate_limited_total")
                        .Help("Provider answers that said the rate limit "
                              "was hit (HTTP 420 or 429).")
                        .Register(*registry_)),
      budget_refusals_(
          prometheus::BuildCounter()
              .Name("unified_budget_refusals_total")
              .Help("Calls the rate budget refused before sending them.")
              .Register(*registry_)
              .Add({})),
      budget_remaining_(
          prometheus::BuildHistogram()
              .Name("unified_budget_remaining")
              .Help("Calls left in an identity's window, as providers "
                    "report them after each call.")
              .Register(*registry_)
              .Add({}, Histogram::BucketBoundaries{0, 10, 50, 100, 250, 500,
                                                   750, 1000, 5000})),
      refreshes_(prometheus::BuildCounter()
                     .Name("unified_token_refreshes_total")
                     .Help("Token refreshes, by outcome.")
                     .Register(*registry_)),
      watch_events_(prometheus::BuildCounter()
                        .Name("unified_watch_events_total")
                        .Help("Directory events logged for WatchDirectory.")
                        .Register(*registry_)
                        .Add({})),
      hook_deliveries_(prometheus::BuildCounter()
                           .Name("unified_hook_deliveries_total")
                           .Help("Provider hook deliveries, by outcome.")
                           .Register(*registry_)),
      poll_lag_(prometheus::BuildHistogram()
                    .Name("unified_watch_poll_lag_seconds")
                    .Help("How late a watched account's poll ran after it "
                          "was due.")
                    .Register(*registry_)
                    .Add({}, Histogram::BucketBoundaries{0.1, 1, 5, 15, 60, 300,
                                                         900, 3600})),
      watch_rereads_(
          prometheus::BuildCounter()
              .Name("unified_watch_confirming_rereads_total")
              .Help("Roster reads repeated because the first missed a "
                    "stored member: no departure is logged unread twice.")
              .Register(*registry_)
              .Add({})),
      watch_polls_(prometheus::BuildCounter()
                       .Name("unified_watch_polls_total")
                       .Help("Watch polls this replica ran to their end, "
                             "ok or not.")
                       .Register(*registry_)
                       .Add({})),
      watched_(prometheus::BuildGauge()
                   .Name("unified_watched_accounts")
                   .Help("Accounts whose directory is watched, by state "
                         "(watching, paused), over every replica.")
                   .Register(*registry_)),
      watching_(watched_.Add({{"state", "watching"}})),
      paused_(watched_.Add({{"state", "paused"}})),
      unreadable_records_(
          prometheus::BuildCounter()
              .Name("unified_unreadable_records_total")
              .Help("Provider rows left out of listings because they could "
                    "not be read (each also counted in the response's "
                    "unreadable_records).")
              .Register(*registry_)
              .Add({})),
      store_seconds_(
          prometheus::BuildHistogram()
              .Name("unified_store_check_seconds")
              .Help("Latency of the store's health checks.")
              .Register(*registry_)
              .Add({}, Histogram::BucketBoundaries{0.0005, 0.001, 0.005, 0.01,
                                                   0.05, 0.1, 0.5, 1, 5})),
      store_errors_(prometheus::BuildCounter()
                        .Name("unified_store_check_errors_total")
                        .Help("Store health checks that failed.")
                        .Register(*registry_)
                        .Add({})),
      ready_(prometheus::BuildGauge()
                 .Name("unified_ready")
                 .Help("1 while the service is ready (its store answers).")
                 .Register(*registry_)
                 .Add({})),
      reloads_(prometheus::BuildCounter()
                   .Name("unified_config_reloads_total")
                   .Help("Re-reads of configuration files, by file and "
                         "outcome.")
                   .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("unified_build_info")
      .Help("The running build.")
      .Register(*registry_)
      .Add({{"version", options_.version}})
      .Set(1);
  flusher_ = std::thread([this] { FlushLoop(); });
}

Observability::~Observability() {
  RemoveLogSink(this);
  {
    absl::MutexLock lock(&log_mu_);
    stopping_ = true;
  }
  flusher_.join();
}

std::string Observability::MetricsText() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
Observability::InterceptorFactory() {
  return std::make_unique<RpcInterceptorFactory>(this);
}

std::shared_ptr<CallRecord> Observability::Record(
    const grpc::ServerContextBase* context) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(context);
  return it == records_.end() ? nullptr : it->second;
}

void Observability::Register(const grpc::ServerContextBase* context,
                             std::shared_ptr<CallRecord> record) {
  absl::MutexLock lock(&mu_);
  records_[context] = std::move(record);
}

void Observability::Unregister(const grpc::ServerContextBase* context) {
  absl::MutexLock lock(&mu_);
  records_.erase(context);
}

MethodMetrics& Observability::Method(const std::string& full_method) {
  {
    absl::ReaderMutexLock lock(&methods_mu_);
    auto it = methods_.find(full_method);
    if (it != methods_.end()) return *it->second;
  }
  // "/package.Service/Method".
  const std::vector<std::string> parts = absl::StrSplit(full_method, '/');
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  const google::protobuf::ServiceDescriptor* service =
      parts.size() == 3 ? pool->FindServiceByName(parts[1]) : nullptr;
  const google::protobuf::MethodDescriptor* descriptor =
      service != nullptr ? service->FindMethodByName(parts[2]) : nullptr;
  absl::MutexLock lock(&methods_mu_);
  // Unknown methods share one entry: callers cannot grow the map.
  const std::string key = descriptor != nullptr ? full_method : "other";
  std::unique_ptr<MethodMetrics>& slot = methods_[key];
  if (slot == nullptr) {
    slot = std::make_unique<MethodMetrics>();
    slot->descriptor = descriptor;
    slot->service = descriptor != nullptr ? parts[1] : "other";
    slot->method = descriptor != nullptr ? parts[2] : "other";
    slot->seconds = &rpc_seconds_.Add(
        {{"service", slot->service}, {"method", slot->method}}, RpcBuckets());
    slot->open_streams = &open_streams_.Add(
        {{"service", slot->service}, {"method", slot->method}});
    if (descriptor != nullptr) {
      const google::protobuf::FieldDescriptor* field =
          descriptor->input_type()->FindFieldByName("integrated_account_id");
      if (field != nullptr &&
          field->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
        slot->account_field = field;
      }
    }
  }
  return *slot;
}

void Observability::Finish(MethodMetrics& method, const grpc::Status& status,
                           absl::Duration took, CallRecord& record,
                           const std::string& peer_identity) {
  const int code_number = static_cast<int>(status.error_code());
  const char* code = StatusCodeName(status.error_code());
  if (code_number >= 0 && code_number < 17) {
    std::atomic<prometheus::Counter*>& slot = method.by_code[code_number];
    prometheus::Counter* counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &rpcs_.Add({{"service", method.service},
                            {"method", method.method},
                            {"code", code}});
      slot.store(counter, std::memory_order_release);
    }
    counter->Increment();
  }
  method.seconds->Observe(absl::ToDoubleSeconds(took));
  std::string tenant, account;
  {
    absl::MutexLock lock(&record.mu);
    tenant = record.tenant;
    account = record.account;
  }
  if (!options_.access_log || options_.level > LogLevel::kInfo) return;
  std::string fields = absl::StrCat(
      "\"request_id\":", JsonQuote(record.request_id), ",\"method\":",
      JsonQuote(absl::StrCat("/", method.service, "/", method.method)),
      ",\"code\":", JsonQuote(code),
      ",\"reason\":", JsonQuote(ReasonOf(status)), ",\"duration_ms\":",
      absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(took)),
      ",\"upstream_calls\":", record.upstream_calls->load());
  if (!tenant.empty())
    absl::StrAppend(&fields, ",\"tenant\":", JsonQuote(tenant));
  if (!account.empty()) {
    absl::StrAppend(&fields, ",\"account\":", JsonQuote(account));
  }
  if (!peer_identity.empty()) {
    absl::StrAppend(&fields, ",\"client\":", JsonQuote(peer_identity));
  }
  Log(LogLevel::kInfo, "rpc", fields);
}

void Observability::Log(LogLevel level, absl::string_view message,
                        absl::string_view fields) {
  if (level < options_.level || options_.log == nullptr) return;
  // The time, formatted once a second per thread, milliseconds added.
  thread_local int64_t second = -1;
  thread_local std::string prefix;
  const absl::Time now = absl::Now();
  const int64_t millis = absl::ToUnixMillis(now);
  if (millis / 1000 != second) {
    second = millis / 1000;
    prefix = absl::FormatTime("%Y-%m-%dT%H:%M:%S", now, absl::UTCTimeZone());
  }
  const std::string line = LogLine(
      absl::StrCat(prefix, ".", absl::Dec(millis % 1000, absl::kZeroPad3), "Z"),
      level, message, fields);
  absl::MutexLock lock(&log_mu_);
  pending_ += line;
  if (level >= LogLevel::kWarning || pending_.size() > (64 << 10)) Flush();
}

void Observability::Flush() {
  if (pending_.empty() || options_.log == nullptr) return;
  std::fwrite(pending_.data(), 1, pending_.size(), options_.log);
  std::fflush(options_.log);
  pending_.clear();
}

void Observability::FlushLoop() {
  absl::MutexLock lock(&log_mu_);
  auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(log_mu_) {
    return stopping_;
  };
  while (!log_mu_.AwaitWithTimeout(absl::Condition(&stopping),
                                   absl::Milliseconds(100))) {
    Flush();
  }
  Flush();
}

void Observability::OnUpstreamResponse(absl::string_view provider,
                                       absl::string_view route, int status,
                                       bool rate_limited) {
  const int status_class = status >= 100 && status <= 599 ? status / 100 : 0;
  const std::string key = absl::StrCat(provider, " ", status_class, " ", route);
  prometheus::Counter* counter = nullptr;
  {
    absl::ReaderMutexLock lock(&upstream_mu_);
    auto it = upstream_counters_.find(key);
    if (it != upstream_counters_.end()) counter = it->second;
  }
  if (counter == nullptr) {
    absl::MutexLock lock(&upstream_mu_);
    // Route templates are bounded: past 200 of them, "other".
    const bool room = upstream_counters_.size() < 200;
    const std::string label_route = room ? std::string(route) : "other";
    prometheus::Counter& c = upstream_.Add(
        {{"provider", std::string(provider)},
         {"route", label_route},
         {"status_class",
          status_class == 0 ? "transport" : absl::StrCat(status_class, "xx")}});
    if (room) upstream_counters_[key] = &c;
    counter = &c;
  }
  counter->Increment();
  // As the provider's protocol reads the answer (Podio's 420, SCIM's 429).
  if (rate_limited) {
    rate_limited_.Add({{"provider", std::string(provider)}}).Increment();
  }
}

void Observability::OnBudgetRefused() { budget_refusals_.Increment(); }

void Observability::OnBudgetRemaining(int64_t remaining) {
  budget_remaining_.Observe(static_cast<double>(remaining));
}

void Observability::OnRefresh(absl::string_view outcome) {
  refreshes_.Add({{"outcome", std::string(outcome)}}).Increment();
}

void Observability::OnWatchEvents(int64_t events) {
  watch_events_.Increment(static_cast<double>(events));
}

void Observability::OnHookDelivery(absl::string_view outcome) {
  hook_deliveries_.Add({{"outcome", std::string(outcome)}}).Increment();
}

void Observability::OnUnreadableRecords(int64_t records) {
  unreadable_records_.Increment(static_cast<double>(records));
}

void Observability::OnWatchRereads(int64_t rereads) {
  watch_rereads_.Increment(static_cast<double>(rereads));
}

void Observability::OnWatchedAccounts(int64_t watching, int64_t paused) {
  watching_.Set(static_cast<double>(watching));
  paused_.Set(static_cast<double>(paused));
}

void Observability::Observe(watch::WatchOptions& options) {
  options.on_events = [this](int64_t events) { OnWatchEvents(events); };
  options.on_poll_lag = [this](absl::Duration lag) { OnPollLag(lag); };
  options.on_rereads = [this](int64_t rereads) { OnWatchRereads(rereads); };
  options.on_poll_done = [this](const watch::AccountRef&) {
    watch_polls_.Increment();
  };
  options.on_watched = [this](int64_t watching, int64_t paused) {
    OnWatchedAccounts(watching, paused);
  };
}

void Observability::OnPollLag(absl::Duration lag) {
  poll_lag_.Observe(absl::ToDoubleSeconds(lag));
}

void Observability::OnStoreOperation(absl::Duration took, bool ok) {
  store_seconds_.Observe(absl::ToDoubleSeconds(took));
  if (!ok) store_errors_.Increment();
}

void Observability::SetReady(bool ready) { ready_.Set(ready ? 1 : 0); }

void Observability::OnReload(absl::string_view file,
                             absl::string_view outcome) {
  reloads_.Add({{"file", std::string(file)}, {"outcome", std::string(outcome)}})
      .Increment();
}

}  // namespace unified
