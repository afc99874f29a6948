#include "connectors/podio/podio_client.h"

#include "absl/strings/numbers.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

std::optional<int64_t> HeaderInt(const HttpResponse& response,
                                 absl::string_view name) {
  int64_t value = 0;
  const std::string text = response.Header(name);
  if (text.empty() || !absl::SimpleAtoi(text, &value)) return std::nullopt;
  return value;
}

}  // namespace

void PodioProtocol::Authorize(const std::string& token,
                              HttpRequest& attempt) const {
  attempt.headers.emplace_back("Authorization", "OAuth2 " + token);
}

bool PodioProtocol::IsExpiredToken(const HttpResponse& response) const {
  // Only a 401 can say so: the body (a whole page for a 200) is read then.
  return response.status == 401 &&
         podio::IsExpiredToken(response.status, ReadPodioError(response.body));
}

RateSignal PodioProtocol::ReadRateSignal(const HttpResponse& response) const {
  RateSignal signal;
  signal.limit = HeaderInt(response, "x-rate-limit-limit");
  signal.remaining = HeaderInt(response, "x-rate-limit-remaining");
  if (response.status == 420 || response.status == 429) {
    signal.stop = true;
    signal.wait = ParseRateLimitWait(ReadPodioError(response.body).description);
  }
  return signal;
}

absl::StatusOr<json::Body> PodioClient::Get(CallContext& ctx,
                                            const std::string& path_and_query) {
  ASSIGN_OR_RETURN(HttpResponse response, pipeline_.Get(ctx, path_and_query));
  return ReadAnswer(std::move(response));
}

}  // namespace unified::podio
