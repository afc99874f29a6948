// A local httplib server on a free loopback port for tests, started and
// stopped without races: httplib's stop() is a no-op until the accept loop
// runs, so Start() returns only once it does.
#ifndef TESTS_TESTING_HTTP_SERVER_H_
#define TESTS_TESTING_HTTP_SERVER_H_

#include <atomic>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace unified::testing {

class TestHttpServer {
 public:
  // Register handlers on server() first, then Start().
  httplib::Server& server() { return server_; }

  // Binds 127.0.0.1:0 and serves; returns the port (<= 0 on failure).
  int Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return port_;
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      stopped_ = true;
    });
    while (!server_.is_running() && !stopped_) std::this_thread::yield();
    return port_;
  }

  std::string base_url() const {
    return absl::StrCat("http://127.0.0.1:", port_);
  }

  ~TestHttpServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace unified::testing

#endif  // TESTS_TESTING_HTTP_SERVER_H_
