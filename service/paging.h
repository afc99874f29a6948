// Paging of unified listings on top of connector pages: one page for the
// unary List RPCs, every page with read-ahead for the Stream RPCs, cursors
// sealed by CursorCodec.
#ifndef SERVICE_PAGING_H_
#define SERVICE_PAGING_H_

#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "connectors/connector.h"
#include "service/cursor.h"

namespace unified {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 500;
// Connector pages a stream fetches at once (in parallel where the next token
// is predictable), and pages fetched and waiting to be sent.
inline constexpr int kStreamParallelFetches = 3;
inline constexpr int kStreamQueuedPages = 1;
// A page (or stream message) stops early past this many serialized bytes, so
// that large records (remote_data) stay under gRPC's default 4 MiB message
// limit on every client. At least one record is always sent.
inline constexpr size_t kMaxPageBytes = 2 * 1024 * 1024;

// End of the slice of `items` starting at `begin`: at most `limit` records
// and, past the first, at most kMaxPageBytes.
template <typename T>
size_t SliceEnd(const std::vector<T>& items, size_t begin, int limit) {
  const size_t last = std::min(items.size(), begin + limit);
  size_t bytes = 0, end = begin;
  while (end < last) {
    bytes += items[end].ByteSizeLong() + 8;
    if (end > begin && bytes > kMaxPageBytes) break;
    ++end;
  }
  return end;
}

// 0 -> the default; 1..500 as is; anything else INVALID_ARGUMENT.
inline absl::StatusOr<int> ValidatePageSize(int32_t limit) {
  if (limit == 0) return kDefaultPageSize;
  if (limit < 0 || limit > kMaxPageSize) {
    return WithErrorInfo(absl::InvalidArgumentError(absl::StrCat(
                             "limit must be between 1 and ", kMaxPageSize,
                             " (0 means ", kDefaultPageSize, "), got ", limit)),
                         "INVALID_LIMIT");
  }
  return static_cast<int>(limit);
}

template <typename T>
using PageFetcher = std::function<absl::StatusOr<Page<T>>(const PageRequest&)>;

template <typename T>
struct ListResult {
  std::vector<T> items;
  std::string next_cursor;
};

// The page of `limit` records at `cursor`.
template <typename T>
absl::StatusOr<ListResult<T>> ListOnePage(const CursorCodec& codec,
                                          const CursorBinding& binding,
                                          const std::string& cursor, int limit,
                                          bool include_remote_data,
                                          const PageFetcher<T>& fetch) {
  ASSIGN_OR_RETURN(CursorState state, codec.Open(binding, cursor));
  PageRequest request;
  request.page_token = state.page_token;
  request.limit =
      std::min<int>(kMaxPageSize, static_cast<int>(state.skip) + limit);
  request.include_remote_data = include_remote_data;
  ASSIGN_OR_RETURN(Page<T> page, fetch(request));
  ListResult<T> result;
  const size_t n = page.items.size();
  const size_t begin = std::min<size_t>(state.skip, n);
  const size_t end = SliceEnd(page.items, begin, limit);
  for (size_t i = begin; i < end; ++i) {
    result.items.push_back(std::move(page.items[i]));
  }
  if (end < n) {
    result.next_cursor = codec.Seal(
        binding, CursorState{state.page_token, static_cast<uint32_t>(end)});
  } else if (!page.next_page_token.empty()) {
    result.next_cursor =
        codec.Seal(binding, CursorState{page.next_page_token, 0});
  }
  return result;
}

template <typename T>
using TokenPredictor =
    std::function<std::string(const std::string& token, int limit)>;
using PagePrefetcher = std::function<void(const PageRequest& page)>;

// Sends every page from `cursor` on, `limit` records per message, through
// `write` (false = the client went away). Connector pages of the largest size
// are fetched and decoded on a helper thread ahead of the one being sent;
// where `predict` names the next pages' tokens, `prefetch` downloads up to
// kStreamParallelFetches - 1 of them in parallel (raw answers only, so
// parallelism costs little memory). At most kStreamQueuedPages decoded pages
// wait, whatever the listing's size or the client's speed. A guess past the
// end of the listing costs at most kStreamParallelFetches - 1 speculative
// upstream calls.
template <typename T>
absl::Status StreamAllPages(
    const CursorCodec& codec, const CursorBinding& binding,
    const std::string& cursor, int limit, bool include_remote_data,
    const PageFetcher<T>& fetch, const TokenPredictor<T>& predict,
    const PagePrefetcher& prefetch,
    const std::function<bool(std::vector<T>, std::string)>& write,
    const std::function<bool()>& cancelled) {
  ASSIGN_OR_RETURN(CursorState start, codec.Open(binding, cursor));
  struct Entry {
    absl::Status status;
    Page<T> page;
    std::string token;  // The token the page was fetched with.
  };
  absl::Mutex mu;
  std::deque<Entry> queue;
  bool stop = false, producer_done = false;
  auto request_for = [&](const std::string& token) {
    PageRequest request;
    request.page_token = token;
    request.limit = kMaxPageSize;
    request.include_remote_data = include_remote_data;
    return request;
  };
  std::thread producer([&] {
    // Downloads in progress or done, by token, oldest first.
    std::deque<std::pair<std::string, std::thread>> downloads;
    auto reap = [&](size_t keep) {
      while (downloads.size() > keep) {
        downloads.front().second.join();
        downloads.pop_front();
      }
    };
    std::string token = start.page_token;
    while (true) {
      if (predict && prefetch) {
        std::string guess = token;
        for (int i = 1; i < kStreamParallelFetches; ++i) {
          guess = predict(guess, kMaxPageSize);
          if (guess.empty()) break;
          bool started = false;
          for (const auto& d : downloads) started |= d.first == guess;
          if (started) continue;
          downloads.emplace_back(
              guess, std::thread([&prefetch, request = request_for(guess)] {
                prefetch(request);
              }));
        }
      }
      absl::StatusOr<Page<T>> page = fetch(request_for(token));
      // Downloads older than the pages still ahead are finished or wasted.
      reap(kStreamParallelFetches - 1);
      Entry entry;
      entry.token = token;
      bool last = true;
      if (!page.ok()) {
        entry.status = page.status();
      } else {
        last = page->next_page_token.empty();
        token = page->next_page_token;
        entry.page = std::move(*page);
      }
      absl::MutexLock lock(&mu);
      auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return stop || static_cast<int>(queue.size()) < kStreamQueuedPages;
      };
      mu.Await(absl::Condition(&room));
      if (stop) break;
      queue.push_back(std::move(entry));
      if (last) break;
    }
    reap(0);
    absl::MutexLock lock(&mu);
    producer_done = true;
  });
  auto finish = [&](absl::Status status) {
    {
      absl::MutexLock lock(&mu);
      stop = true;
    }
    producer.join();
    return status;
  };

  uint32_t skip = start.skip;
  bool sent = false;
  while (true) {
    Entry entry;
    {
      absl::MutexLock lock(&mu);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
        return !queue.empty() || producer_done;
      };
      mu.Await(absl::Condition(&ready));
      if (queue.empty()) break;
      entry = std::move(queue.front());
      queue.pop_front();
    }
    if (!entry.status.ok()) return finish(entry.status);
    if (cancelled()) {
      return finish(absl::CancelledError("the client cancelled the stream"));
    }
    std::vector<T>& items = entry.page.items;
    const size_t n = items.size();
    size_t pos = std::min<size_t>(skip, n);
    skip = 0;
    while (pos < n) {
      const size_t end = SliceEnd(items, pos, limit);
      std::string next;
      if (end < n) {
        next = codec.Seal(binding,
                          CursorState{entry.token, static_cast<uint32_t>(end)});
      } else if (!entry.page.next_page_token.empty()) {
        next = codec.Seal(binding, CursorState{entry.page.next_page_token, 0});
      }
      std::vector<T> slice(std::make_move_iterator(items.begin() + pos),
                           std::make_move_iterator(items.begin() + end));
      if (!write(std::move(slice), std::move(next))) {
        return finish(absl::CancelledError("the client went away"));
      }
      sent = true;
      pos = end;
    }
    if (entry.page.next_page_token.empty()) break;
  }
  if (!sent && !write({}, "")) {
    return finish(absl::CancelledError("the client went away"));
  }
  return finish(absl::OkStatus());
}

}  // namespace unified

#endif  // SERVICE_PAGING_H_
