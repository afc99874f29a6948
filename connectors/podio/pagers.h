// The Podio connector's paging parts, apart from any one listing
// (docs/podio.md §3): the page token codec, the page size each paged route
// takes, the merge of name-ordered listings across organizations, how a
// listing opens (its organizations or its workspace), and how far a
// source's pages are guessed ahead. Pure: no calls. The listings built
// from them are in listings.h.
#ifndef CONNECTORS_PODIO_PAGERS_H_
#define CONNECTORS_PODIO_PAGERS_H_

#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/common/listing_driver.h"
#include "connectors/common/overlap.h"
#include "connectors/common/pager.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/page_token.pb.h"
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
  // How many pages past the next a stream guesses for a source without a
  // member count (recorded real answers carry none, docs/podio.md): one
  // fewer than the source has answered in this stream, up to this many.
  // Reads past the end stay within it (docs/streaming.md).
  int blind_pages = 4;
  // A short answer of fewer rows than this ends its source at once: no
  // source puts Podio's largest `limit` below 100 (docs/podio.md, "The end
  // of a listing"), so such an answer cannot be a silent cap.
  int trusted_rows = 100;
  // How streams read pages ahead (docs/streaming.md).
  ReadAheadOptions ahead;
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

// The page size of each paged route, as learned, and how far to guess
// without a count. Thread-safe; one per connector, so what a route taught
// is kept for its later listings.
class PageSizes {
 public:
  explicit PageSizes(const PodioConnectorOptions& options);

  // The pages past the next to guess for a source without a count that
  // answered `answered` pages in this listing: answered - 1, at most
  // options.blind_pages.
  int BlindPages(int64_t answered) const;

  // The limit to ask of `route` for `want` rows.
  int Size(PagedRoute route, int want) const;

  // Podio answered 400 to `limit` on `route`. Read as "too large" while the
  // limit is above the floor (Podio's maximum is unconfirmed): the route's
  // size shrinks (100 first, then halves), is kept, and true says to ask
  // again; false at the floor, where the 400 is the answer.
  bool ShrinkAfter400(PagedRoute route, int limit);

  // Whether an answer of `rows` rows (more than none) to a request of
  // `asked` establishes the end of its source (docs/podio.md, "The end of a
  // listing"). A short answer is the end when it holds fewer rows than any
  // cap could (options.trusted_rows), when a count agrees (`count`, 0 for
  // none, against `read`, the source's rows read with this answer), or when
  // the route has answered `asked` rows at once before; otherwise it may be
  // a silent cap, and the next page confirms. Records a full answer as
  // proof of the route's size.
  bool Ends(PagedRoute route, int64_t rows, int asked, int64_t read,
            int64_t count);

  // A short answer of `rows` was followed by more rows: the route caps its
  // pages at `rows` without saying so. It is asked at most that from now
  // on.
  void LearnCap(PagedRoute route, int64_t rows);

 private:
  const int min_page_size_;
  const int blind_pages_;
  const int trusted_rows_;
  std::atomic<int> size_[kPagedRoutes];
  // The most rows each route has answered at once.
  std::atomic<int64_t> proven_[kPagedRoutes];
};

// The token of a listing of `kind` from a page token; nullopt for the
// first page ("").
absl::StatusOr<std::optional<PodioPageToken>> TokenOf(
    const std::string& page_token, absl::string_view kind);

// A reference to an organization in records.
v1::OrganizationRef OrgRef(int64_t id, const std::string& name);

// INTERNAL: a pager was fed an answer to another GET than it wanted.
absl::Status UnexpectedAnswer(const std::string& path);

// How a listing over organizations opens: GET /org/{id} for one
// (`only` != 0), GET /org/ for all the account's.
std::string OrgsPath(int64_t only);
// That answer's organizations: id, name and member count (0: not given).
absl::StatusOr<std::vector<SourceInfo>> ReadOrgs(int64_t only,
                                                 const rapidjson::Value& doc);
// ...added to `token` as its sources.
absl::Status AddOrgSources(int64_t only, HttpResponse answer,
                           PodioPageToken* token);

// A listing of one workspace opens with GET /space/{id}: its source, with
// its organization as the parent. INVALID_ARGUMENT
// (WORKSPACE_NOT_IN_ORGANIZATION) when `organization_id` is set and is not
// the space's.
absl::StatusOr<PageSource> ReadWorkspaceSource(
    HttpResponse answer, const std::string& organization_id);

// `url(offset)` of `source`'s next page (at `start`) and the pages after
// it, `size` rows each overlapping the one before by `overlap` rows
// (PlaceAnswer), (docs/streaming.md, "What is read ahead"): while its
// expected count says they hold rows not read (when `counted` and the
// count is known), or else at most `blind` more.
void GuessPages(const PageSource& source, int64_t start, int size, int overlap,
                bool counted, int blind,
                const std::function<std::string(int64_t)>& url,
                std::vector<std::string>* out);

// Pages overlap by a row, anchored by rows read (connectors/common/
// overlap.h); a token keeps the last kAnchors ids taken of each source.
inline constexpr int kAnchors = 8;

// A user read from upstream, and its place in the upstream list when it
// was read: taking it moves the source's offset just past it, whatever
// moved before it (rows that could not be read or were passed over
// included).
struct Buffered {
  v1::User user;
  int64_t at = 0;
};

// One source's users read from upstream and not yet merged.
struct SourceBuffer {
  std::deque<Buffered> users;
  // Rows read after the last buffered user (unreadable, or read already).
  int64_t skipped = 0;
  bool more = false;     // Upstream has rows beyond this buffer.
  bool fetched = false;  // A page was read into it.
  int64_t read = 0;      // Upstream rows read through (the count's check).
  int64_t ask = 0;       // The upstream offset of the next page to ask.
  // That page opens where a row read before should be (PlaceAnswer).
  bool anchored = false;
  int rewinds = 0;    // Placement::rewind taken in this listing...
  int rewinding = 0;  // ... and since an answer was placed.
  int extra = 0;      // Rows those went back: asked on top of a page.
  // The rows of the last answer when it was shorter than asked and did not
  // establish the end (the next page confirms); 0 otherwise.
  int64_t short_rows = 0;
  // The ids last taken from this source: a member added before the offset
  // since moves one of them into the next page, where it is passed over
  // rather than returned twice.
  RecentIds recent;
};

// A buffer per source of `token`, each to be read from the source's offset
// (AskAt, anchored by the source's anchors).
std::vector<SourceBuffer> BuffersAt(const PodioPageToken& token);

// Records the last kAnchors of `recent` as `source`'s anchors.
void WriteAnchors(const RecentIds& recent, PageSource* source);

// Records each buffer's last taken ids as its source's anchors.
void SetAnchors(const std::vector<SourceBuffer>& buffers,
                PodioPageToken* token);

// Whether the merge needs `source`'s next upstream page to go on.
inline bool NeedsPage(const PageSource& source, const SourceBuffer& buffer) {
  return !source.done() && buffer.users.empty() &&
         (buffer.more || !buffer.fetched);
}

// Whether every source of `token` is done.
bool AllDone(const PodioPageToken& token);

// Merges name-ordered listings, one buffer per source of `token`, into at
// most `limit` users in (name, id) order: a user in several sources comes
// out once, merged (MergeUser). Each source's offset advances by what was
// taken, and a source whose buffer is empty with nothing more is done. The
// merge stops where a live source's buffer ran dry (its next row is
// unknown), so the caller refills it first. Users for which `keep` is
// false are consumed but not returned.
std::vector<v1::User> MergeByName(
    PodioPageToken* token, std::vector<SourceBuffer>* buffers, int limit,
    const std::function<bool(const v1::User&)>& keep);

}  // namespace unified::podio

#endif  // CONNECTORS_PODIO_PAGERS_H_
