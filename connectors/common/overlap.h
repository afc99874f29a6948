// Rows that move under an offset-paged listing (docs/streaming.md, "Rows
// that move"), for every connector whose provider pages by offset (Podio's
// member listings, SCIM's startIndex).
//
// Each page after a listing's first is asked from one row before where the
// previous answer ended, so it opens with a row read already. A member
// added before that position since pushes rows forward: the answer opens
// with rows read already, passed over. A member removed before it pulls
// rows back: the answer holds no row read before (or none at all), and the
// listing asks again from further back (a rewind) until an answer holds a
// row read already, then goes on after the last such row. Either way no
// row present throughout is skipped and none is returned twice, in any
// order the provider keeps stable.
#ifndef CONNECTORS_COMMON_OVERLAP_H_
#define CONNECTORS_COMMON_OVERLAP_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"

namespace unified {

// Rewinds one listing may make before it fails with ABORTED
// (UPSTREAM_LIST_MOVED): the rows keep moving faster than they are read.
inline constexpr int kMaxRewinds = 32;
// How far the first rewind of a run goes back: a few members removed is
// the common case, one call.
inline constexpr int kFirstRewind = 16;

struct Placement {
  // The answer's rows before this index were read already (or were added
  // before the listing's position since, which a listing may miss).
  size_t first_new = 0;
  // No row of the answer was read before: ask again from `rewind_to`.
  bool rewind = false;
  int64_t rewind_to = 0;
};

// Where `ids` (an answer's row ids in order, "" for an unreadable row),
// asked at offset `asked` (0-based) for `size` rows, continues a listing of
// which `seen` were read (empty: nothing to find, every row is new). A
// rewind goes back kFirstRewind rows first, then a page at a time;
// `rewinds` is how many came just before this answer.
Placement PlaceAnswer(const std::vector<std::string>& ids,
                      const absl::flat_hash_set<std::string>& seen,
                      int64_t asked, int size, int rewinds);

// The offset to ask at when `rows` were read: one row before, when there is
// a row read before to find there (`anchored`).
inline int64_t AskAt(int64_t rows, bool anchored) {
  return anchored && rows > 0 ? rows - 1 : rows;
}

// Where the page after an answer of `n` rows asked at `asked` is asked: at
// its last row when that row was read (`last_read`) and the answer held
// more than that row (else the listing would ask the same again), and
// pages hold more than one row; else just past it. Sets `*anchored` to say
// which.
inline int64_t NextAsk(int64_t asked, int64_t n, bool last_read, int size,
                       bool* anchored) {
  *anchored = n > 1 && last_read && size > 1;
  return asked + n - (*anchored ? 1 : 0);
}

// ABORTED (UPSTREAM_LIST_MOVED) naming the provider's list `what`.
absl::Status ListMoved(const std::string& what);

// The ids a listing read last, at most `capacity`: what PlaceAnswer finds.
class RecentIds {
 public:
  explicit RecentIds(size_t capacity = 1000) : capacity_(capacity) {}
  void Add(const std::string& id);
  const std::deque<std::string>& ids() const { return ids_; }
  bool empty() const { return ids_.empty(); }
  // The last `n` (a token's anchors).
  std::vector<std::string> Last(size_t n) const;
  absl::flat_hash_set<std::string> Set() const {
    return absl::flat_hash_set<std::string>(ids_.begin(), ids_.end());
  }

 private:
  size_t capacity_;
  std::deque<std::string> ids_;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_OVERLAP_H_
