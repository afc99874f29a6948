// The SCIM connector's listings, each one pager (connectors/common/pager.h)
// that the shared driver runs for both the paged List calls and the
// streams (docs/scim.md). Pure: the pagers name the GETs they need and read
// the answers; they never call.
//
// A listing reads a collection with startIndex and count (RFC 7644
// §3.4.2.4), resuming after what each answer held (a provider may answer
// fewer than asked). Once an answer gave totalResults, the pages after it
// are guessed, one answer's size apart, up to the total: a stream reads them
// ahead with no call past the end.
#ifndef CONNECTORS_SCIM_SCIM_LISTINGS_H_
#define CONNECTORS_SCIM_SCIM_LISTINGS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/common/pager.h"
#include "proto/unified/v1/resources.pb.h"
#include "rapidjson/document.h"

namespace unified::scim {

// Where a listing resumes: the 1-based startIndex of the next request and
// how many records of it were already returned. Tokens read
// "<kind>1:<start>:<skip>"; the kind binds a token to its listing.
struct Position {
  int64_t start = 1;
  int64_t skip = 0;
};
std::string EncodePosition(char kind, const Position& p);
// INVALID_ARGUMENT (INVALID_CURSOR) for another listing's token.
absl::StatusOr<Position> DecodePosition(char kind, const std::string& token);

// One listing of a collection.
template <typename T>
struct ScimListing {
  char kind = 'u';
  // The collection's path, e.g. "/Users".
  std::string collection;
  // The request's query after startIndex and count (the filter, the
  // attributes), "" for none; URL-encoded.
  std::string query;
  // A GET whose 2xx must come first (e.g. that a group exists), "" for none.
  std::string precondition;
  // The records one resource makes (none, to drop it).
  std::function<absl::Status(const rapidjson::Value& resource,
                             std::vector<T>* out)>
      map;
  // Whether the provider's totalResults counts the listing's records.
  bool total_counts_records = true;
  // The page size asked, and the limit of records a page holds.
  int count = 100;
  // Whether a page may end inside one answer's records (a resource making
  // several records): the token then skips those already returned. When
  // false, a page is one answer's records.
  bool fill_pages = false;
};

template <typename T>
absl::StatusOr<std::unique_ptr<Pager<T>>> NewScimPager(
    ScimListing<T> listing, int limit, const std::string& token);

}  // namespace unified::scim

#endif  // CONNECTORS_SCIM_SCIM_LISTINGS_H_
