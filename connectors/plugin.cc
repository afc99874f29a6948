#include "connectors/plugin.h"

#include "absl/strings/str_cat.h"
#include "connectors/common/url_host.h"

namespace unified {

ProviderHttp::ProviderHttp(const CurlHttpClientOptions& options,
                           const std::string& provider,
                           const std::vector<std::string>& routes,
                           RateLimitTest rate_limited,
                           UpstreamObserver* observer)
    : curl_(NewCurlHttpClient(options)) {
  multi_ = NewCurlMultiClient(options);
  if (observer != nullptr) {
    auto table = std::make_shared<const RouteTable>(routes);
    observed_ = NewObservedHttpClient(curl_.get(), provider, table,
                                      rate_limited, observer);
    observed_async_ = NewObservedAsyncHttpClient(
        multi_.get(), provider, table, std::move(rate_limited), observer);
  }
}

std::string WithoutTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

absl::Status CheckApiBase(const std::string& flag, const std::string& base) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(base);
  if (!url.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": ", url.status().message()));
  }
  if (url->https || IsLoopbackHost(url->host)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      flag + " must be https:// (plain http only to a loopback address)");
}

}  // namespace unified
