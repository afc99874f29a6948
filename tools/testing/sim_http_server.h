// The HTTP side both simulators share (tools/podio_sim, tools/scim_sim): a
// cpp-httplib server on its own thread, plain or TLS, that answers at once
// (TCP_NODELAY), refuses a busy port instead of sharing it, reads a body only
// when the request announces one, and stops on destruction.
#ifndef TOOLS_TESTING_SIM_HTTP_SERVER_H_
#define TOOLS_TESTING_SIM_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "httplib.h"

namespace unified::testing {

struct SimHttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0 = any free port.
  int threads = 32;
  // Both set: HTTPS with this certificate and key (PEM files).
  std::string tls_cert_file;
  std::string tls_key_file;
};

class SimHttpServer {
 public:
  using Handler =
      std::function<void(const httplib::Request&, httplib::Response&)>;

  // Serves every method and path with `handle`. `malformed` answers a
  // request httplib could not read, or whose announced body broke off (its
  // status is set); null leaves httplib's bare answer.
  static absl::StatusOr<std::unique_ptr<SimHttpServer>> Start(
      const SimHttpServerOptions& options, Handler handle,
      Handler malformed = nullptr);
  ~SimHttpServer();

  int port() const { return port_; }

 private:
  SimHttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

}  // namespace unified::testing

#endif  // TOOLS_TESTING_SIM_HTTP_SERVER_H_
