#include "service/api/hook_route.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace unified {
namespace {

// A hook delivery's path: /hooks/<provider>/<secret>, or
// /<provider>/hooks/<secret>. False for any other path.
bool HookPath(absl::string_view path, std::string* provider,
              std::string* secret) {
  if (path.empty() || path[0] != '/') return false;
  std::vector<std::string> parts = absl::StrSplit(path.substr(1), '/');
  if (parts.size() != 3) return false;
  if (parts[0] == "hooks") {
    *provider = parts[1];
  } else if (parts[1] == "hooks") {
    *provider = parts[0];
  } else {
    return false;
  }
  *secret = parts[2];
  return !provider->empty();
}

bool ValidSecret(absl::string_view secret) {
  if (secret.empty() || secret.size() > 128) return false;
  for (char c : secret) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

class HookRoute final : public HttpRoute {
 public:
  HookRoute(watch::WatchEngine* watch, std::function<void(int)> on_delivery)
      : watch_(watch), on_delivery_(std::move(on_delivery)) {}

  bool Matches(absl::string_view path) const override {
    std::string provider, secret;
    return HookPath(path, &provider, &secret);
  }

  std::optional<HttpAnswer> Screen(
      const HttpRouteRequest& request) const override {
    std::string provider, secret;
    if (!HookPath(request.path, &provider, &secret) || !ValidSecret(secret) ||
        !ValidSecret(provider)) {
      return PlainAnswer(404, "not found\n");
    }
    if (request.method != "POST") {
      return PlainAnswer(405, "method not allowed\n");
    }
    return std::nullopt;
  }

  HttpAnswer Serve(const HttpRouteRequest& request) override {
    std::string provider, secret;
    HookPath(request.path, &provider, &secret);
    const int status = watch_->HandleDelivery(provider, secret, request.body);
    if (on_delivery_) on_delivery_(status);
    return PlainAnswer(status, status == 200 ? "ok\n" : "refused\n");
  }

 private:
  watch::WatchEngine* const watch_;
  const std::function<void(int)> on_delivery_;
};

}  // namespace

std::unique_ptr<HttpRoute> NewHookRoute(
    watch::WatchEngine* watch, std::function<void(int status)> on_delivery) {
  return std::make_unique<HookRoute>(watch, std::move(on_delivery));
}

}  // namespace unified
