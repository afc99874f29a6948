// What the UserDirectory handlers share (user_directory_service.cc,
// user_directory_watch.cc): a call's resolved account and context, and the
// checks and shapes of requests and answers. Internal to service/api.
#ifndef SERVICE_API_DIRECTORY_REQUEST_H_
#define SERVICE_API_DIRECTORY_REQUEST_H_

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "connectors/common/error_details.h"
#include "service/api/serving.h"
#include "service/api/user_directory_service.h"
#include "service/core/budget_report.h"
#include "service/core/paging.h"
#include "service/core/read_mask.h"

namespace unified {

struct UserDirectoryService::Call {
  std::string tenant;
  // Reports the budget in the trailing metadata.
  std::optional<BudgetReporter> budget_report;
  ResolvedAccount account;
  DirectoryConnector* connector = nullptr;
  CallContext ctx;

  CursorBinding Binding(const std::string& resource,
                        const std::string& filters) const {
    return CursorBinding{tenant, account.id, resource, filters};
  }
};

namespace directory_request {

// Filter values (ids, e-mail addresses) are short too.
inline constexpr size_t kMaxFilterBytes = 320;
inline constexpr int kMaxBatchIds = 500;

absl::Status InvalidArgument(const std::string& message,
                             absl::string_view reason);
// INVALID_ARGUMENT (INVALID_FILTER) for a value longer than
// kMaxFilterBytes.
absl::Status CheckFilter(const std::string& value, absl::string_view name);
// The same, and MISSING_ARGUMENT for an empty value.
absl::Status Required(const std::string& value, absl::string_view name);

// The listing's filter, and its read mask compiled into `mask`.
absl::StatusOr<UserFilter> UsersFilter(const v1::ListUsersRequest& request,
                                       ReadMask* mask);
absl::StatusOr<RoleAssignmentFilter> AssignmentsFilter(
    const v1::ListRoleAssignmentsRequest& request);
// What a cursor is bound to, besides the tenant, account and resource.
std::string FilterText(const UserFilter& f);
std::string FilterText(const RoleAssignmentFilter& f);
// Cursors of ListWorkspaces and StreamWorkspaces must bind alike.
std::string WorkspacesFilterText(const std::string& organization_id);

// A batch get's ids, checked: 1 to 500, none empty or too long.
absl::StatusOr<std::vector<std::string>> BatchIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    absl::string_view name);

// `mask` compiled for T (INVALID_ARGUMENT, reason INVALID_FIELD_MASK, when
// a path names no field of T).
template <typename T>
absl::StatusOr<ReadMask> MaskFor(const google::protobuf::FieldMask& mask) {
  return ReadMask::Compile(mask, T::descriptor());
}

template <typename T>
void TrimAll(const ReadMask& mask,
             google::protobuf::RepeatedPtrField<T>* messages) {
  if (mask.empty()) return;
  for (T& m : *messages) mask.Trim(&m);
}

// Whether `request`'s read mask keeps `field` of the response (or a part
// of it); an empty mask keeps every field.
template <typename Request>
bool Keeps(const Request& request, absl::string_view field) {
  if (request.read_mask().paths_size() == 0) return true;
  for (const std::string& path : request.read_mask().paths()) {
    if (path == field ||
        (absl::StartsWith(path, field) && path.size() > field.size() &&
         path[field.size()] == '.')) {
      return true;
    }
  }
  return false;
}

// Whether the connector should map remote_data for `request`: asked for,
// and kept by the read mask. The raw records are the costly part of
// mapping (docs/queries.md); other fields feed the connector's own filters
// and merges, so they are mapped and then trimmed.
template <typename Request>
bool RemoteData(const Request& request) {
  return request.include_remote_data() && Keeps(request, "remote_data");
}

// A listing stream's shape for `mask` (unset for an empty mask).
template <typename T>
std::function<void(T&)> Shaper(ReadMask mask) {
  if (mask.empty()) return nullptr;
  return [mask = std::move(mask)](T& item) { mask.Trim(&item); };
}

template <typename T, typename Response>
void Fill(ListResult<T> result, Response* response, const Serving& serving) {
  serving.OnUnreadableRecords(result.unreadable);
  for (T& item : result.items) *response->add_result() = std::move(item);
  response->set_next_cursor(std::move(result.next_cursor));
  SetTotalSize(result.total_size, response);
  SetUnreadable(result.unreadable, response);
}

// Fills a batch get's answer from `found` (in the order of `ids`): the
// messages through `add` (shaped by `mask`), the missing ids through
// `add_missing`; or NOT_FOUND with `reason` naming them when
// `fail_on_missing`.
template <typename T>
absl::Status BatchAnswer(const std::vector<std::string>& ids,
                         std::vector<std::optional<T>> found,
                         const ReadMask& mask, bool fail_on_missing,
                         absl::string_view what, absl::string_view reason,
                         const std::function<T*()>& add,
                         const std::function<void(std::string)>& add_missing) {
  std::vector<std::string> missing;
  std::vector<T*> added;
  for (size_t i = 0; i < ids.size() && i < found.size(); ++i) {
    if (!found[i]) {
      missing.push_back(ids[i]);
      continue;
    }
    T* item = add();
    *item = std::move(*found[i]);
    mask.Trim(item);
  }
  if (!missing.empty() && fail_on_missing) {
    const size_t shown = std::min<size_t>(missing.size(), 20);
    return WithErrorInfo(
        absl::NotFoundError(absl::StrCat(
            missing.size(), " ", what, "(s) not found: ",
            absl::StrJoin(missing.begin(), missing.begin() + shown, ", "),
            missing.size() > shown ? ", ..." : "")),
        std::string(reason));
  }
  for (std::string& id : missing) add_missing(std::move(id));
  return absl::OkStatus();
}

}  // namespace directory_request
}  // namespace unified

#endif  // SERVICE_API_DIRECTORY_REQUEST_H_
