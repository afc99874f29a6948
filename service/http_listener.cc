#include "service/http_listener.h"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "httplib.h"

namespace unified {
namespace {

std::string Escape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Page(absl::string_view title, absl::string_view body) {
  return absl::StrCat(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>",
      Escape(title), "</title></head><body><h1>", Escape(title), "</h1><p>",
      body, "</p></body></html>\n");
}

void Callback(IntegratedAccountsService* accounts, const httplib::Request& req,
              httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("Referrer-Policy", "no-referrer");
  const std::string state = req.get_param_value("state");
  if (req.has_param("error")) {
    // The customer denied consent (or Podio refused the request).
    res.status = 400;
    res.set_content(
        Page("Podio account not linked",
             absl::StrCat("The authorization was not given: ",
                          Escape(req.get_param_value("error")), ".")),
        "text/html; charset=utf-8");
    return;
  }
  absl::StatusOr<accounts::AccountRecord> linked =
      accounts->Complete("", req.get_param_value("code"), state);
  if (!linked.ok()) {
    res.status = linked.status().code() == absl::StatusCode::kInvalidArgument
                     ? 400
                     : 502;
    std::string reason;
    if (auto info = GetErrorInfo(linked.status())) reason = info->reason();
    res.set_content(Page("Podio account not linked",
                         absl::StrCat(Escape(linked.status().message()), " (",
                                      Escape(reason), ")")),
                    "text/html; charset=utf-8");
    return;
  }
  res.set_content(
      Page("Podio account linked",
           absl::StrCat("Integrated account id: <code id=\"account\">",
                        Escape(linked->id),
                        "</code>. You can close this window.")),
      "text/html; charset=utf-8");
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(
    const std::string& host, int port, IntegratedAccountsService* accounts,
    watch::WatchEngine* watch) {
  std::unique_ptr<HttpListener> listener(new HttpListener());
  listener->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *listener->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // No SO_REUSEPORT: a busy port is an error.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    // Answers go out at once (headers and body are written separately; with
    // Nagle they would wait for a delayed ACK). Accepted sockets inherit it.
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
  });
  server.set_payload_max_length(64 * 1024);
  server.Get("/oauth/callback",
             [accounts](const httplib::Request& req, httplib::Response& res) {
               Callback(accounts, req, res);
             });
  if (watch != nullptr) {
    // Podio's hook deliveries. The path's secret authenticates them; the
    // answer is 2xx only once the delivery is stored.
    server.Post(R"(/podio/hooks/([A-Za-z0-9_\-]{1,128}))",
                [watch](const httplib::Request& req, httplib::Response& res) {
                  res.status =
                      watch->HandleDelivery(req.matches[1].str(), req.body);
                  res.set_content(res.status == 200 ? "ok\n" : "refused\n",
                                  "text/plain");
                });
  }
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  listener->port_ = port == 0 ? server.bind_to_any_port(host)
                              : (server.bind_to_port(host, port) ? port : -1);
  if (listener->port_ <= 0) {
    return absl::UnavailableError(
        absl::StrCat("HTTP side listener cannot listen on ", host, ":", port));
  }
  HttpListener* self = listener.get();
  listener->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->returned_ = true;
  });
  while (!server.is_running() && !listener->returned_) {
    std::this_thread::yield();
  }
  return listener;
}

HttpListener::~HttpListener() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace unified
