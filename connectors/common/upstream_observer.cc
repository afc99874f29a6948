#include "connectors/common/upstream_observer.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace unified {
namespace {

// The segments of `url`'s path ("/org/1/member/" -> "org", "1", "member",
// ""), without scheme, host, query or fragment.
std::vector<absl::string_view> PathSegments(absl::string_view url) {
  absl::string_view path = url;
  if (const size_t scheme = path.find("://");
      scheme != absl::string_view::npos) {
    path.remove_prefix(scheme + 3);
    const size_t slash = path.find('/');
    path = slash == absl::string_view::npos ? "/" : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  if (absl::ConsumePrefix(&path, "/") && path.empty()) return {};
  return absl::StrSplit(path, '/');
}

class ObservedHttpClient final : public HttpClient {
 public:
  ObservedHttpClient(HttpClient* inner, std::string provider,
                     std::shared_ptr<const RouteTable> routes,
                     RateLimitTest rate_limited, UpstreamObserver* observer)
      : inner_(inner),
        provider_(std::move(provider)),
        routes_(std::move(routes)),
        rate_limited_(std::move(rate_limited)),
        observer_(observer) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    absl::StatusOr<HttpResponse> response = inner_->Send(request);
    observer_->OnUpstreamResponse(
        provider_, routes_->Label(request.url),
        response.ok() ? response->status : 0,
        response.ok() && rate_limited_ && rate_limited_(*response));
    return response;
  }

 private:
  HttpClient* const inner_;
  const std::string provider_;
  const std::shared_ptr<const RouteTable> routes_;
  const RateLimitTest rate_limited_;
  UpstreamObserver* const observer_;
};

class ObservedAsyncHttpClient final : public AsyncHttpClient {
 public:
  ObservedAsyncHttpClient(AsyncHttpClient* inner, std::string provider,
                          std::shared_ptr<const RouteTable> routes,
                          RateLimitTest rate_limited,
                          UpstreamObserver* observer)
      : inner_(inner),
        provider_(std::move(provider)),
        routes_(std::move(routes)),
        rate_limited_(std::move(rate_limited)),
        observer_(observer) {}

  void Start(HttpRequest request, Done done) override {
    std::string route = routes_->Label(request.url);
    inner_->Start(
        std::move(request),
        [this, route = std::move(route),
         done = std::move(done)](absl::StatusOr<HttpResponse> response) {
          observer_->OnUpstreamResponse(
              provider_, route, response.ok() ? response->status : 0,
              response.ok() && rate_limited_ && rate_limited_(*response));
          done(std::move(response));
        });
  }
  int in_flight() const override { return inner_->in_flight(); }
  void PollCancelled() override { inner_->PollCancelled(); }

 private:
  AsyncHttpClient* const inner_;
  const std::string provider_;
  const std::shared_ptr<const RouteTable> routes_;
  const RateLimitTest rate_limited_;
  UpstreamObserver* const observer_;
};

}  // namespace

RouteTable::RouteTable(const std::vector<std::string>& templates) {
  for (const std::string& t : templates) {
    std::vector<std::string> segments;
    for (absl::string_view segment : PathSegments(t)) {
      segments.emplace_back(segment);
    }
    templates_.emplace_back(t, std::move(segments));
  }
}

std::string RouteTable::Label(absl::string_view url) const {
  const std::vector<absl::string_view> path = PathSegments(url);
  const std::string* best = nullptr;
  size_t best_size = 0;
  for (const auto& [name, segments] : templates_) {
    if (segments.size() > path.size() || segments.size() <= best_size) {
      continue;
    }
    const size_t offset = path.size() - segments.size();
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const absl::string_view got = path[offset + i];
      match = segments[i] == "{id}" ? !got.empty() : segments[i] == got;
    }
    if (match) {
      best = &name;
      best_size = segments.size();
    }
  }
  return best != nullptr ? *best : kUnlistedRoute;
}

std::unique_ptr<HttpClient> NewObservedHttpClient(
    HttpClient* inner, std::string provider,
    std::shared_ptr<const RouteTable> routes, RateLimitTest rate_limited,
    UpstreamObserver* observer) {
  return std::make_unique<ObservedHttpClient>(
      inner, std::move(provider), std::move(routes), std::move(rate_limited),
      observer);
}

std::unique_ptr<AsyncHttpClient> NewObservedAsyncHttpClient(
    AsyncHttpClient* inner, std::string provider,
    std::shared_ptr<const RouteTable> routes, RateLimitTest rate_limited,
    UpstreamObserver* observer) {
  return std::make_unique<ObservedAsyncHttpClient>(
      inner, std::move(provider), std::move(routes), std::move(rate_limited),
      observer);
}

}  // namespace unified
