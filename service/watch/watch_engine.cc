#include "service/watch/watch_engine.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "connectors/common/error_details.h"
#include "connectors/common/log_line.h"
#include "connectors/common/status_macros.h"
#include "service/core/account_call.h"
#include "service/watch/engine_internal.h"

namespace unified::watch {

WatchEngine::WatchEngine(WatchStore* store, AccountResolver* accounts,
                         const ConnectorRegistry* connectors,
                         RateBudget* budget, Clock* clock, WatchOptions options)
    : store_(store),
      accounts_(accounts),
      connectors_(connectors),
      budget_(budget),
      clock_(clock),
      options_(std::move(options)) {}

WatchEngine::~WatchEngine() { Stop(); }

void WatchEngine::Start() {
  absl::MutexLock lock(&mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  if (options_.poll_concurrency > 0 && pollers_ == nullptr) {
    WorkerPoolOptions pool;
    pool.threads = options_.poll_concurrency;
    pollers_ = std::make_unique<WorkerPool>(pool);
    if (options_.hook_concurrency > 0) {
      pool.threads = options_.hook_concurrency;
      hookers_ = std::make_unique<WorkerPool>(pool);
    }
  }
  worker_ = std::thread([this] { Loop(); });
}

void WatchEngine::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
  // Queued polls and hooked reads see stopping_ and return; running ones
  // finish.
  pollers_.reset();
  hookers_.reset();
}

std::vector<absl::Status> WatchEngine::RunBaselines(
    const std::string& tenant,
    std::vector<std::function<absl::Status()>> baselines) {
  std::vector<absl::Status> out(baselines.size());
  WorkerPool* pool = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) pool = pollers_.get();
  }
  if (pool == nullptr || baselines.size() < 2) {
    for (size_t i = 0; i < baselines.size(); ++i) out[i] = baselines[i]();
    return out;
  }
  absl::BlockingCounter done(static_cast<int>(baselines.size()));
  for (size_t i = 0; i < baselines.size(); ++i) {
    pool->Submit(tenant, WorkerPool::Lane::kInteractive,
                 [&out, &baselines, &done, i] {
                   out[i] = baselines[i]();
                   done.DecrementCount();
                 });
  }
  done.Wait();
  return out;
}

void WatchEngine::DispatchPolls(const std::vector<AccountRef>& due) {
  if (pollers_ == nullptr) {
    for (const AccountRef& a : due) (void)PollIfDue(a);
    return;
  }
  for (const AccountRef& a : due) {
    {
      absl::MutexLock lock(&mu_);
      // Enough queued to keep every poller busy until the next tick.
      const size_t queued_enough = 2 * options_.poll_concurrency;
      if (polling_.size() >= queued_enough) {
        return;
      }
      if (!polling_.insert(a).second) continue;  // Queued or running.
    }
    OnPollers(a, &polling_, [this, a] { (void)PollIfDue(a); });
  }
}

void WatchEngine::OnPollers(const AccountRef& a, std::set<AccountRef>* queued,
                            std::function<void()> job) {
  RunApart(*pollers_, a.tenant, std::move(job),
           [queued, a] { queued->erase(a); });
}

void WatchEngine::RunApart(WorkerPool& pool, const std::string& tenant,
                           std::function<void()> job,
                           std::function<void()> done) {
  pool.Submit(tenant, WorkerPool::Lane::kInteractive,
              [this, job = std::move(job), done = std::move(done)] {
                bool stopping;
                {
                  absl::MutexLock lock(&mu_);
                  stopping = stopping_;
                }
                if (!stopping) job();
                absl::MutexLock lock(&mu_);
                done();
              });
}

void WatchEngine::Loop() {
  while (true) {
    WakeOnStoredChanges();
    RunOnce();
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](WatchEngine* e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
              return e->wake_ || e->stopping_;
            },
            this),
        options_.tick);
    if (stopping_) return;
    wake_ = false;
  }
}

absl::StatusOr<WatchEngine::Work> WatchEngine::Begin(const AccountRef& a,
                                                     Priority priority) {
  ASSIGN_OR_RETURN(ResolvedAccount resolved,
                   accounts_->Resolve(a.tenant, a.account_id));
  return WorkFor(a, std::move(resolved), priority);
}

absl::StatusOr<WatchEngine::Work> WatchEngine::WorkFor(const AccountRef& a,
                                                       ResolvedAccount resolved,
                                                       Priority priority) {
  AccountCallOptions options;
  options.deadline = clock_->Now() + options_.work_deadline;
  options.priority = priority;
  ASSIGN_OR_RETURN(AccountCall opened,
                   OpenAccountCall(*connectors_, budget_, std::move(resolved),
                                   std::move(options)));
  Work w;
  w.account = a;
  w.resolved = std::move(opened.account);
  w.connector = opened.connector;
  w.webhooks = opened.webhooks;
  w.ctx = std::move(opened.ctx);
  w.refusals = std::make_shared<StoredRefusals>(&store_->hooks(), a, clock_,
                                                options_.refusal_recheck);
  w.ctx.refusals = w.refusals.get();
  return w;
}

absl::Status WatchEngine::PollIfDue(const AccountRef& a) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(std::optional<PollLedger> ledger,
                   store_->polls().ClaimPoll(a, now, options_.poll_lease));
  if (!ledger) return absl::OkStatus();
  absl::StatusOr<Work> w = Begin(a, Priority::kBackground);
  if (!w.ok()) {
    if (absl::IsNotFound(w.status()))
      return store_->roster().Disable(a);  // Deleted.
    (void)store_->polls().FinishPoll(a, now + options_.poll_interval);
    return w.status();
  }
  // The poll's share of the hour, against the limit the budget learned from
  // the provider: the calls earlier polls spent in the last hour (stored,
  // replicas share them) and this poll's own, counted here.
  const int64_t spent = ledger->CallsSince(now - absl::Hours(1));
  auto share = std::make_shared<int64_t>(0);
  auto calls = std::make_shared<int64_t>(0);
  w->ctx.admit = [this, spent, share, calls,
                  key = w->resolved.budget_key]() -> absl::Status {
    int64_t limit = 0;
    if (absl::StatusOr<BudgetState> b = budget_->State(key); b.ok()) {
      limit = b->limit;
    }
    *share =
        static_cast<int64_t>(static_cast<double>(limit) * options_.poll_share);
    if (spent + *calls >= *share) {
      return AsRateRefusal(WithErrorInfo(
          absl::ResourceExhaustedError(
              "the watch poll spent its share of the rate budget"),
          "WATCH_POLL_SHARE_SPENT"));
    }
    ++*calls;
    return absl::OkStatus();
  };
  absl::Status s = Reconcile(*w, Source::kPoll, /*baseline=*/false);
  // The account's old events go with its poll, under the poll's lease: one
  // replica prunes each account once per poll.
  (void)store_->events().Prune(a, options_.retention_events,
                               clock_->Now() - options_.retention);
  // Paced so the share lasts the hour: a poll of N calls waits at least
  // N / share of an hour, so coverage stays even instead of the share being
  // spent early and the poll going blind until the window frees.
  absl::Duration wait = options_.poll_interval;
  if (*share > 0) {
    wait = std::max(wait, absl::Hours(1) * static_cast<double>(*calls) /
                              static_cast<double>(*share));
  }
  const absl::Time end = clock_->Now();
  ledger->Add(end, *calls, end - absl::Hours(1));
  RETURN_IF_ERROR(store_->polls().FinishPoll(a, end + wait, &*ledger));
  if (!s.ok()) Log(a, "poll", s);
  if (options_.on_poll_done) options_.on_poll_done(a);
  return s;
}

void WatchEngine::RecoverFromOutage(absl::Time now) {
  if (options_.spool != nullptr && options_.spool->size() > 0) {
    absl::StatusOr<int> replayed =
        options_.spool->Replay([this](const SpooledDelivery& d) {
          return store_->hooks().MarkDirty(d.account, d.workspace_id, d.at,
                                           d.user_id);
        });
    if (!replayed.ok() || options_.spool->size() > 0) return;  // Later.
    LogEvent(LogLevel::kInfo, "watch: spooled hook deliveries stored",
             absl::StrCat("\"deliveries\":", *replayed));
  }
  if (!outage_.load()) return;
  // Hooks may have been switched off while the store was away: every
  // watched account is polled now (the poll re-creates inactive or lost
  // hooks and finds what they missed), within each account's share.
  if (absl::Status s = store_->polls().PollAllNow(now); !s.ok()) return;
  outage_ = false;
  LogEvent(LogLevel::kInfo,
           "watch: the store answers again; polling every "
           "watched account now");
}

void WatchEngine::RunOnce() {
  const absl::Time now = clock_->Now();
  RecoverFromOutage(now);
  if (options_.on_watched && now >= next_count_) {
    next_count_ = now + options_.count_every;
    if (absl::StatusOr<RosterStore::Counts> counts = store_->roster().Count();
        counts.ok()) {
      options_.on_watched(counts->watched - counts->paused, counts->paused);
    }
  }
  absl::StatusOr<std::vector<DirtyWorkspace>> dirty =
      store_->hooks().ClaimDirty(now, options_.dirty_lease, 50);
  if (!dirty.ok()) outage_ = true;
  if (dirty.ok()) {
    for (const DirtyWorkspace& d : *dirty) ReconcileHooked(d);
  }
  WatchNewAccounts(now);
  // Only due accounts are asked for (one query), not every watched one.
  absl::Time oldest_due = absl::InfiniteFuture();
  if (absl::StatusOr<std::vector<AccountRef>> due =
          store_->polls().DuePolls(now, &oldest_due);
      due.ok()) {
    if (!due->empty() && options_.on_poll_lag) {
      options_.on_poll_lag(now - oldest_due);
    }
    DispatchPolls(*due);
  }
}

void WatchEngine::Notify(const AccountRef& a,
                         const std::vector<StoredEvent>& events) {
  if (events.empty()) return;
  if (options_.on_events) {
    options_.on_events(static_cast<int64_t>(events.size()));
  }
  absl::MutexLock lock(&mu_);
  Announce(a, events.back().seq);
  Announce({a.tenant, ""}, events.back().tseq);
}

void WatchEngine::Announce(const AccountRef& a, int64_t seq) {
  if (!subscribed_.count(a)) return;
  int64_t& announced = announced_[a];
  if (seq <= announced) return;  // Its subscribers were woken for it.
  announced = seq;
  auto [begin, end] = subscribed_.equal_range(a);
  for (auto it = begin; it != end; ++it) subscribers_.at(it->second).wake();
}

int64_t WatchEngine::Subscribe(const AccountRef& a, std::function<void()> wake,
                               bool watch_new_accounts) {
  absl::MutexLock lock(&mu_);
  const int64_t id = ++next_subscriber_;
  subscribers_[id] = Subscriber{a, std::move(wake),
                                watch_new_accounts && a.account_id.empty()};
  subscribed_.emplace(a, id);
  if (subscribers_[id].watch_new_accounts) {
    next_scan_.erase(a.tenant);  // Scanned at the loop's next turn.
    wake_ = true;
  }
  return id;
}

void WatchEngine::Unsubscribe(int64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  auto [begin, end] = subscribed_.equal_range(it->second.account);
  for (auto s = begin; s != end; ++s) {
    if (s->second == id) {
      subscribed_.erase(s);
      break;
    }
  }
  if (!subscribed_.count(it->second.account)) {
    announced_.erase(it->second.account);
  }
  subscribers_.erase(it);
}

void WatchEngine::WakeOnStoredChanges() {
  std::vector<AccountRef> accounts;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [account, id] : subscribed_) {
      if (accounts.empty() || !(accounts.back() == account)) {
        accounts.push_back(account);
      }
    }
  }
  for (const AccountRef& a : accounts) {
    if (a.account_id.empty()) {
      absl::StatusOr<int64_t> tseq = store_->events().TenantPosition(a.tenant);
      if (!tseq.ok()) continue;
      absl::MutexLock lock(&mu_);
      Announce(a, *tseq);
      continue;
    }
    absl::StatusOr<std::optional<WatchState>> state = store_->roster().State(a);
    if (!state.ok() || !state->has_value()) continue;
    absl::MutexLock lock(&mu_);
    Announce(a, (*state)->last_seq);
  }
}

void WatchEngine::WatchNewAccounts(absl::Time now) {
  std::vector<std::string> due;
  {
    absl::MutexLock lock(&mu_);
    std::map<std::string, absl::Time> scans;
    for (const auto& [id, s] : subscribers_) {
      if (!s.watch_new_accounts) continue;
      auto it = next_scan_.find(s.account.tenant);
      scans[s.account.tenant] =
          it == next_scan_.end() ? absl::InfinitePast() : it->second;
    }
    for (auto& [tenant, next] : scans) {
      if (next > now) continue;
      due.push_back(tenant);
      next = now + options_.account_scan;
    }
    next_scan_ = std::move(scans);  // Forgets tenants no longer watched.
  }
  for (const std::string& tenant : due) {
    absl::StatusOr<std::vector<std::string>> ids = accounts_->ListIds(tenant);
    absl::StatusOr<std::vector<AccountRef>> watched =
        store_->roster().WatchedOf(tenant);
    if (!ids.ok() || !watched.ok()) continue;  // The next scan retries.
    std::set<std::string> known;
    for (const AccountRef& a : *watched) known.insert(a.account_id);
    for (const std::string& id : *ids) {
      if (!known.count(id)) WatchNewAccount({tenant, id});
    }
  }
}

void WatchEngine::WatchNewAccount(const AccountRef& a) {
  auto baseline = [this, a] {
    absl::StatusOr<Work> w = Begin(a, Priority::kBulk);
    absl::Status s = w.status();
    if (w.ok()) s = EnsureWatching(a, w->resolved, w->ctx);
    // An account that needs re-authorization, say: the next scan retries.
    if (!s.ok()) Log(a, "watching a new account", s);
  };
  if (pollers_ == nullptr) return baseline();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || !baselining_.insert(a).second) return;  // Under way.
  }
  OnPollers(a, &baselining_, baseline);
}

absl::StatusOr<int64_t> WatchEngine::TenantPosition(
    const std::string& tenant) const {
  return store_->events().TenantPosition(tenant);
}

absl::Status WatchOptions::Validate() const {
  if (!(poll_share > 0 && poll_share <= 1) ||
      poll_interval <= absl::ZeroDuration() ||
      account_scan <= absl::ZeroDuration() || retention_events < 1) {
    return absl::InvalidArgumentError(
        "--watch_poll_share must be in (0, 1], --watch_poll_interval and "
        "--watch_account_scan positive and --watch_retention_events at "
        "least 1");
  }
  if (poll_concurrency < 0 || poll_concurrency > 1024) {
    return absl::InvalidArgumentError(
        "--watch_poll_concurrency must be between 0 and 1024");
  }
  if (hook_concurrency < 0 || hook_concurrency > 256) {
    return absl::InvalidArgumentError(
        "--watch_hook_concurrency must be between 0 and 256");
  }
  if (!hook_base_url.empty() && hook_base_url != "local" &&
      !absl::StartsWith(hook_base_url, "https://") &&
      !absl::StartsWith(hook_base_url, "http://")) {
    return absl::InvalidArgumentError("--hook_base_url must be an http(s) URL");
  }
  return absl::OkStatus();
}

}  // namespace unified::watch
