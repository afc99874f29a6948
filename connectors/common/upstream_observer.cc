#include "connectors/common/upstream_observer.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace unified {
namespace {

bool IsIdSegment(absl::string_view segment) {
  if (segment.size() > 40) return true;
  if (segment.empty()) return false;
  for (char c : segment) {
    if (!absl::ascii_isdigit(c) && c != ',') return false;
  }
  return true;
}

class ObservedHttpClient final : public HttpClient {
 public:
  ObservedHttpClient(HttpClient* inner, std::string provider,
                     UpstreamObserver* observer)
      : inner_(inner), provider_(std::move(provider)), observer_(observer) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    absl::StatusOr<HttpResponse> response = inner_->Send(request);
    observer_->OnUpstreamResponse(provider_, RouteTemplate(request.url),
                                  response.ok() ? response->status : 0);
    return response;
  }

 private:
  HttpClient* const inner_;
  const std::string provider_;
  UpstreamObserver* const observer_;
};

class ObservedAsyncHttpClient final : public AsyncHttpClient {
 public:
  ObservedAsyncHttpClient(AsyncHttpClient* inner, std::string provider,
                          UpstreamObserver* observer)
      : inner_(inner), provider_(std::move(provider)), observer_(observer) {}

  void Start(HttpRequest request, Done done) override {
    std::string route = RouteTemplate(request.url);
    inner_->Start(std::move(request),
                  [this, route = std::move(route), done = std::move(done)](
                      absl::StatusOr<HttpResponse> response) {
                    observer_->OnUpstreamResponse(
                        provider_, route, response.ok() ? response->status : 0);
                    done(std::move(response));
                  });
  }
  int in_flight() const override { return inner_->in_flight(); }
  void PollCancelled() override { inner_->PollCancelled(); }

 private:
  AsyncHttpClient* const inner_;
  const std::string provider_;
  UpstreamObserver* const observer_;
};

}  // namespace

std::string RouteTemplate(absl::string_view url) {
  absl::string_view path = url;
  if (const size_t scheme = path.find("://");
      scheme != absl::string_view::npos) {
    path.remove_prefix(scheme + 3);
    const size_t slash = path.find('/');
    path = slash == absl::string_view::npos ? "/" : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  std::vector<std::string> out;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (out.size() > 8) {
      out.back() = "...";
      break;
    }
    out.push_back(IsIdSegment(segment) ? "{id}" : std::string(segment));
  }
  std::string joined = absl::StrJoin(out, "/");
  return joined.empty() ? "/" : joined;
}

std::unique_ptr<HttpClient> NewObservedHttpClient(HttpClient* inner,
                                                  std::string provider,
                                                  UpstreamObserver* observer) {
  return std::make_unique<ObservedHttpClient>(inner, std::move(provider),
                                              observer);
}

std::unique_ptr<AsyncHttpClient> NewObservedAsyncHttpClient(
    AsyncHttpClient* inner, std::string provider, UpstreamObserver* observer) {
  return std::make_unique<ObservedAsyncHttpClient>(inner, std::move(provider),
                                                   observer);
}

}  // namespace unified
