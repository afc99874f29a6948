#include "connectors/common/overlap.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"

namespace unified {

Placement PlaceAnswer(const std::vector<std::string>& ids,
                      const absl::flat_hash_set<std::string>& seen,
                      int64_t asked, int size, int rewinds) {
  Placement out;
  if (seen.empty()) return out;  // Nothing read before: nothing to find.
  for (size_t i = ids.size(); i > 0; --i) {
    if (!ids[i - 1].empty() && seen.count(ids[i - 1])) {
      out.first_new = i;
      return out;
    }
  }
  // Nothing read before: the rows moved back past `asked`. From the start,
  // there is nowhere further back: every row is new.
  if (asked == 0) return out;
  out.rewind = true;
  const int back =
      std::max(1, rewinds == 0 ? std::min(kFirstRewind, size - 1) : size - 1);
  out.rewind_to = std::max<int64_t>(0, asked - back);
  return out;
}

absl::Status ListMoved(const std::string& what) {
  return WithErrorInfo(
      absl::AbortedError(absl::StrCat(
          "the provider's list of ", what,
          " kept moving under the listing (rows removed before its "
          "position faster than they could be read again); retry the "
          "listing")),
      "UPSTREAM_LIST_MOVED");
}

void RecentIds::Add(const std::string& id) {
  ids_.push_back(id);
  if (ids_.size() > capacity_) ids_.pop_front();
}

std::vector<std::string> RecentIds::Last(size_t n) const {
  const size_t from = ids_.size() > n ? ids_.size() - n : 0;
  return std::vector<std::string>(ids_.begin() + static_cast<long>(from),
                                  ids_.end());
}

}  // namespace unified
