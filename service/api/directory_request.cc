#include "service/api/directory_request.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "connectors/common/status_macros.h"

namespace unified::directory_request {

absl::Status InvalidArgument(const std::string& message,
                             absl::string_view reason) {
  return WithErrorInfo(absl::InvalidArgumentError(message), reason);
}

absl::Status CheckFilter(const std::string& value, absl::string_view name) {
  if (value.size() > kMaxFilterBytes) {
    return InvalidArgument(
        absl::StrCat(name, " is longer than ", kMaxFilterBytes, " bytes"),
        "INVALID_FILTER");
  }
  return absl::OkStatus();
}

absl::Status Required(const std::string& value, absl::string_view name) {
  if (value.empty()) {
    return InvalidArgument(absl::StrCat(name, " is required"),
                           "MISSING_ARGUMENT");
  }
  return CheckFilter(value, name);
}

// The listing's filter, and its read mask compiled into `mask`.
absl::StatusOr<UserFilter> UsersFilter(const v1::ListUsersRequest& request,
                                       ReadMask* mask) {
  UserFilter filter;
  RETURN_IF_ERROR(CheckFilter(request.organization_id(), "organization_id"));
  RETURN_IF_ERROR(CheckFilter(request.workspace_id(), "workspace_id"));
  RETURN_IF_ERROR(CheckFilter(request.email(), "email"));
  RETURN_IF_ERROR(CheckFilter(request.role(), "role"));
  RETURN_IF_ERROR(CheckFilter(request.query(), "query"));
  ASSIGN_OR_RETURN(*mask, MaskFor<v1::User>(request.read_mask()));
  if (!v1::UserStatus_IsValid(request.status())) {
    return InvalidArgument("unknown status", "INVALID_FILTER");
  }
  filter.organization_id = request.organization_id();
  filter.workspace_id = request.workspace_id();
  filter.email = absl::AsciiStrToLower(request.email());
  filter.status = request.status();
  filter.role_id = request.role();
  filter.query = absl::AsciiStrToLower(request.query());
  // AIP-132: "name", "last_active_at", each optionally followed by " desc".
  std::vector<absl::string_view> order =
      absl::StrSplit(request.order_by(), ' ', absl::SkipEmpty());
  if (order.size() > 2 || (order.size() == 2 && order[1] != "desc") ||
      (!order.empty() && order[0] != "name" && order[0] != "last_active_at")) {
    return InvalidArgument(
        "order_by must be name or last_active_at, optionally followed by "
        "desc",
        "INVALID_ORDER_BY");
  }
  filter.order_by_last_active = !order.empty() && order[0] == "last_active_at";
  filter.order_desc = order.size() == 2;
  return filter;
}

std::string FilterText(const UserFilter& f) {
  return absl::StrCat(
      "org=", f.organization_id.size(), ":", f.organization_id,
      ";ws=", f.workspace_id.size(), ":", f.workspace_id,
      ";email=", f.email.size(), ":", f.email,
      ";status=", static_cast<int>(f.status), ";role=", f.role_id.size(), ":",
      f.role_id, ";query=", f.query.size(), ":", f.query,
      ";order=", f.order_by_last_active ? "last_active" : "name",
      f.order_desc ? ",desc" : "");
}

// Cursors of ListWorkspaces and StreamWorkspaces must bind alike.
std::string WorkspacesFilterText(const std::string& organization_id) {
  return absl::StrCat("org=", organization_id.size(), ":", organization_id);
}

std::string FilterText(const RoleAssignmentFilter& f) {
  return absl::StrCat("user=", f.user_id.size(), ":", f.user_id,
                      ";org=", f.organization_id.size(), ":", f.organization_id,
                      ";ws=", f.workspace_id.size(), ":", f.workspace_id);
}

absl::StatusOr<RoleAssignmentFilter> AssignmentsFilter(
    const v1::ListRoleAssignmentsRequest& request) {
  RETURN_IF_ERROR(CheckFilter(request.user_id(), "user_id"));
  RETURN_IF_ERROR(CheckFilter(request.organization_id(), "organization_id"));
  RETURN_IF_ERROR(CheckFilter(request.workspace_id(), "workspace_id"));
  return RoleAssignmentFilter{request.user_id(), request.organization_id(),
                              request.workspace_id()};
}

// A batch get's ids, checked: 1 to 500, none empty or too long.
absl::StatusOr<std::vector<std::string>> BatchIds(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    absl::string_view name) {
  if (ids.empty()) {
    return InvalidArgument(absl::StrCat(name, " is required"),
                           "MISSING_ARGUMENT");
  }
  if (ids.size() > kMaxBatchIds) {
    return InvalidArgument(
        absl::StrCat(name, " has ", ids.size(), " ids; at most ", kMaxBatchIds,
                     " per call"),
        "TOO_MANY_IDS");
  }
  for (const std::string& id : ids) RETURN_IF_ERROR(Required(id, name));
  return std::vector<std::string>(ids.begin(), ids.end());
}

}  // namespace unified::directory_request
