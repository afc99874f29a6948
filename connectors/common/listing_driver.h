// The one driver of every connector's listings (docs/architecture.md,
// "Listings"): it runs a Pager (pager.h), fetching the GETs it wants
// through the request pipeline, and makes from it either one page (the
// paged List calls) or a stream of pages (PageIterator). Both are the same
// loop over the same pager, so a List page and a stream's page from the
// same token are the same records and the same next token.
//
// Streams read ahead (read_ahead.h): before each GET, the pager's guesses
// of what it wants next are started on the async client, within the
// adaptive window and the budget's reserve, and the pipeline's ordinary
// Send serves whatever was not read ahead or came back unusable (a 5xx, an
// expired token): reading ahead changes when a listing's records come,
// never which. The calls read ahead and not used are counted
// (wasted_calls). A List page reads nothing ahead: what it reads past its
// page would be thrown away.
#ifndef CONNECTORS_COMMON_LISTING_DRIVER_H_
#define CONNECTORS_COMMON_LISTING_DRIVER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/call_context.h"
#include "connectors/common/pager.h"
#include "connectors/common/paging.h"
#include "connectors/common/read_ahead.h"
#include "connectors/common/request_pipeline.h"

namespace unified {

// What the driver fetches with, apart from the pager's type. Not
// thread-safe: one listing. Not owning `pipeline`; copies `ctx`.
class ListingFetcher {
 public:
  // `read_ahead`: null for none (List pages, or no async client).
  ListingFetcher(RequestPipeline* pipeline, const CallContext& ctx,
                 const ReadAheadOptions* read_ahead);

  // GETs `wants[0]`, having started `wants[1..]` ahead when reading ahead.
  absl::StatusOr<HttpResponse> Fetch(const std::vector<std::string>& wants);

  // How many guesses are worth naming now (the read-ahead window; 0 when
  // not reading ahead).
  int ahead() const;
  int64_t wasted() const { return ahead_ ? ahead_->wasted() : 0; }

 private:
  RequestPipeline* const pipeline_;
  CallContext ctx_;
  std::optional<ReadAhead> ahead_;
};

// The pager's next page through `fetcher`. False (and `*status` OK) after
// the last page; false with an error when a fetch or the pager failed.
template <typename T>
bool NextPageOf(Pager<T>& pager, ListingFetcher& fetcher, Page<T>* page,
                absl::Status* status) {
  while (!pager.TakePage(page)) {
    if (pager.done()) return false;
    const std::vector<std::string> wants = pager.Wants(fetcher.ahead());
    if (wants.empty()) {
      *status = absl::InternalError(
          "listing pager neither has a page nor wants an answer");
      return false;
    }
    absl::StatusOr<HttpResponse> answer = fetcher.Fetch(wants);
    if (answer.ok()) {
      *status = pager.Feed(wants[0], std::move(*answer));
    } else {
      *status = answer.status();
    }
    if (!status->ok()) return false;
  }
  return true;
}

// One page of `pager` (a paged List call): reads nothing ahead.
template <typename T>
absl::StatusOr<Page<T>> ListPage(RequestPipeline* pipeline, CallContext& ctx,
                                 Pager<T>& pager) {
  ListingFetcher fetcher(pipeline, ctx, nullptr);
  Page<T> page;
  absl::Status status;
  if (NextPageOf(pager, fetcher, &page, &status)) return page;
  if (!status.ok()) return status;
  return page;  // Only a pager already past its end; an empty last page.
}

// A stream over `pager`'s pages, reading ahead with `options` when
// `pipeline` has an async client. `ctx` is copied.
template <typename T>
class PagerIterator final : public PageIterator<T> {
 public:
  PagerIterator(RequestPipeline* pipeline, const CallContext& ctx,
                const ReadAheadOptions& options,
                std::unique_ptr<Pager<T>> pager)
      : pager_(std::move(pager)), fetcher_(pipeline, ctx, &options) {}

  bool Next(Page<T>* page) override {
    if (!status_.ok()) return false;
    return NextPageOf(*pager_, fetcher_, page, &status_);
  }
  absl::Status status() const override { return status_; }
  int64_t wasted_calls() const override { return fetcher_.wasted(); }

 private:
  std::unique_ptr<Pager<T>> pager_;
  ListingFetcher fetcher_;
  absl::Status status_;
};

// The stream of a pager that may have failed to open.
template <typename T>
std::unique_ptr<PageIterator<T>> IteratePager(
    RequestPipeline* pipeline, const CallContext& ctx,
    const ReadAheadOptions& options,
    absl::StatusOr<std::unique_ptr<Pager<T>>> pager) {
  if (!pager.ok()) {
    return std::make_unique<FailedIterator<T>>(pager.status());
  }
  return std::make_unique<PagerIterator<T>>(pipeline, ctx, options,
                                            std::move(*pager));
}

// The List page of a pager that may have failed to open.
template <typename T>
absl::StatusOr<Page<T>> ListPager(
    RequestPipeline* pipeline, CallContext& ctx,
    absl::StatusOr<std::unique_ptr<Pager<T>>> pager) {
  if (!pager.ok()) return pager.status();
  return ListPage(pipeline, ctx, **pager);
}

}  // namespace unified

#endif  // CONNECTORS_COMMON_LISTING_DRIVER_H_
