// UserDirectory.WatchDirectory: the stream of directory events of one
// account, several, or all of a tenant's (docs/watching.md).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/common/status_macros.h"
#include "service/api/directory_request.h"
#include "service/core/grpc_status.h"
#include "service/core/proto_time.h"
#include "service/watch/watch_stream.h"

namespace unified {

namespace {

// A WatchDirectory stream: the first step takes the baselines (or finds
// the accounts watched) on the pool; later steps read the event log's
// tail, and between them the stream waits, holding no thread, for the
// engine's news (events this process logged, or found in the store by the
// engine's worker every tick).
class WatchStream final : public PooledStream<v1::DirectoryEvent> {
 public:
  struct Opened {
    std::unique_ptr<watch::EventReader> reader;
    // What to subscribe to: one account, or the tenant (empty account_id).
    watch::AccountRef subscription;
    bool watch_new_accounts = false;
  };
  using Open = std::function<absl::StatusOr<Opened>(const StreamEnv& env)>;

  WatchStream(Serving* serving, grpc::CallbackServerContext* context,
              Admission admission, watch::WatchEngine* engine, Open open)
      : PooledStream(serving, context, std::move(admission),
                     WorkerPool::Lane::kBulk),
        engine_(engine),
        open_(std::move(open)) {}

 private:
  absl::StatusOr<Step> Produce(std::vector<v1::DirectoryEvent>* out) override {
    if (!reader_) {
      StreamEnv env{tenant(), deadline(), [this] { return cancelled(); }};
      ASSIGN_OR_RETURN(Opened opened, open_(env));
      subscription_ = engine_->Subscribe(
          opened.subscription, [this] { Wake(); }, opened.watch_new_accounts);
      {
        absl::MutexLock lock(&reader_mu_);
        reader_ = std::move(opened.reader);
      }
      // A stream that ended meanwhile may have missed it in Stopped().
      if (cancelled()) Stopped();
    }
    ASSIGN_OR_RETURN(bool caught_up, reader_->Next(out));
    return caught_up ? Step::kWait : Step::kMore;
  }

  void Sent(const v1::DirectoryEvent& event) override {
    if (!event.resume_token().empty()) last_token_ = event.resume_token();
  }

  absl::Status StallStatus(absl::Duration stalled,
                           const v1::DirectoryEvent& pending) override {
    const std::string& token =
        pending.resume_token().empty() ? last_token_ : pending.resume_token();
    return WithErrorInfo(
        absl::AbortedError(absl::StrCat(
            "the client accepted no event for ", absl::FormatDuration(stalled),
            "; the stream was ended. Watch again with the last resume_token "
            "received (also in this error's resume_token)")),
        kStreamStalledReason, {{"resume_token", token}});
  }

  std::optional<v1::DirectoryEvent> Heartbeat() override {
    absl::MutexLock lock(&reader_mu_);
    if (!reader_) return std::nullopt;
    return reader_->Heartbeat(absl::Now());
  }

  void Stopped() override {
    if (const int64_t id = subscription_.exchange(0); id != 0) {
      engine_->Unsubscribe(id);
    }
  }

  watch::WatchEngine* const engine_;
  const Open open_;
  // Set once by the first step; Heartbeat (the ticker) reads it only when
  // no step runs.
  absl::Mutex reader_mu_;
  std::unique_ptr<watch::EventReader> reader_;
  // Set by the first step, read by Stopped() after the last.
  std::atomic<int64_t> subscription_{0};
  std::string last_token_;
};

constexpr int kMaxWatchedAccounts = 1000;

// `s` with the account it is about named in its message.
absl::Status Named(const std::string& account_id, const absl::Status& s) {
  absl::Status named(s.code(),
                     absl::StrCat("account ", account_id, ": ", s.message()));
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    named.SetPayload(url, payload);
  });
  return named;
}

absl::Status WatchNotConfigured() {
  return WithErrorInfo(
      absl::FailedPreconditionError("this server does not watch directories"),
      "WATCH_NOT_CONFIGURED");
}

// The accounts a WatchDirectoryRequest names, checked: one id, several
// (sorted, in `ids`), or all (`ids` empty, `*all` set).
absl::Status WatchScope(const v1::WatchDirectoryRequest& request,
                        std::vector<std::string>* ids, bool* all) {
  const int ways = !request.integrated_account_id().empty() +
                   (request.integrated_account_ids_size() > 0) +
                   request.all_accounts();
  if (ways != 1) {
    return WithErrorInfo(
        absl::InvalidArgumentError(
            "name the accounts to watch in exactly one way: "
            "integrated_account_id, integrated_account_ids or all_accounts"),
        "INVALID_WATCH_SCOPE");
  }
  *all = request.all_accounts();
  if (request.integrated_account_ids_size() > kMaxWatchedAccounts) {
    return WithErrorInfo(
        absl::InvalidArgumentError(absl::StrCat(
            "integrated_account_ids names ",
            request.integrated_account_ids_size(),
            " accounts; one stream watches at most ", kMaxWatchedAccounts,
            " (all_accounts watches every one)")),
        "TOO_MANY_ACCOUNTS");
  }
  ids->assign(request.integrated_account_ids().begin(),
              request.integrated_account_ids().end());
  for (const std::string& id : *ids) RETURN_IF_ERROR(CheckAccountId(id));
  std::sort(ids->begin(), ids->end());
  if (std::adjacent_find(ids->begin(), ids->end()) != ids->end()) {
    return WithErrorInfo(absl::InvalidArgumentError(
                             "integrated_account_ids names an account twice"),
                         "INVALID_WATCH_SCOPE");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UserDirectoryService::WatchAccount(const CallEnv& env,
                                                const std::string& account_id,
                                                watch::AccountRef* watched) {
  // The baseline is a bulk listing; the stream itself costs no calls.
  ASSIGN_OR_RETURN(Call call, Begin(env, account_id, Priority::kBulk));
  *watched = watch::AccountRef{call.tenant, call.account.id};
  return watch_->EnsureWatching(*watched, call.account, call.ctx);
}

grpc::ServerWriteReactor<v1::DirectoryEvent>*
UserDirectoryService::WatchDirectory(grpc::CallbackServerContext* context,
                                     const v1::WatchDirectoryRequest* request) {
  absl::StatusOr<Admission> admitted =
      serving_->Admit(*context, Serving::Kind::kWatch);
  absl::Status refused = admitted.status();
  if (refused.ok() && watch_ == nullptr) refused = WatchNotConfigured();
  if (refused.ok() && request->resume_token().size() > 1024) {
    refused = WithErrorInfo(
        absl::InvalidArgumentError("resume_token is not one we issued"),
        "INVALID_RESUME_TOKEN");
  }
  std::vector<std::string> ids;
  bool all = false;
  if (refused.ok()) refused = WatchScope(*request, &ids, &all);
  if (!refused.ok()) {
    return new FinishedStream<v1::DirectoryEvent>(ToGrpcStatus(refused));
  }
  const bool several = all || !ids.empty();
  auto* stream = new WatchStream(
      serving_, context, std::move(*admitted), watch_,
      [this, request = *request, ids = std::move(ids), all, several,
       upstream_calls = serving_->UpstreamCounter(context)](
          const StreamEnv& env) -> absl::StatusOr<WatchStream::Opened> {
        const CallEnv call_env{env.tenant, env.deadline, env.cancelled, nullptr,
                               upstream_calls};
        WatchStream::Opened opened;
        if (!several) {
          RETURN_IF_ERROR(WatchAccount(
              call_env, request.integrated_account_id(), &opened.subscription));
          opened.reader = std::make_unique<watch::WatchReader>(
              *watch_, *cursors_,
              watch::WatchStreamRequest{opened.subscription,
                                        request.resume_token(),
                                        request.include_snapshot()});
          return opened;
        }
        // Every account named must be watchable now; of all the tenant's,
        // those that are (the engine's scan retries the others). Their
        // baselines run at once (WatchEngine::RunBaselines). Without a
        // snapshot, a tenant-wide stream reads no account here and starts
        // now: the engine's scan takes the baselines meanwhile, at once too.
        std::vector<std::string> names = ids;
        if (all && request.include_snapshot()) {
          ASSIGN_OR_RETURN(names, accounts_->ListIds(env.tenant));
        }
        std::vector<std::string> pending;
        for (const std::string& id : names) {
          ASSIGN_OR_RETURN(std::optional<watch::WatchState> state,
                           watch_->State({env.tenant, id}));
          if (state && state->paused) {
            if (all) continue;  // Left out while paused.
            return Named(id, watch::WatchPaused());
          }
          if (!state || !state->baseline_done) pending.push_back(id);
        }
        std::vector<std::function<absl::Status()>> baselines;
        for (const std::string& id : pending) {
          baselines.push_back([this, call_env, id, &env]() -> absl::Status {
            if (env.cancelled()) return absl::CancelledError("cancelled");
            watch::AccountRef a;
            return WatchAccount(call_env, id, &a);
          });
        }
        std::vector<absl::Status> done =
            watch_->RunBaselines(env.tenant, std::move(baselines));
        if (env.cancelled()) return absl::CancelledError("cancelled");
        for (size_t i = 0; i < done.size() && !all; ++i) {
          if (!done[i].ok()) return Named(pending[i], done[i]);
        }
        opened.subscription = watch::AccountRef{env.tenant, ""};
        opened.watch_new_accounts = all;
        opened.reader = std::make_unique<watch::TenantWatchReader>(
            *watch_, *cursors_,
            watch::TenantWatchRequest{env.tenant, ids, request.resume_token(),
                                      request.include_snapshot()});
        return opened;
      });
  stream->Start();
  return stream;
}

absl::Status UserDirectoryService::ReadWatchStatus(
    const std::string& tenant, const std::string& account_id,
    v1::WatchStatus* out) {
  ASSIGN_OR_RETURN(std::optional<watch::WatchState> state,
                   watch_->State({tenant, account_id}));
  out->set_integrated_account_id(account_id);
  out->set_state(v1::WatchStatus::NOT_WATCHED);
  if (!state) return absl::OkStatus();
  out->set_last_sequence(state->last_seq);
  if (state->paused) {
    out->set_state(v1::WatchStatus::PAUSED);
    *out->mutable_pause_time() = ToTimestamp(*state->paused);
  } else if (state->baseline_done) {
    out->set_state(v1::WatchStatus::WATCHING);
    *out->mutable_next_poll_time() = ToTimestamp(state->next_poll);
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* UserDirectoryService::SetWatching(
    grpc::CallbackServerContext* context, const v1::SetWatchingRequest* request,
    v1::WatchStatus* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (watch_ == nullptr) return WatchNotConfigured();
        // Resuming may take a baseline: a bulk listing.
        ASSIGN_OR_RETURN(
            Call call,
            Begin(UnaryEnv(context, tenant), request->integrated_account_id(),
                  request->watching() ? Priority::kBulk
                                      : Priority::kInteractive));
        RETURN_IF_ERROR(watch_->SetWatching({call.tenant, call.account.id},
                                            request->watching(), call.account,
                                            call.ctx));
        return ReadWatchStatus(call.tenant, call.account.id, response);
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetWatchStatus(
    grpc::CallbackServerContext* context,
    const v1::GetWatchStatusRequest* request, v1::WatchStatus* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        if (watch_ == nullptr) return WatchNotConfigured();
        RETURN_IF_ERROR(CheckAccountId(request->integrated_account_id()));
        // The account must be the caller's; it need not be usable.
        RETURN_IF_ERROR(
            accounts_->Resolve(tenant, request->integrated_account_id())
                .status());
        return ReadWatchStatus(tenant, request->integrated_account_id(),
                               response);
      });
}

}  // namespace unified
