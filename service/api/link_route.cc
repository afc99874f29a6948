#include "service/api/link_route.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "service/link/link_pages.h"

namespace unified {
namespace {

constexpr char kAssets[] = "/link/assets/";

class LinkRoute final : public HttpRoute {
 public:
  explicit LinkRoute(LinkFlow* flow) : flow_(flow) {}

  bool Matches(absl::string_view path) const override {
    return path == "/link" || path == "/link/start" || path == "/link/token" ||
           absl::StartsWith(path, kAssets);
  }

  std::optional<HttpAnswer> Screen(
      const HttpRouteRequest& request) const override {
    const bool posted =
        request.path == "/link/start" || request.path == "/link/token";
    if (request.method != (posted ? "POST" : "GET")) {
      return PlainAnswer(405, "method not allowed\n");
    }
    if (absl::StartsWith(request.path, kAssets) &&
        Asset(request.path).body.empty()) {
      return PlainAnswer(404, "not found\n");
    }
    return std::nullopt;
  }

  HttpAnswer Serve(const HttpRouteRequest& request) override {
    if (request.path == "/link") return flow_->Show(request.query);
    if (request.path == "/link/start") {
      return flow_->Start(FormFields(request.body));
    }
    if (request.path == "/link/token") {
      return flow_->SubmitToken(FormFields(request.body));
    }
    return Asset(request.path);
  }

 private:
  // The page's style or script; an empty body when there is none.
  static HttpAnswer Asset(absl::string_view path) {
    absl::string_view name = path.substr(sizeof(kAssets) - 1);
    HttpAnswer answer;
    if (absl::EndsWith(name, ".js")) {
      answer.content_type = "text/javascript; charset=utf-8";
    } else if (absl::EndsWith(name, ".css")) {
      answer.content_type = "text/css; charset=utf-8";
    } else {
      return answer;
    }
    answer.body = std::string(link::LinkAsset(name));
    answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return answer;
  }

  LinkFlow* const flow_;
};

}  // namespace

std::unique_ptr<HttpRoute> NewLinkRoute(LinkFlow* flow) {
  return std::make_unique<LinkRoute>(flow);
}

}  // namespace unified
