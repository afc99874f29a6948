// The libcurl HttpClient against a local httplib server.
#include "connectors/common/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/testing/gzip.h"
#include "tests/testing/http_server.h"
#include "tests/testing/one_shot_server.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::unified::testing::Gzip;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get(
        "/echo", [this](const httplib::Request& req, httplib::Response& res) {
          ++echoes_;
          res.set_header("X-Seen-Auth", req.get_header_value("Authorization"));
          res.set_header("X-Multi", "one");
          res.set_content("hello", "text/plain");
        });
    server_.Post("/echo",
                 [](const httplib::Request& req, httplib::Response& res) {
                   res.status = 201;
                   res.set_content(req.method + ":" + req.body, "text/plain");
                 });
    server_.Delete("/echo", [](const httplib::Request& req,
                               httplib::Response& res) { res.status = 204; });
    server_.Get("/redirect",
                [this](const httplib::Request&, httplib::Response& res) {
                  res.status = 302;
                  res.set_header("Location", absl::StrCat(base_, "/echo"));
                });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(4096, 'x'), "text/plain");
    });
    server_.Get("/hang",
                [this](const httplib::Request&, httplib::Response& res) {
                  release_.WaitForNotificationWithTimeout(absl::Seconds(30));
                  res.set_content("late", "text/plain");
                });
    ASSERT_GT(http_.Start(), 0);
    base_ = http_.base_url();
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
  }

  HttpRequest Request(const std::string& path) {
    HttpRequest request;
    request.url = base_ + path;
    return request;
  }

  std::atomic<int> echoes_{0};
  absl::Notification release_;  // Declared first: destroyed after the server.
  unified::testing::TestHttpServer http_;
  httplib::Server& server_ = http_.server();
  std::string base_;
};

TEST_F(HttpClientTest, SendsHeadersAndReadsStatusHeadersBody) {
  auto client = NewCurlHttpClient({});
  HttpRequest request = Request("/echo");
  request.headers = {{"Authorization", "OAuth2 abc"}};
  absl::StatusOr<HttpResponse> r = client->Send(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->Header("x-seen-auth"), "OAuth2 abc");
  EXPECT_EQ(r->Header("X-MULTI"), "one");  // Case-insensitive.
  EXPECT_EQ(r->Header("absent"), "");
}

TEST_F(HttpClientTest, PostAndDeleteCarryMethodAndBody) {
  auto client = NewCurlHttpClient({});
  HttpRequest post = Request("/echo");
  post.method = "POST";
  post.body = "a=1";
  absl::StatusOr<HttpResponse> r = client->Send(post);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "POST:a=1");
  HttpRequest del = Request("/echo");
  del.method = "DELETE";
  r = client->Send(del);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 204);
  // The pooled handle forgets the previous method: a GET is a GET again.
  r = client->Send(Request("/echo"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->body, "hello");
}

TEST_F(HttpClientTest, ReusesTheConnection) {
  auto client = NewCurlHttpClient({});
  absl::StatusOr<HttpResponse> first = client->Send(Request("/echo"));
  absl::StatusOr<HttpResponse> second = client->Send(Request("/echo"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->new_connections, 1);
  EXPECT_EQ(second->new_connections, 0);
}

TEST_F(HttpClientTest, NeverFollowsRedirects) {
  auto client = NewCurlHttpClient({});
  HttpRequest request = Request("/redirect");
  request.headers = {{"Authorization", "OAuth2 secret"}};
  absl::StatusOr<HttpResponse> r = client->Send(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 302);
  EXPECT_EQ(r->Header("location"), base_ + "/echo");
}

TEST_F(HttpClientTest, CapsTheResponseSize) {
  CurlHttpClientOptions options;
  options.max_response_bytes = 1000;
  EXPECT_THAT(
      NewCurlHttpClient(options)->Send(Request("/big")),
      StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("1000 bytes")));
}

TEST_F(HttpClientTest, TimesOutWithDeadlineExceeded) {
  HttpRequest request = Request("/hang");
  request.timeout = absl::Milliseconds(200);
  absl::StatusOr<HttpResponse> r = NewCurlHttpClient({})->Send(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(TransportFailureOf(r.status()), TransportFailure::kTimeout);
}

TEST_F(HttpClientTest, APeerCheckSeesTheConnectedAddressAndCanRefuseIt) {
  auto client = NewCurlHttpClient({});
  std::vector<std::string> seen;
  HttpRequest refused = Request("/echo");
  refused.allow_peer = [&seen](absl::string_view address) {
    seen.emplace_back(address);
    return false;
  };
  absl::StatusOr<HttpResponse> r = client->Send(refused);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(TransportFailureOf(r.status()), TransportFailure::kRefusedPeer);
  EXPECT_EQ(echoes_.load(), 0);  // Nothing reached the server.
  EXPECT_THAT(seen, ::testing::ElementsAre("127.0.0.1"));
  // Accepted: the same exchange goes through, on the address shown.
  HttpRequest allowed = Request("/echo");
  allowed.allow_peer = [&seen](absl::string_view address) {
    seen.emplace_back(address);
    return true;
  };
  r = client->Send(allowed);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(echoes_.load(), 1);
  EXPECT_THAT(seen, ::testing::ElementsAre("127.0.0.1", "127.0.0.1"));
  EXPECT_EQ(TransportFailureOf(absl::OkStatus()), TransportFailure::kNone);
}

TEST(TransportFailureTest, TlsToAPlainPortAndAPortThatIsNotHttpAreTold) {
  auto client = NewCurlHttpClient({});
  unified::testing::OneShotServer not_http("SSH-2.0-OpenSSH_9.2\r\n");
  HttpRequest request;
  request.timeout = absl::Seconds(10);
  request.url = absl::StrCat("http://127.0.0.1:", not_http.port(), "/");
  absl::StatusOr<HttpResponse> r = client->Send(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(TransportFailureOf(r.status()), TransportFailure::kOther);

  unified::testing::TestHttpServer plain;
  const int plain_port = plain.Start();
  ASSERT_GT(plain_port, 0);
  request.url = absl::StrCat("https://127.0.0.1:", plain_port, "/");
  r = client->Send(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(TransportFailureOf(r.status()), TransportFailure::kTls);
}

TEST_F(HttpClientTest, RefusesHeaderInjectionAndOtherSchemes) {
  auto client = NewCurlHttpClient({});
  HttpRequest injected = Request("/echo");
  injected.headers = {{"X-A", "b\r\nAuthorization: OAuth2 stolen"}};
  absl::StatusOr<HttpResponse> r = client->Send(injected);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("stolen")));
  HttpRequest bad_name = Request("/echo");
  bad_name.headers = {{"X:Y", "z"}};
  EXPECT_THAT(client->Send(bad_name),
              StatusIs(absl::StatusCode::kInvalidArgument));
  HttpRequest file = Request("/echo");
  file.url = "file:///etc/passwd";
  EXPECT_THAT(client->Send(file), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A port that was free a moment ago and that nothing listens on.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);
  HttpRequest request;
  request.timeout = absl::Seconds(10);
  request.url = absl::StrCat("http://127.0.0.1:", port, "/");
  absl::StatusOr<HttpResponse> r = NewCurlHttpClient({})->Send(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(TransportFailureOf(r.status()), TransportFailure::kConnect);
}

HttpResponse Coded(const std::string& coding, std::string body) {
  HttpResponse r;
  r.status = 200;
  r.headers = {{"content-type", "application/json"},
               {"content-encoding", coding},
               {"content-length", std::to_string(body.size())}};
  r.body = std::move(body);
  return r;
}

TEST(DecodeContentTest, GzipIsInflatedAndItsHeadersGo) {
  const std::string page(300000, 'x');
  HttpResponse r = Coded("gzip", Gzip(page));
  ASSERT_THAT(DecodeContent(r, 1 << 20), IsOk());
  EXPECT_EQ(r.body, page);
  EXPECT_EQ(r.Header("content-encoding"), "");
  EXPECT_EQ(r.Header("content-length"), "");
  EXPECT_EQ(r.Header("content-type"), "application/json");

  HttpResponse plain = Coded("identity", "{}");
  ASSERT_THAT(DecodeContent(plain, 10), IsOk());
  EXPECT_EQ(plain.body, "{}");
}

TEST(DecodeContentTest, BadBodiesFailAndLeaveTheResponseAsItWas) {
  const std::string gz = Gzip(std::string(5000, 'y'));
  struct Case {
    HttpResponse response;
    absl::StatusCode code;
    size_t cap;
  };
  const Case cases[] = {
      {Coded("br", "abc"), absl::StatusCode::kUnimplemented, 1 << 20},
      {Coded("gzip", gz.substr(0, gz.size() / 2)), absl::StatusCode::kDataLoss,
       1 << 20},
      {Coded("gzip", gz + "junk"), absl::StatusCode::kDataLoss, 1 << 20},
      {Coded("gzip", "not gzip at all"), absl::StatusCode::kDataLoss, 1 << 20},
      // A small body that inflates past the cap (a "zip bomb").
      {Coded("gzip", gz), absl::StatusCode::kResourceExhausted, 4096},
  };
  for (const Case& c : cases) {
    HttpResponse r = c.response;
    EXPECT_THAT(DecodeContent(r, c.cap), StatusIs(c.code));
    EXPECT_EQ(r.body, c.response.body);
    EXPECT_EQ(r.headers, c.response.headers);
  }
}

}  // namespace
}  // namespace unified
