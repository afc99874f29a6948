// The shapes every listing shares, whatever the provider: a page request, a
// page, and a reader of pages one after another (streams). Vendor neutral;
// connectors/connector.h builds on them and connectors/common/pager.h
// produces them.
#ifndef CONNECTORS_COMMON_PAGING_H_
#define CONNECTORS_COMMON_PAGING_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace unified {

// Paging of a listing. `page_token` is the connector's own resume state
// (versioned, opaque to the service, which seals it into a signed cursor);
// empty for the first page.
struct PageRequest {
  int limit = 100;
  std::string page_token;
  bool include_remote_data = false;
};

template <typename T>
struct Page {
  std::vector<T> items;
  // Empty when this is the last page.
  std::string next_page_token;
  // The number of records in the whole listing (with its filter), set only
  // when the provider reported it with this page or the connector holds the
  // whole set; never found by reading further (docs/queries.md).
  std::optional<int64_t> total_size;
  // Records the provider returned for this page that could not be read
  // (e.g. without an id): left out and counted here, never dropped
  // silently, never failing the listing.
  int64_t unreadable = 0;
};

// A listing read page after page from a start token, the way streams read
// (docs/streaming.md). A connector may read ahead of the pages asked for
// (parallel requests); the pages, and their tokens, are the same as those
// of the paged List calls. Not thread-safe: one reader.
template <typename T>
class PageIterator {
 public:
  virtual ~PageIterator() = default;
  // The next page into `*page`; its next_page_token resumes after it, and is
  // empty on the last page. False once the listing ended, or failed:
  // status() tells which, and a failed iterator stays failed.
  virtual bool Next(Page<T>* page) = 0;
  virtual absl::Status status() const = 0;
  // Provider calls made ahead of need whose answers were not used (reads
  // past the end, mispredicted, failed or given up).
  virtual int64_t wasted_calls() const { return 0; }
};

// A PageIterator over a paged List call: one `fetch` per page.
template <typename T>
class PagedIterator : public PageIterator<T> {
 public:
  using Fetch = std::function<absl::StatusOr<Page<T>>(const PageRequest&)>;
  PagedIterator(Fetch fetch, PageRequest start)
      : fetch_(std::move(fetch)), request_(std::move(start)) {}

  bool Next(Page<T>* page) override {
    if (done_) return false;
    absl::StatusOr<Page<T>> fetched = fetch_(request_);
    if (!fetched.ok()) {
      status_ = fetched.status();
      done_ = true;
      return false;
    }
    *page = std::move(*fetched);
    done_ = page->next_page_token.empty();
    request_.page_token = page->next_page_token;
    return true;
  }
  absl::Status status() const override { return status_; }

 private:
  const Fetch fetch_;
  PageRequest request_;
  bool done_ = false;
  absl::Status status_;
};

// An iterator that failed before its first page (a bad token or filter).
template <typename T>
class FailedIterator final : public PageIterator<T> {
 public:
  explicit FailedIterator(absl::Status status) : status_(std::move(status)) {}
  bool Next(Page<T>*) override { return false; }
  absl::Status status() const override { return status_; }

 private:
  const absl::Status status_;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_PAGING_H_
