// A route of the HTTP side listener (service/api/http_listener.h), behind
// which the listener knows nothing of what it serves: the OAuth callback
// (oauth_callback_route.h), providers' hook deliveries (hook_route.h).
// The listener finds the route on its event loop, lets it refuse the
// request there, and runs what may block on the worker pool.
#ifndef SERVICE_API_HTTP_ROUTE_H_
#define SERVICE_API_HTTP_ROUTE_H_

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/core/html.h"

namespace unified {

// A request as a route sees it.
struct HttpRouteRequest {
  std::string method;
  std::string path;
  // The query's arguments (decoded); a name given twice keeps its first.
  std::map<std::string, std::string> query;
  std::string body;
};

// What a route (or the listener) answers.
struct HttpAnswer {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // A page for a person's browser: Cache-Control no-store and
  // Referrer-Policy no-referrer.
  bool private_page = false;
  // More headers (e.g. Location, Content-Security-Policy).
  std::vector<std::pair<std::string, std::string>> headers;
};

HttpAnswer PlainAnswer(int status, std::string text);
HttpAnswer HtmlAnswer(int status, std::string page);
// A private redirect (303 See Other unless `status` says otherwise) to
// `location`.
HttpAnswer RedirectAnswer(std::string location, int status = 303);
// The fields of an application/x-www-form-urlencoded body (decoded;
// connectors/common/http_client.h's FormDecode); a name given twice keeps
// its first, and a part with a malformed escape is kept as it came.
std::map<std::string, std::string> FormFields(absl::string_view body);
// A minimal page: `title` (escaped) as title and heading, then `body_html`.
std::string HtmlPage(absl::string_view title, absl::string_view body_html);

class HttpRoute {
 public:
  virtual ~HttpRoute() = default;
  // Whether the route serves `path`. Asked on the event loop: no blocking.
  virtual bool Matches(absl::string_view path) const = 0;
  // An answer given at once, on the event loop, before the body is used
  // (a wrong method, a path that names nothing); nullopt: Serve it.
  // `request` has no body yet.
  virtual std::optional<HttpAnswer> Screen(
      const HttpRouteRequest& request) const = 0;
  // The answer; runs on the worker pool and may block.
  virtual HttpAnswer Serve(const HttpRouteRequest& request) = 0;
};

}  // namespace unified

#endif  // SERVICE_API_HTTP_ROUTE_H_
