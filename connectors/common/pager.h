// A listing as a pure state machine (docs/architecture.md, "Listings"): a
// pager knows, from its resume token and the answers it was given, which
// GETs it needs next and which records they make, and nothing else. It has
// no sockets, no clock, no budget and no credentials, so it is tested on
// recorded answer bodies alone. connectors/common/listing_driver.h runs any
// pager: it fetches what the pager wants through the request pipeline
// (budget, credentials, retries), reads ahead what it will want, and makes
// both the paged List answers and the streams from the same pager.
//
// The conversation, repeated until a page is ready:
//
//   while (!pager.TakePage(&page)) {
//     wants = pager.Wants(ahead);       // wants[0] is needed now
//     answer = GET wants[0];            // the driver's part
//     RETURN_IF_ERROR(pager.Feed(wants[0], answer));
//   }
//
// A pager may yield several pages from one answer, and need several answers
// for one page (a merge across sources, a listing that opens with a lookup).
#ifndef CONNECTORS_COMMON_PAGER_H_
#define CONNECTORS_COMMON_PAGER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "connectors/common/http_client.h"
#include "connectors/common/paging.h"

namespace unified {

// The most GETs a pager names at once: enough for the widest read-ahead
// window (ReadAheadOptions::max_window).
inline constexpr size_t kMaxGuesses = 16;

template <typename T>
class Pager {
 public:
  virtual ~Pager() = default;

  // The GETs (path and query, relative to the provider's API base) the pager
  // needs before its next page, nearest first. The first is needed now;
  // the others, at most `ahead` of them, are what it expects to need after
  // it, as far as it can tell without their answers (the driver may fetch
  // them ahead; a wrong guess costs only its call). Empty when a page is
  // ready (TakePage) or the listing ended.
  virtual std::vector<std::string> Wants(int ahead) const = 0;

  // The provider's answer to `path`, which was Wants()[0], whatever its HTTP
  // status: the pager reads the provider's errors (its connector's table),
  // and may change what it wants instead of failing (a smaller page size,
  // another route). An error ends the listing; the token of the last page
  // taken resumes it.
  virtual absl::Status Feed(const std::string& path, HttpResponse answer) = 0;

  // The next page into `*page` when the answers fed so far make one: its
  // records and the token that resumes after them ("" on the last page).
  // False while the pager wants more answers, and after the last page.
  virtual bool TakePage(Page<T>* page) = 0;

  // Whether the last page was taken.
  virtual bool done() const = 0;
};

// A listing the connector answers without the provider: one page, given.
template <typename T>
class OnePagePager final : public Pager<T> {
 public:
  explicit OnePagePager(Page<T> page) : page_(std::move(page)) {}
  std::vector<std::string> Wants(int) const override { return {}; }
  absl::Status Feed(const std::string& path, HttpResponse) override {
    return absl::InternalError("a listing without requests was fed " + path);
  }
  bool TakePage(Page<T>* page) override {
    if (done_) return false;
    *page = std::move(page_);
    page->next_page_token.clear();
    done_ = true;
    return true;
  }
  bool done() const override { return done_; }

 private:
  Page<T> page_;
  bool done_ = false;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_PAGER_H_
