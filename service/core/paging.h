// Paging of unified listings on top of connector pages: one page for the
// unary List RPCs, the slicing of connector pages into stream messages
// (service/api/listing_stream.h sends them), cursors sealed by CursorCodec.
#ifndef SERVICE_CORE_PAGING_H_
#define SERVICE_CORE_PAGING_H_

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "connectors/connector.h"
#include "service/core/cursor.h"

namespace unified {

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 500;
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

// Records of a listing and the cursor after them ("" at the end).
template <typename T>
struct ListResult {
  std::vector<T> items;
  std::string next_cursor;
  // The connector page's total_size (Page::total_size).
  std::optional<int64_t> total_size;
  // The connector page's unreadable records (Page::unreadable), on the
  // slice that starts the page only.
  int64_t unreadable = 0;
};

// Sets a response's total_size, for the responses that carry one.
template <typename Response, typename = void>
struct HasTotalSize : std::false_type {};
template <typename Response>
struct HasTotalSize<
    Response,
    std::void_t<decltype(std::declval<Response&>().set_total_size(0))>>
    : std::true_type {};
template <typename Response>
void SetTotalSize(const std::optional<int64_t>& total, Response* response) {
  if constexpr (HasTotalSize<Response>::value) {
    if (total) response->set_total_size(*total);
  }
}

// Sets a response's unreadable_records, for the responses that carry one.
template <typename Response, typename = void>
struct HasUnreadable : std::false_type {};
template <typename Response>
struct HasUnreadable<
    Response,
    std::void_t<decltype(std::declval<Response&>().set_unreadable_records(0))>>
    : std::true_type {};
template <typename Response>
void SetUnreadable(int64_t unreadable, Response* response) {
  if constexpr (HasUnreadable<Response>::value) {
    response->set_unreadable_records(unreadable);
  }
}

// Moves the records of `page` (fetched with `token`) from `begin` on, at
// most `limit` and, past the first, at most kMaxPageBytes, into a result
// with the cursor after them; `*end` is where the next slice starts.
template <typename T>
ListResult<T> TakeSlice(const CursorCodec& codec, const CursorBinding& binding,
                        const std::string& token, Page<T>& page, size_t begin,
                        int limit, size_t* end) {
  std::vector<T>& items = page.items;
  const size_t n = items.size();
  begin = std::min(begin, n);
  *end = SliceEnd(items, begin, limit);
  ListResult<T> result;
  result.total_size = page.total_size;
  result.unreadable = begin == 0 ? page.unreadable : 0;
  if (*end < n) {
    result.next_cursor =
        codec.Seal(binding, CursorState{token, static_cast<uint32_t>(*end)});
  } else if (!page.next_page_token.empty()) {
    result.next_cursor =
        codec.Seal(binding, CursorState{page.next_page_token, 0});
  }
  result.items.assign(std::make_move_iterator(items.begin() + begin),
                      std::make_move_iterator(items.begin() + *end));
  return result;
}

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
  size_t end = 0;
  return TakeSlice(codec, binding, state.page_token, page, state.skip, limit,
                   &end);
}

// Every slice of one connector page from record `skip` on (see
// TakeSlice): a stream's messages.
template <typename T>
std::vector<ListResult<T>> SlicePage(const CursorCodec& codec,
                                     const CursorBinding& binding,
                                     const std::string& token, Page<T> page,
                                     uint32_t skip, int limit) {
  std::vector<ListResult<T>> out;
  size_t pos = skip;
  while (pos < page.items.size()) {
    out.push_back(TakeSlice(codec, binding, token, page, pos, limit, &pos));
  }
  return out;
}

}  // namespace unified

#endif  // SERVICE_CORE_PAGING_H_
