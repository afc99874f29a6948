// The libcurl multi-interface client against a local httplib server: many
// exchanges at once on its one event-loop thread, the same answers and
// errors as the blocking client, and a clean stop with exchanges in flight.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "connectors/common/http_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/http_server.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// Collects the results of exchanges, waiting for a number of them.
class Results {
 public:
  AsyncHttpClient::Done Slot(int i) {
    return [this, i](absl::StatusOr<HttpResponse> r) {
      absl::MutexLock lock(&mu_);
      results_.emplace_back(i, std::move(r));
    };
  }
  // Waits until `n` results came (false after a generous bound).
  bool WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    want_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &Results::Enough),
                                absl::Seconds(30));
  }
  std::vector<std::pair<int, absl::StatusOr<HttpResponse>>> Take() {
    absl::MutexLock lock(&mu_);
    return std::move(results_);
  }

 private:
  bool Enough() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return results_.size() >= want_;
  }

  absl::Mutex mu_;
  std::vector<std::pair<int, absl::StatusOr<HttpResponse>>> results_
      ABSL_GUARDED_BY(mu_);
  size_t want_ ABSL_GUARDED_BY(mu_) = 0;
};

class HttpMultiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Answers only once `kParallel` requests are inside the server at the
    // same time: a client sending one after another never gets an answer.
    // Answers go out at once (httplib writes head and body apart; Nagle
    // would hold the body for the client's delayed ACK).
    server_.server().set_socket_options([](socket_t sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    });
    server_.server().new_task_queue = [] {
      return new httplib::ThreadPool(kParallel + 4);
    };
    server_.server().Get("/together", [this](const httplib::Request& req,
                                             httplib::Response& res) {
      {
        absl::MutexLock lock(&mu_);
        ++inside_;
        mu_.AwaitWithTimeout(
            absl::Condition(
                +[](int* n) { return *n >= kParallel; }, &inside_),
            absl::Seconds(20));
      }
      res.set_content(req.get_param_value("i"), "text/plain");
    });
    server_.server().Get(
        "/big", [](const httplib::Request&, httplib::Response& res) {
          res.set_content(std::string(100000, 'a'), "text/plain");
        });
    server_.server().Get(
        "/hang", [this](const httplib::Request&, httplib::Response& res) {
          release_.WaitForNotificationWithTimeout(absl::Seconds(20));
          res.set_content("late", "text/plain");
        });
    ASSERT_GT(server_.Start(), 0);
  }
  void TearDown() override { release_.Notify(); }

  HttpRequest Get(const std::string& path) {
    HttpRequest r;
    r.url = server_.base_url() + path;
    return r;
  }

  // Within httplib's listen backlog (5): more connecting at once would
  // have SYNs dropped and retried a second later.
  static constexpr int kParallel = 4;
  absl::Mutex mu_;
  int inside_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification release_;
  testing::TestHttpServer server_;
};

TEST_F(HttpMultiTest, ManyExchangesAtOnceOnOneThread) {
  std::unique_ptr<AsyncHttpClient> http = NewCurlMultiClient({});
  Results results;
  for (int i = 0; i < kParallel; ++i) {
    http->Start(Get(absl::StrCat("/together?i=", i)), results.Slot(i));
  }
  ASSERT_TRUE(results.WaitFor(kParallel));
  int64_t connections = 0;
  for (auto& [i, r] : results.Take()) {
    ASSERT_THAT(r.status(), IsOk());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, absl::StrCat(i));
    connections += r->new_connections;
  }
  EXPECT_EQ(connections, kParallel);  // One each: they ran at once.
  EXPECT_EQ(http->in_flight(), 0);

  // The connections stay open for the next exchanges.
  http->Start(Get("/together?i=again"), results.Slot(0));
  ASSERT_TRUE(results.WaitFor(1));
  std::vector<std::pair<int, absl::StatusOr<HttpResponse>>> again =
      results.Take();
  ASSERT_THAT(again[0].second.status(), IsOk());
  EXPECT_EQ(again[0].second->new_connections, 0);
}

TEST_F(HttpMultiTest, ErrorsAreTheBlockingClientsErrors) {
  CurlHttpClientOptions options;
  options.max_response_bytes = 1000;
  std::unique_ptr<AsyncHttpClient> http = NewCurlMultiClient(options);
  Results results;
  http->Start(Get("/big"), results.Slot(0));
  HttpRequest bad = Get("/big");
  bad.url = "ftp://127.0.0.1/x";
  http->Start(bad, results.Slot(1));
  HttpRequest slow = Get("/hang");
  slow.timeout = absl::Milliseconds(200);
  http->Start(slow, results.Slot(2));
  std::atomic<bool> stop{false};
  HttpRequest cancelled = Get("/hang");
  cancelled.cancelled = [&stop] { return stop.load(); };
  http->Start(cancelled, results.Slot(3));
  ASSERT_TRUE(results.WaitFor(3));
  stop = true;
  ASSERT_TRUE(results.WaitFor(4));
  std::vector<absl::StatusCode> codes(4);
  for (auto& [i, r] : results.Take()) codes[i] = r.status().code();
  EXPECT_EQ(codes[0], absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(codes[1], absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(codes[2], absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(codes[3], absl::StatusCode::kCancelled);
}

TEST_F(HttpMultiTest, StoppingEndsWhatIsInFlight) {
  Results results;
  {
    std::unique_ptr<AsyncHttpClient> http = NewCurlMultiClient({});
    for (int i = 0; i < 3; ++i) http->Start(Get("/hang"), results.Slot(i));
    EXPECT_EQ(http->in_flight(), 3);
  }
  // Destroyed: every exchange ended, CANCELLED, before the destructor
  // returned.
  std::vector<std::pair<int, absl::StatusOr<HttpResponse>>> ended =
      results.Take();
  ASSERT_EQ(ended.size(), 3u);
  for (auto& [i, r] : ended) {
    EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kCancelled));
  }
}

}  // namespace
}  // namespace unified
