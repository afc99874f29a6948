#include "connectors/plugin.h"

#include "absl/strings/match.h"

namespace unified {

ProviderHttp::ProviderHttp(const CurlHttpClientOptions& options,
                           const std::string& provider,
                           UpstreamObserver* observer)
    : curl_(NewCurlHttpClient(options)),
      observed_(observer != nullptr
                    ? NewObservedHttpClient(curl_.get(), provider, observer)
                    : nullptr) {
  multi_ = NewCurlMultiClient(options);
  if (observer != nullptr) {
    observed_async_ =
        NewObservedAsyncHttpClient(multi_.get(), provider, observer);
  }
}

std::string WithoutTrailingSlashes(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

absl::Status CheckApiBase(const std::string& flag, const std::string& base) {
  if (absl::StartsWith(base, "https://")) return absl::OkStatus();
  for (const char* local :
       {"http://127.0.0.1:", "http://localhost:", "http://[::1]:",
        "http://127.0.0.1/", "http://localhost/"}) {
    if (absl::StartsWith(base, local)) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      flag + " must be https:// (plain http only to a loopback address)");
}

}  // namespace unified
