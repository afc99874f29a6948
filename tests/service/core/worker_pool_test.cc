#include "service/core/worker_pool.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace unified {
namespace {

// Records the order in which jobs ran.
class Log {
 public:
  void Add(const std::string& what) {
    absl::MutexLock lock(&mu_);
    entries_.push_back(what);
  }
  // Waits until `n` entries were added; all of them.
  std::vector<std::string> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.size() >= n;
    };
    mu_.Await(absl::Condition(&enough));
    return entries_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> entries_ ABSL_GUARDED_BY(mu_);
};

TEST(WorkerPoolTest, OneTenantsBacklogDelaysAnotherByAtMostOneJob) {
  absl::Notification started, release;
  Log log;
  // Declared last: destroyed first, while what its jobs use still exists.
  WorkerPool pool(WorkerPoolOptions{1, 1});
  // The only worker is busy while both tenants queue.
  pool.Submit("a", WorkerPool::Lane::kBulk, [&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  for (int i = 0; i < 50; ++i) {
    pool.Submit("a", WorkerPool::Lane::kBulk,
                [&log, i] { log.Add("a" + std::to_string(i)); });
  }
  pool.Submit("b", WorkerPool::Lane::kInteractive, [&] { log.Add("b"); });
  EXPECT_EQ(pool.queued(), 51);
  release.Notify();
  std::vector<std::string> order = log.WaitFor(51);
  // Tenant a's first queued job was ahead in turn; b's comes right after.
  EXPECT_EQ(order[0], "a0");
  EXPECT_EQ(order[1], "b");
  // Each tenant's own jobs keep their order.
  for (int i = 1; i < 50; ++i) EXPECT_EQ(order[i + 1], "a" + std::to_string(i));
}

TEST(WorkerPoolTest, InteractiveJobsOfATenantGoBeforeItsBulkJobs) {
  absl::Notification started, release;
  Log log;
  // Declared last: destroyed first, while what its jobs use still exists.
  WorkerPool pool(WorkerPoolOptions{1, 1});
  pool.Submit("a", WorkerPool::Lane::kBulk, [&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  pool.Submit("a", WorkerPool::Lane::kBulk, [&] { log.Add("bulk"); });
  pool.Submit("a", WorkerPool::Lane::kInteractive,
              [&] { log.Add("interactive"); });
  release.Notify();
  EXPECT_EQ(log.WaitFor(2), (std::vector<std::string>{"interactive", "bulk"}));
}

TEST(WorkerPoolTest, ATenantNeverOccupiesEveryWorker) {
  // Four workers, at most two for one tenant (bulk jobs included).
  absl::Notification release, b_ran;
  Log started;
  WorkerPool pool(WorkerPoolOptions{4, 2, 2});
  for (int i = 0; i < 6; ++i) {
    pool.Submit("a", WorkerPool::Lane::kBulk, [&] {
      started.Add("a");
      release.WaitForNotification();
    });
  }
  started.WaitFor(2);
  // Tenant a holds two workers and has four jobs queued; b still runs now.
  pool.Submit("b", WorkerPool::Lane::kInteractive, [&] { b_ran.Notify(); });
  b_ran.WaitForNotification();
  EXPECT_EQ(pool.queued(), 4);
  release.Notify();
}

TEST(WorkerPoolTest, ATenantsBulkJobsRunOnlyAsManyAtOnceAsItsBulkCap) {
  // Eight workers, six for one tenant, but one bulk job at a time: its
  // streams share one core however many it opens, and its interactive calls
  // still get the workers its cap leaves.
  absl::Mutex mu;
  int running = 0, most = 0;
  bool started = false;
  absl::Notification release, call_ran, first_running;
  Log finished;
  WorkerPool pool(WorkerPoolOptions{8, 6, 1});
  for (int i = 0; i < 5; ++i) {
    pool.Submit("a", WorkerPool::Lane::kBulk, [&] {
      bool first = false;
      {
        absl::MutexLock lock(&mu);
        most = std::max(most, ++running);
        first = !started;
        started = true;
      }
      if (first) first_running.Notify();
      release.WaitForNotification();
      {
        absl::MutexLock lock(&mu);
        --running;
      }
      finished.Add("bulk");
    });
  }
  // With the first bulk job holding its one slot (it has started: the
  // interactive job would otherwise go first), an interactive job of the
  // same tenant runs now.
  first_running.WaitForNotification();
  pool.Submit("a", WorkerPool::Lane::kInteractive, [&] { call_ran.Notify(); });
  call_ran.WaitForNotification();
  EXPECT_EQ(pool.queued(), 4);  // The other bulk jobs wait.
  release.Notify();
  finished.WaitFor(5);
  EXPECT_EQ(most, 1);
}

TEST(WorkerPoolTest, DestructionRunsEveryQueuedJob) {
  int ran = 0;
  {
    absl::Mutex mu;
    WorkerPool pool(WorkerPoolOptions{2});
    for (int i = 0; i < 100; ++i) {
      pool.Submit(i % 2 ? "a" : "b", WorkerPool::Lane::kBulk, [&] {
        absl::MutexLock lock(&mu);
        ++ran;
      });
    }
  }
  EXPECT_EQ(ran, 100);
}

TEST(WorkerPoolTest, JobsMaySubmitJobs) {
  absl::Notification done;
  WorkerPool pool(WorkerPoolOptions{2});
  pool.Submit("a", WorkerPool::Lane::kBulk, [&] {
    pool.Submit("a", WorkerPool::Lane::kBulk, [&] { done.Notify(); });
  });
  done.WaitForNotification();
}

}  // namespace
}  // namespace unified
