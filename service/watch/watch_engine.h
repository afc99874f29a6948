// Keeps the rosters of watched accounts current and logs their changes
// (WatchDirectory). Two sources feed one diff (RosterStore::Apply*):
//
//  - Hooks, for providers with webhooks (connectors/webhooks.h). For each
//    workspace the engine registers a hook per member event type (added,
//    removed, role changed) whose URL carries a random per-hook secret
//    (`<hook_base_url>/hooks/<provider>/<secret>`; only its SHA-256 is
//    stored). A POST there is answered only when the secret is known and
//    the delivery names that hook (and workspace); a verification is
//    confirmed with the provider; an event marks the workspace dirty in
//    the database before the 2xx answer, so an acknowledged delivery is
//    never lost. The worker then reads that workspace's roster (one listing,
//    so duplicate or reordered deliveries yield each change once).
//  - The reconciliation poll, every `poll_interval` per account: every
//    workspace and every roster, diffed (it finds what hooks missed,
//    removed members and workspaces included), and every organization's
//    member listing (members joining or leaving the organization, in a
//    workspace or not, their status and role), at background priority and
//    within `poll_share` of the account's hourly rate limit, counted over a
//    sliding hour. It also re-creates hooks the provider reports inactive
//    or lost.
//
// One worker thread per process; accounts' polls and dirty workspaces are
// leased in the database, so replicas sharing PostgreSQL split the work and
// never log a change twice.
#ifndef SERVICE_WATCH_WATCH_ENGINE_H_
#define SERVICE_WATCH_WATCH_ENGINE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/rate_budget.h"
#include "connectors/registry.h"
#include "service/core/account_resolver.h"
#include "service/core/worker_pool.h"
#include "service/watch/hook_spool.h"
#include "service/watch/watch_store.h"

namespace unified::watch {

struct WatchOptions {
  // Public base URL providers reach the HTTP side listener at; "" registers
  // no hooks: the poll alone.
  std::string hook_base_url;
  absl::Duration poll_interval = absl::Minutes(5);
  // Fraction of the account's hourly limit the poll may spend.
  double poll_share = 0.2;
  // How often the worker looks for due work when nothing wakes it.
  absl::Duration tick = absl::Seconds(1);
  // Events kept per account, and for how long.
  int64_t retention_events = 100000;
  absl::Duration retention = absl::Hours(24 * 7);
  absl::Duration poll_lease = absl::Minutes(5);
  absl::Duration dirty_lease = absl::Seconds(30);
  // Polls run at once, on threads of their own, while the loop goes on
  // with hook deliveries and other replicas' changes; fair across tenants
  // (service/core/worker_pool.h). 0: the loop runs each due poll itself,
  // one after another (RunOnce returns when they are done: tests).
  int poll_concurrency = 0;
  // Workspaces hooks marked read at once, on threads of their own (only
  // with poll_concurrency > 0), so that a delivery's roster read waits
  // neither for polls nor for another delivery's read; 0: the loop reads
  // each itself, one after another.
  int hook_concurrency = 4;
  // How long a provider's refusal is remembered before it is asked again:
  // an account's hooks on a workspace (it is no admin there: the poll alone
  // covers that workspace meanwhile), or an admin-only listing (Podio's
  // organization members: the contacts are read at once meanwhile).
  absl::Duration refusal_recheck = absl::Hours(24);
  // How often a tenant watched as a whole (Subscribe's
  // watch_new_accounts) is searched for accounts not yet watched.
  absl::Duration account_scan = absl::Seconds(10);
  // Deadline of one background provider call sequence (a roster read).
  absl::Duration work_deadline = absl::Minutes(2);
  int page_limit = 500;
  // Told of events logged (their number) and, each tick with due polls, how
  // long the longest-waiting one has been due (metrics). Unset: nobody.
  std::function<void(int64_t events)> on_events;
  std::function<void(absl::Duration lag)> on_poll_lag;
  // Told every `count_every` of the accounts watched (paused ones apart)
  // and of those paused, over every replica (metrics).
  std::function<void(int64_t watching, int64_t paused)> on_watched;
  absl::Duration count_every = absl::Seconds(15);
  // Told of each poll that ran to its end, ok or not (metrics, tests).
  std::function<void(const AccountRef& account)> on_poll_done;
  // Told of re-reads made to confirm departures (reconcile.cc): a roster
  // read that missed a stored member is read again before any removal is
  // logged.
  std::function<void(int64_t rereads)> on_rereads;
  // Where deliveries go while the store does not take them (hook_spool.h);
  // null: they are answered 503 and the provider retries.
  HookSpool* spool = nullptr;

  // INVALID_ARGUMENT naming the flag of a value out of range.
  absl::Status Validate() const;
};

// FAILED_PRECONDITION (reason WATCH_PAUSED): watching the account is
// paused.
absl::Status WatchPaused();

class WatchEngine {
 public:
  WatchEngine(WatchStore* store, AccountResolver* accounts,
              const ConnectorRegistry* connectors, RateBudget* budget,
              Clock* clock, WatchOptions options);
  ~WatchEngine();  // Stops the worker.

  // Runs the worker thread (RunOnce, then waits `tick` or until woken).
  void Start();
  void Stop();

  // Makes sure `a` is watched: the first call records its baseline roster
  // (no events) and registers the hooks, with the caller's context; later
  // calls find the baseline done and return. FAILED_PRECONDITION (reason
  // WATCH_PAUSED) while its watch is paused. Serialized per account in this
  // process.
  absl::Status EnsureWatching(const AccountRef& a,
                              const ResolvedAccount& account, CallContext& ctx);
  // Pauses (`watching` false) or resumes watching `a`, without forgetting
  // its roster or its log (RosterStore::SetPaused logs WATCH_PAUSED or
  // WATCH_RESUMED). Pausing waits for a poll under way, removes the
  // account's hooks at the provider (best effort), and stops its polls;
  // pausing an account not watched yet keeps it from being watched.
  // Resuming polls the account at the next tick (what changed meanwhile is
  // logged then), and takes the baseline with `ctx` when there is none.
  // Nothing to do is no error.
  absl::Status SetWatching(const AccountRef& a, bool watching,
                           const ResolvedAccount& account, CallContext& ctx);
  // How `a` is watched; nullopt when it is not.
  absl::StatusOr<std::optional<WatchState>> State(const AccountRef& a) const;
  // Runs `baselines` (EnsureWatching calls, say) `poll_concurrency` at a
  // time on the pollers, fair across tenants (one after another without
  // pollers, or once the engine stops), and returns their statuses in
  // order once all have ended.
  std::vector<absl::Status> RunBaselines(
      const std::string& tenant,
      std::vector<std::function<absl::Status()>> baselines);
  // Removes the account's hooks at the provider (best effort) and forgets
  // its watch. Call before its credentials go.
  absl::Status Unwatch(const AccountRef& a);

  // One pass of the worker: dirty workspaces, due polls, pruning. Tests
  // call it directly with an injected clock.
  void RunOnce();
  // Runs `due` polls: on pollers_ when there are, else one after another.
  void DispatchPolls(const std::vector<AccountRef>& due);
  // Polls `a` now if its poll is due and not leased elsewhere.
  absl::Status PollIfDue(const AccountRef& a);

  // A POST to /hooks/<provider>/<secret>: the HTTP status to answer (200,
  // 400 malformed, 404 unknown provider or secret, 403 a delivery for
  // another hook, 503 the store failed: the provider retries). While the
  // store does not answer, a delivery for a hook this process knows is
  // written to the spool and answered 200, so the provider keeps the hook
  // on; the worker replays the spool once the store is back, and then polls
  // every watched account at once (hooks lost meanwhile are re-created by
  // the poll, and what they missed is found).
  int HandleDelivery(const std::string& provider, const std::string& secret,
                     absl::string_view body);

  // Calls `wake` whenever this process logs events for `a`, until
  // Unsubscribe(id) returns; an `a` with an empty account_id subscribes to
  // every account of `a.tenant`. `wake` runs under the engine's lock: it
  // must not block nor call back into the engine. Other replicas' events
  // are announced by WakeOnStoredChanges. With `watch_new_accounts` (a
  // tenant-wide subscription), the worker also starts watching the tenant's
  // accounts that are not watched yet, at its next tick and then every
  // `account_scan` while the subscription lasts, their baselines
  // `poll_concurrency` at a time.
  int64_t Subscribe(const AccountRef& a, std::function<void()> wake,
                    bool watch_new_accounts = false);
  void Unsubscribe(int64_t id);
  // Wakes the subscribers of accounts whose log grew in the store since
  // they were last woken: other replicas' events. The worker calls it every
  // tick.
  void WakeOnStoredChanges();

  // The last position of `tenant`'s event log (0: none yet).
  absl::StatusOr<int64_t> TenantPosition(const std::string& tenant) const;

  // For the readers of service/watch (watch_stream.h); the API layer asks
  // the engine, never the store.
  WatchStore* store() const { return store_; }
  const WatchOptions& options() const { return options_; }

 private:
  struct Work;
  // Resolves the account, then WorkFor().
  absl::StatusOr<Work> Begin(const AccountRef& a, Priority priority);
  absl::StatusOr<Work> WorkFor(const AccountRef& a, ResolvedAccount resolved,
                               Priority priority);
  absl::Status Reconcile(Work& w, Source source, bool baseline);
  // Diffs every organization's member listing (organization-level events:
  // members added or removed whatever their workspaces, statuses, roles).
  // `stored`: the account's roster before this poll (empty for a
  // baseline). Defined in reconcile.cc, as is ReconcileWorkspace.
  absl::Status ReconcileOrganizations(Work& w, Source source, bool baseline,
                                      const Snapshot& stored);
  // One workspace's members. `stored` (read when null) is the roster
  // before, which says whether a departure needs confirming.
  absl::Status ReconcileWorkspace(Work& w, const std::string& workspace_id,
                                  Source source, bool baseline,
                                  int64_t dirty_gen,
                                  const std::vector<std::string>& order,
                                  const Snapshot* stored = nullptr);
  void CountRereads(int64_t rereads);
  // EnsureWatching with `a`'s lock held.
  absl::Status EnsureWatchingLocked(const AccountRef& a,
                                    const ResolvedAccount& account,
                                    CallContext& ctx);
  // The lock that serializes `a`'s baseline, pause and resume here.
  std::shared_ptr<absl::Mutex> AccountLock(const AccountRef& a);
  // Takes `a`'s poll lease once no poll holds it (within 30 s), so that no
  // poll runs meanwhile.
  absl::Status HoldPolls(const AccountRef& a);
  // Removes `a`'s hooks at the provider (best effort); `forget`: their rows
  // too.
  absl::Status RemoveHooks(const AccountRef& a, bool forget);
  absl::Status EnsureHooks(Work& w, const std::string& workspace_id);
  absl::Status CreateHook(Work& w, const std::string& workspace_id,
                          const std::string& type);
  void Notify(const AccountRef& a, const std::vector<StoredEvent>& events);
  // Starts watching the accounts of tenants subscribed with
  // watch_new_accounts that are not watched yet, when their scan is due:
  // their baselines run on the pollers, and the loop goes on.
  void WatchNewAccounts(absl::Time now);
  // Takes `a`'s baseline on the pollers (at once without), unless one is
  // under way.
  void WatchNewAccount(const AccountRef& a);
  // Reads a workspace a hook marked and logs what changed: on hookers_,
  // at once, unless its read is already queued or running (on the loop
  // without hookers_).
  void ReconcileHooked(const DirtyWorkspace& d);
  // Runs `job` on pollers_ unless the engine is stopping by then; then
  // takes `a` out of `queued` (polling_ or baselining_, where the caller
  // put it).
  void OnPollers(const AccountRef& a, std::set<AccountRef>* queued,
                 std::function<void()> job);
  // Runs `job` on `pool` for `tenant` unless the engine is stopping by
  // then; then `done` under mu_ (it takes the job out of the set that kept
  // it from being queued twice).
  void RunApart(WorkerPool& pool, const std::string& tenant,
                std::function<void()> job, std::function<void()> done);
  // Wakes `a`'s subscribers unless they were woken for `seq` already.
  void Announce(const AccountRef& a, int64_t seq)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop();
  // After the store failed: replays the spool, and once it is empty and the
  // store answers, makes every watched account's poll due.
  void RecoverFromOutage(absl::Time now);
  // Hooks seen in the store, by secret hash, for deliveries that arrive
  // while it does not answer.
  void Remember(const HookRow& hook);
  std::optional<HookRow> Known(const std::string& secret_hash);

  WatchStore* const store_;
  AccountResolver* const accounts_;
  const ConnectorRegistry* const connectors_;
  RateBudget* const budget_;
  Clock* const clock_;
  const WatchOptions options_;

  absl::Mutex mu_;
  struct Subscriber {
    AccountRef account;
    std::function<void()> wake;
    bool watch_new_accounts = false;
  };
  std::map<int64_t, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
  std::multimap<AccountRef, int64_t> subscribed_ ABSL_GUARDED_BY(mu_);
  int64_t next_subscriber_ ABSL_GUARDED_BY(mu_) = 0;
  // The log position subscribers of each account were last woken for (for
  // a tenant-wide subscription, the tenant's tseq).
  std::map<AccountRef, int64_t> announced_ ABSL_GUARDED_BY(mu_);
  // When each tenant watched as a whole is next searched for new accounts.
  std::map<std::string, absl::Time> next_scan_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Accounts whose poll is queued or running on pollers_.
  std::set<AccountRef> polling_ ABSL_GUARDED_BY(mu_);
  // Hooked workspaces whose read is queued or running on hookers_.
  std::set<std::pair<AccountRef, std::string>> hooking_ ABSL_GUARDED_BY(mu_);
  // When RunOnce next counts the watched accounts (on_watched).
  absl::Time next_count_ = absl::InfinitePast();
  // Accounts of tenant-wide watches whose baseline is queued or running on
  // pollers_ (WatchNewAccounts).
  std::set<AccountRef> baselining_ ABSL_GUARDED_BY(mu_);
  std::map<AccountRef, std::shared_ptr<absl::Mutex>> baseline_mu_
      ABSL_GUARDED_BY(mu_);
  absl::Mutex hooks_mu_;
  std::map<std::string, HookRow> known_hooks_ ABSL_GUARDED_BY(hooks_mu_);
  // The store failed since the last recovery (RecoverFromOutage).
  std::atomic<bool> outage_{false};
  // Runs polls apart from the loop (poll_concurrency > 0); null: the loop
  // polls itself.
  std::unique_ptr<WorkerPool> pollers_;
  // Runs hooked workspaces' reads (hook_concurrency > 0, with pollers_).
  std::unique_ptr<WorkerPool> hookers_;
  std::thread worker_;
};

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_ENGINE_H_
