#include "connectors/common/listing_driver.h"

#include <utility>

namespace unified {

ListingFetcher::ListingFetcher(RequestPipeline* pipeline,
                               const CallContext& ctx,
                               const ReadAheadOptions* read_ahead)
    : pipeline_(pipeline), ctx_(ctx) {
  if (read_ahead != nullptr && pipeline->can_read_ahead()) {
    ahead_.emplace(pipeline, ctx, *read_ahead);
  }
}

int ListingFetcher::ahead() const { return ahead_ ? ahead_->window() : 0; }

absl::StatusOr<HttpResponse> ListingFetcher::Fetch(
    const std::vector<std::string>& wants) {
  if (!ahead_) return pipeline_->Get(ctx_, wants[0]);
  // What is needed now goes through the pipeline's every step (refresh,
  // retries) unless it was guessed and started earlier; the guesses go
  // ahead meanwhile.
  ahead_->Plan(wants, /*start_first=*/false);
  return ahead_->Get(wants[0]);
}

}  // namespace unified
