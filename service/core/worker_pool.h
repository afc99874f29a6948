// The bounded pool of threads that runs the service's blocking work (provider
// calls through libcurl, the store) so that gRPC's own threads never block.
//
// Scheduling is fair across tenants: every tenant has a queue of its own
// (interactive jobs ahead of bulk ones) and the workers take jobs from the
// tenants with queued work in turn. A tenant also runs at most
// `max_running_per_tenant` jobs at once, so the rest of the workers stay free
// for the others however much work one tenant queues. Together: a tenant's
// job waits behind at most one queued job of every other tenant with work
// waiting, never behind a whole backlog.
//
// Bulk jobs (a stream's next pages: parsing, mapping) are CPU work rather
// than waiting, so a tenant runs at most `max_bulk_per_tenant` of them at
// once, however many streams it has open: its streams share that many
// cores, and another tenant's calls keep the rest
// (tools/bench/noisy_neighbour).
#ifndef SERVICE_CORE_WORKER_POOL_H_
#define SERVICE_CORE_WORKER_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace unified {

struct WorkerPoolOptions {
  // Worker threads (the server's --workers).
  int threads = 16;
  // Jobs one tenant may run at once; 0 = three quarters of `threads` (at
  // least 1), so that one tenant can never occupy every worker.
  int max_running_per_tenant = 0;
  // Bulk jobs one tenant may run at once; 0 = half the machine's cores (at
  // least 1).
  int max_bulk_per_tenant = 0;

  // INVALID_ARGUMENT naming the flag of a value out of range.
  absl::Status Validate() const;
};

class WorkerPool {
 public:
  enum class Lane { kInteractive, kBulk };

  // Starts `options.threads` workers (at least 1).
  explicit WorkerPool(WorkerPoolOptions options = {});
  // Runs every job already queued, then joins the workers.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job` for `tenant`. Never blocks and never runs the job inline.
  // Jobs of one tenant and lane start in the order they were submitted.
  // Thread-safe; may be called from a job.
  void Submit(const std::string& tenant, Lane lane, std::function<void()> job);

  // Jobs waiting to start, over all tenants.
  int64_t queued() const;
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  struct TenantQueue {
    std::deque<std::function<void()>> interactive;
    std::deque<std::function<void()>> bulk;
    int running = 0;
    int bulk_running = 0;
    bool empty() const { return interactive.empty() && bulk.empty(); }
  };
  void Work();
  // Whether `queue` has a job that may start now.
  bool CanStart(const TenantQueue& queue) const;
  // The next job to run, in turn, or false when none may start now.
  bool Take(std::function<void()>* job, std::string* tenant, bool* bulk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  int max_running_per_tenant_ = 1;
  int max_bulk_per_tenant_ = 1;
  mutable absl::Mutex mu_;
  std::map<std::string, TenantQueue> tenants_ ABSL_GUARDED_BY(mu_);
  // Tenants with queued jobs, in the order they are served next.
  std::list<std::string> turn_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace unified

#endif  // SERVICE_CORE_WORKER_POOL_H_
