// Podio's API as the connector calls it: the shared request pipeline
// (connectors/common/request_pipeline.h) configured with Podio's protocol.
#ifndef CONNECTORS_PODIO_PODIO_CLIENT_H_
#define CONNECTORS_PODIO_PODIO_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/common/clock.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/common/rate_budget.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/connector.h"

namespace unified::podio {

// The operations Podio's reference marks "rate limited" as far as the
// directory goes: the contact listings (docs/podio.md §5; which others are
// is unconfirmed). As RateClassifier patterns.
inline const std::vector<std::string>& RateLimitedRoutes() {
  static const auto* routes = new std::vector<std::string>{
      "GET /contact/", "GET /contact/org/*", "GET /contact/space/*/"};
  return *routes;
}

// The shared pipeline's settings with Podio's defaults.
struct PodioClientOptions : RequestPipelineOptions {
  PodioClientOptions() {
    api_base = "https://api.podio.com";
    classifier = RateClassifier(RateLimitedRoutes());
  }
};

// Podio's steps of the shared pipeline (connectors/common/request_pipeline.h):
// `Authorization: OAuth2 <token>`, "expired_token" 401s, X-Rate-Limit-*
// headers and the 420 stop (docs/podio.md §2.4, §5).
class PodioProtocol : public UpstreamProtocol {
 public:
  std::string display_name() const override { return "Podio"; }
  void Authorize(const std::string& token, HttpRequest& attempt) const override;
  bool IsExpiredToken(const HttpResponse& response) const override;
  RateSignal ReadRateSignal(const HttpResponse& response) const override;
};

// Podio's API through the shared pipeline. Thread-safe; not owning `http`,
// `async` (null: listings do not read ahead) or `clock`.
class PodioClient {
 public:
  PodioClient(HttpClient* http, Clock* clock, PodioClientOptions options,
              AsyncHttpClient* async = nullptr)
      : pipeline_(http, clock, &protocol_, std::move(options), async) {}

  // GETs `path_and_query` (e.g. "/org/" or "/org/1/member/?limit=500") and
  // parses the JSON answer. Errors per podio_errors.h and the pipeline's;
  // INTERNAL for an unreadable answer.
  absl::StatusOr<json::Body> Get(CallContext& ctx,
                                 const std::string& path_and_query);

  // RequestPipeline::Send: Podio's answer, whatever its status.
  absl::StatusOr<HttpResponse> Send(CallContext& ctx, HttpRequest request,
                                    bool retry) {
    return pipeline_.Send(ctx, std::move(request), retry);
  }

  // The pipeline, for the listing driver (connectors/common/listing_driver.h).
  RequestPipeline* pipeline() { return &pipeline_; }

  int64_t requests_sent() const { return pipeline_.requests_sent(); }
  int64_t connections_opened() const { return pipeline_.connections_opened(); }

 private:
  const PodioProtocol protocol_;
  RequestPipeline pipeline_;
};

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PODIO_CLIENT_H_
