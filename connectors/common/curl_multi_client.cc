// libcurl's multi interface as an AsyncHttpClient: one thread drives every
// transfer (connectors/common/http_client.h).
#include <curl/curl.h>

#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "connectors/common/curl_transfer.h"
#include "connectors/common/http_client.h"

namespace unified {
namespace {

using curl_internal::Complete;
using curl_internal::CurlEasy;
using curl_internal::CurlList;
using curl_internal::GlobalInit;
using curl_internal::Prepare;
using curl_internal::Transfer;

class CurlMultiClient final : public AsyncHttpClient {
 public:
  explicit CurlMultiClient(CurlHttpClientOptions options)
      : options_(std::move(options)) {
    GlobalInit();
    multi_ = curl_multi_init();
    loop_ = std::thread([this] { Loop(); });
  }

  ~CurlMultiClient() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    loop_.join();
    curl_multi_cleanup(multi_);
  }

  void Start(HttpRequest request, Done done) override {
    auto job = std::make_unique<Job>();
    job->request = std::move(request);
    job->done = std::move(done);
    in_flight_.fetch_add(1);
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        pending_.push_back(std::move(job));
        job = nullptr;
      }
    }
    if (job != nullptr) {
      Finish(*job, absl::CancelledError("the HTTP client is stopping"));
      return;
    }
    curl_multi_wakeup(multi_);
  }

  int in_flight() const override { return in_flight_.load(); }
  void PollCancelled() override { curl_multi_wakeup(multi_); }

 private:
  // One exchange: its own copy of the request, and what the callbacks fill.
  struct Job {
    HttpRequest request;
    Done done;
    HttpResponse response;
    Transfer transfer{};
    CurlList headers;
    CurlEasy easy;
  };

  void Finish(Job& job, absl::StatusOr<HttpResponse> result) {
    Done done = std::move(job.done);
    in_flight_.fetch_sub(1);
    done(std::move(result));
  }

  // Adds the queued jobs to the multi handle (the loop thread only).
  void AddPending() {
    std::deque<std::unique_ptr<Job>> jobs;
    {
      absl::MutexLock lock(&mu_);
      jobs.swap(pending_);
    }
    for (std::unique_ptr<Job>& job : jobs) {
      if (job->request.cancelled && job->request.cancelled()) {
        Finish(*job, absl::CancelledError("cancelled before sending"));
        continue;
      }
      job->easy.reset(curl_easy_init());
      if (job->easy == nullptr) {
        Finish(*job, absl::InternalError("curl_easy_init failed"));
        continue;
      }
      job->transfer = Transfer{&job->response, options_.max_response_bytes,
                               &job->request.cancelled};
      if (absl::Status s = Prepare(job->easy.get(), options_, job->request,
                                   &job->transfer, &job->headers);
          !s.ok()) {
        Finish(*job, s);
        continue;
      }
      CURL* easy = job->easy.get();
      curl_multi_add_handle(multi_, easy);
      active_[easy] = std::move(job);
    }
  }

  // Completes the transfers libcurl reports done.
  void Reap() {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto it = active_.find(msg->easy_handle);
      if (it == active_.end()) continue;
      std::unique_ptr<Job> job = std::move(it->second);
      active_.erase(it);
      curl_multi_remove_handle(multi_, job->easy.get());
      Finish(*job, Complete(job->easy.get(), msg->data.result, job->transfer,
                            std::move(job->response), options_));
    }
  }

  // Ends the transfers whose caller went away (libcurl's progress callback
  // notices only about once a second on an idle transfer).
  void DropCancelled() {
    for (auto it = active_.begin(); it != active_.end();) {
      const std::function<bool()>& cancelled = it->second->request.cancelled;
      if (!cancelled || !cancelled()) {
        ++it;
        continue;
      }
      std::unique_ptr<Job> job = std::move(it->second);
      it = active_.erase(it);
      curl_multi_remove_handle(multi_, job->easy.get());
      Finish(*job, absl::CancelledError("cancelled by the caller"));
    }
  }

  void Loop() {
    while (true) {
      AddPending();
      int running = 0;
      curl_multi_perform(multi_, &running);
      Reap();
      DropCancelled();
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) break;
      }
      // Wakes for socket activity, a timeout libcurl asks for, or
      // curl_multi_wakeup (a new job, or stopping); at the latest after
      // 100 ms, to look for cancelled callers.
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
    // Stopping: what is still in flight ends CANCELLED.
    AddPending();
    for (auto& [easy, job] : active_) {
      curl_multi_remove_handle(multi_, easy);
      Finish(*job, absl::CancelledError("the HTTP client stopped"));
    }
    active_.clear();
  }

  const CurlHttpClientOptions options_;
  CURLM* multi_ = nullptr;
  std::atomic<int> in_flight_{0};
  absl::Mutex mu_;
  std::deque<std::unique_ptr<Job>> pending_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Transfers on the multi handle; the loop thread's alone.
  std::map<CURL*, std::unique_ptr<Job>> active_;
  std::thread loop_;
};

}  // namespace

std::unique_ptr<AsyncHttpClient> NewCurlMultiClient(
    CurlHttpClientOptions options) {
  return std::make_unique<CurlMultiClient>(std::move(options));
}

}  // namespace unified
