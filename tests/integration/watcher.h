// A WatchDirectory stream read on its own thread into a list, for
// integration tests.
#ifndef TESTS_INTEGRATION_WATCHER_H_
#define TESTS_INTEGRATION_WATCHER_H_

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"

namespace unified::testing {

inline constexpr absl::Duration kWait = absl::Seconds(30);

// A WatchDirectory stream read on its own thread into a list.
class Watcher {
 public:
  Watcher(std::shared_ptr<grpc::Channel> channel,
          v1::WatchDirectoryRequest request)
      : stub_(v1::UserDirectory::NewStub(std::move(channel))) {
    thread_ = std::thread([this, request] {
      std::unique_ptr<grpc::ClientReader<v1::DirectoryEvent>> reader =
          stub_->WatchDirectory(&context_, request);
      v1::DirectoryEvent e;
      while (reader->Read(&e)) {
        absl::MutexLock lock(&mu_);
        events_.push_back(e);
        arrival_.push_back(absl::Now());
      }
      grpc::Status s = reader->Finish();
      absl::MutexLock lock(&mu_);
      status_ = s;
      done_ = true;
    });
  }
  ~Watcher() { Stop(); }

  void Stop() {
    context_.TryCancel();
    if (thread_.joinable()) thread_.join();
  }

  // Waits until at least `n` events arrived (or the stream ended).
  std::vector<v1::DirectoryEvent> WaitFor(size_t n,
                                          absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    want_ = n;
    mu_.AwaitWithTimeout(absl::Condition(
                             +[](Watcher* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                               return w->done_ || w->events_.size() >= w->want_;
                             },
                             this),
                         timeout);
    return events_;
  }
  // Waits until `done(events)` holds (or the stream ended, or `timeout`
  // passed); the events.
  std::vector<v1::DirectoryEvent> WaitUntil(
      const std::function<bool(const std::vector<v1::DirectoryEvent>&)>& done,
      absl::Duration timeout = kWait) {
    absl::MutexLock lock(&mu_);
    auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return done_ || done(events_);
    };
    mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
    return events_;
  }
  // Waits for the stream to end; its status.
  grpc::Status WaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&done_), kWait);
    return status_;
  }
  absl::Time ArrivalOf(size_t i) {
    absl::MutexLock lock(&mu_);
    return i < arrival_.size() ? arrival_[i] : absl::InfiniteFuture();
  }

 private:
  std::unique_ptr<v1::UserDirectory::Stub> stub_;
  grpc::ClientContext context_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<v1::DirectoryEvent> events_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::Time> arrival_ ABSL_GUARDED_BY(mu_);
  size_t want_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::testing

#endif  // TESTS_INTEGRATION_WATCHER_H_
