// A webhook receiver for tests: POST <url()> answers scripted statuses (then
// a default one), can hold requests until released, and keeps every
// delivery's Standard Webhooks headers and body.
#ifndef TESTS_TESTING_WEBHOOK_RECEIVER_H_
#define TESTS_TESTING_WEBHOOK_RECEIVER_H_

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/http_server.h"

namespace unified::testing {

struct Delivery {
  std::string id, timestamp, signature, body;
};

class WebhookReceiver {
 public:
  WebhookReceiver() {
    server_.server().Post(
        "/hook", [this](const httplib::Request& req, httplib::Response& res) {
          absl::MutexLock lock(&mu_);
          deliveries_.push_back({req.get_header_value("webhook-id"),
                                 req.get_header_value("webhook-timestamp"),
                                 req.get_header_value("webhook-signature"),
                                 req.body});
          mu_.Await(absl::Condition(
              +[](bool* hold) { return !*hold; }, &hold_));
          if (!script_.empty()) {
            res.status = script_.front();
            script_.erase(script_.begin());
          } else {
            res.status = status_;
          }
        });
    // Senders keep connections open: the server's stop waits for them.
    server_.server().set_keep_alive_timeout(1);
    EXPECT_GT(server_.Start(), 0);
  }
  ~WebhookReceiver() { Hold(false); }

  std::string url() const { return server_.base_url() + "/hook"; }
  // The answers to the next requests, in order.
  void Script(std::vector<int> statuses) {
    absl::MutexLock lock(&mu_);
    script_ = std::move(statuses);
  }
  // The answer once the script is used up (200 at first).
  void set_status(int status) {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  // While held, requests wait unanswered.
  void Hold(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_ = hold;
  }
  std::vector<Delivery> received() {
    absl::MutexLock lock(&mu_);
    return deliveries_;
  }
  // Waits until `n` requests arrived (30 s at most); the requests.
  std::vector<Delivery> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return deliveries_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(30));
    return deliveries_;
  }

 private:
  TestHttpServer server_;
  absl::Mutex mu_;
  std::vector<int> script_ ABSL_GUARDED_BY(mu_);
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Delivery> deliveries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_WEBHOOK_RECEIVER_H_
