// The Podio connector's paging, apart from what it pages (docs/podio.md
// §3): the page token codec, the offset pager of one paged route (with
// the page size Podio takes), the merge of name-ordered listings across
// organizations, and the walk over several sources in turn.
#ifndef CONNECTORS_PODIO_PAGERS_H_
#define CONNECTORS_PODIO_PAGERS_H_

#include <atomic>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/common/json.h"
#include "connectors/common/read_ahead.h"
#include "connectors/podio/page_token.pb.h"
#include "connectors/podio/podio_client.h"
#include "proto/unified/v1/resources.pb.h"

namespace unified::podio {

// Podio's paged listings, each with a page size of its own.
enum class PagedRoute {
  kOrgMembers = 0,    // GET /org/{id}/member/
  kOrgContacts = 1,   // GET /contact/org/{id}
  kSpaceMembers = 2,  // GET /space/{id}/member/v2/
};
inline constexpr int kPagedRoutes = 3;

struct PodioConnectorOptions {
  // The `limit` asked of each paged route (docs/podio.md §3, "Page size"):
  // Podio's maximum is unconfirmed (some sources say 100), so a route that
  // answers 400 to a limit is asked again with a smaller one, which is then
  // kept for every later call of this connector: 100 first, then halves,
  // never below `min_page_size`.
  int page_size[kPagedRoutes] = {500, 500, 500};
  int min_page_size = 10;
  // How streams read pages ahead (docs/streaming.md).
  ReadAheadOptions read_ahead;
};

// Parses "org_members=500,org_contacts=100,space_members=100" (any subset)
// over `options`. INVALID_ARGUMENT names a bad entry.
absl::Status ParsePageSizes(absl::string_view text,
                            PodioConnectorOptions* options);

// Page tokens: a versioned PodioPageToken bound to its listing `kind`.
// INVALID_ARGUMENT (INVALID_CURSOR) for another version or listing.
absl::StatusOr<PodioPageToken> DecodeToken(const std::string& bytes,
                                           absl::string_view kind);
std::string EncodeToken(PodioPageToken token, absl::string_view kind);

// Reads pages of Podio's offset-paged routes. Thread-safe; one per
// connector, so what a route taught about its page size is kept.
class OffsetPager {
 public:
  OffsetPager(PodioClient* client, const PodioConnectorOptions& options);

  // The limit to ask of `route` for `want` rows.
  int PageSize(PagedRoute route, int want) const;

  struct Fetched {
    json::Body doc;
    int asked = 0;  // The limit asked: a shorter answer is the last page.
  };
  // GETs the page at `url(limit)`. A 400 to a limit above the floor is read
  // as "too large" (Podio's maximum is unconfirmed): the route's size
  // shrinks, is kept, and the page is asked again.
  absl::StatusOr<Fetched> Fetch(
      CallContext& ctx, PagedRoute route, int want,
      const std::function<std::string(int limit)>& url);

 private:
  PodioClient* const client_;
  const int min_page_size_;
  std::atomic<int> page_size_[kPagedRoutes];
};

// One source's users read from upstream and not yet merged.
struct SourceBuffer {
  std::deque<v1::User> users;
  bool more = false;     // Upstream has rows beyond this buffer.
  bool fetched = false;  // A page was read into it.
  int64_t read = 0;      // The upstream offset of the next page to read.
};

// A buffer per source of `token`, each to be read from the source's offset.
std::vector<SourceBuffer> BuffersAt(const PodioPageToken& token);

// Whether the merge needs `source`'s next upstream page to go on.
inline bool NeedsPage(const PageSource& source, const SourceBuffer& buffer) {
  return !source.done() && buffer.users.empty() &&
         (buffer.more || !buffer.fetched);
}

// Merges name-ordered listings, one buffer per source of `token`, into at
// most `limit` users in (name, id) order: a user in several sources comes
// out once, merged (MergeUser). Each source's offset advances by what was
// taken, and a source whose buffer is empty with nothing more is done. The
// merge stops where a live source's buffer ran dry (its next row is
// unknown), so the caller refills it on the next page. Users for which
// `keep` is false are consumed but not returned.
std::vector<v1::User> MergeByName(
    PodioPageToken* token, std::vector<SourceBuffer>* buffers, int limit,
    const std::function<bool(const v1::User&)>& keep);

// Walks `token`'s sources from its position: `read(source, room)` takes up
// to `room` items from one source and says whether the source is
// exhausted; the walk moves to the next source then, and stops once `held`
// reaches `limit` or the sources end. The position is kept in the token.
absl::Status ReadSources(
    PodioPageToken* token, int limit, const std::function<int()>& held,
    const std::function<absl::StatusOr<bool>(PageSource& source, int room)>&
        read);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PAGERS_H_
