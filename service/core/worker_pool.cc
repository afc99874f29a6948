#include "service/core/worker_pool.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace unified {

WorkerPool::WorkerPool(WorkerPoolOptions options) {
  const int threads = std::max(1, options.threads);
  max_running_per_tenant_ = options.max_running_per_tenant > 0
                                ? options.max_running_per_tenant
                                : std::max(1, threads * 3 / 4);
  max_bulk_per_tenant_ =
      options.max_bulk_per_tenant > 0
          ? options.max_bulk_per_tenant
          : std::max(1,
                     static_cast<int>(std::thread::hardware_concurrency()) / 2);
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

void WorkerPool::Submit(const std::string& tenant, Lane lane,
                        std::function<void()> job) {
  absl::MutexLock lock(&mu_);
  TenantQueue& queue = tenants_[tenant];
  if (queue.empty()) turn_.push_back(tenant);
  (lane == Lane::kInteractive ? queue.interactive : queue.bulk)
      .push_back(std::move(job));
  ++queued_;
}

int64_t WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return queued_;
}

bool WorkerPool::CanStart(const TenantQueue& queue) const {
  if (queue.running >= max_running_per_tenant_) return false;
  return !queue.interactive.empty() ||
         (!queue.bulk.empty() && queue.bulk_running < max_bulk_per_tenant_);
}

bool WorkerPool::Take(std::function<void()>* job, std::string* tenant,
                      bool* bulk) {
  for (auto it = turn_.begin(); it != turn_.end(); ++it) {
    TenantQueue& queue = tenants_[*it];
    if (!CanStart(queue)) continue;
    *bulk = queue.interactive.empty();
    auto& lane = *bulk ? queue.bulk : queue.interactive;
    *job = std::move(lane.front());
    lane.pop_front();
    --queued_;
    ++queue.running;
    if (*bulk) ++queue.bulk_running;
    *tenant = *it;
    // Served: to the back of the turn, or out of it when nothing is left.
    if (queue.empty()) {
      turn_.erase(it);
    } else {
      turn_.splice(turn_.end(), turn_, it);
    }
    return true;
  }
  return false;
}

void WorkerPool::Work() {
  std::function<void()> job;
  std::string tenant;
  bool bulk = false;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        if (stopping_ && queued_ == 0) return true;
        for (const std::string& t : turn_) {
          if (CanStart(tenants_[t])) return true;
        }
        return false;
      };
      mu_.Await(absl::Condition(&ready));
      if (!Take(&job, &tenant, &bulk)) return;  // Stopping, nothing queued.
    }
    job();
    job = nullptr;  // Destroy what the job captured before counting it done.
    absl::MutexLock lock(&mu_);
    auto it = tenants_.find(tenant);
    if (bulk) --it->second.bulk_running;
    if (--it->second.running == 0 && it->second.empty()) tenants_.erase(it);
  }
}

absl::Status WorkerPoolOptions::Validate() const {
  if (threads < 1 || threads > 1024 || max_running_per_tenant < 0 ||
      max_bulk_per_tenant < 0) {
    return absl::InvalidArgumentError(
        "--workers must be 1 to 1024, --tenant_max_running and "
        "--tenant_max_stream_jobs at least 0");
  }
  return absl::OkStatus();
}

}  // namespace unified
