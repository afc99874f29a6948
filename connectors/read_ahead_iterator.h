// A PageIterator that reads ahead (connectors/common/read_ahead.h): before
// each page, the connector names the GETs the next pages will make, and
// they start at once on the async client; the page itself is then read by
// the connector's ordinary List code, whose GETs find those answers.
#ifndef CONNECTORS_READ_AHEAD_ITERATOR_H_
#define CONNECTORS_READ_AHEAD_ITERATOR_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/common/call_context.h"
#include "connectors/common/read_ahead.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/connector.h"

namespace unified {

template <typename T>
class ReadAheadIterator final : public PageIterator<T> {
 public:
  // One page read with `ctx` (the iterator's own, reading ahead).
  using Fetch = std::function<absl::StatusOr<Page<T>>(CallContext& ctx,
                                                      const PageRequest& page)>;
  // The GETs reading `page` and the pages after it will make, nearest
  // first, as far as the connector can tell without reading; a wrong guess
  // costs only its call.
  using Planner =
      std::function<std::vector<std::string>(const PageRequest& page)>;

  ReadAheadIterator(RequestPipeline* pipeline, const CallContext& ctx,
                    ReadAheadOptions options, Fetch fetch, Planner plan,
                    PageRequest start)
      : ctx_(ctx),
        ahead_(pipeline, ctx, options),
        pages_(
            [this, fetch = std::move(fetch),
             plan = std::move(plan)](const PageRequest& page) {
              ahead_.Plan(plan(page));
              return fetch(ctx_, page);
            },
            std::move(start)) {
    ctx_.read_ahead = &ahead_;
  }

  bool Next(Page<T>* page) override { return pages_.Next(page); }
  absl::Status status() const override { return pages_.status(); }
  int64_t wasted_calls() const override { return ahead_.wasted(); }

 private:
  CallContext ctx_;
  ReadAhead ahead_;
  PagedIterator<T> pages_;
};

}  // namespace unified

#endif  // CONNECTORS_READ_AHEAD_ITERATOR_H_
