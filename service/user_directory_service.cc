#include "service/user_directory_service.h"

#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/budget_report.h"
#include "service/cancellation.h"
#include "service/grpc_status.h"
#include "service/paging.h"
#include "service/watch/watch_stream.h"

namespace unified {
namespace {

// Filter values (ids, e-mail addresses) are short too.
constexpr size_t kMaxFilterBytes = 320;

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

}  // namespace

struct UserDirectoryService::Call {
  std::string tenant;
  // Reports the budget in the trailing metadata when the call ends.
  std::optional<BudgetReporter> budget_report;
  ResolvedAccount account;
  DirectoryConnector* connector = nullptr;
  CallContext ctx;

  CursorBinding Binding(const std::string& resource,
                        const std::string& filters) const {
    return CursorBinding{tenant, account.id, resource, filters};
  }
};

absl::StatusOr<UserDirectoryService::Call> UserDirectoryService::Begin(
    grpc::ServerContext* context, const std::string& account_id,
    Priority priority) {
  // Who is calling comes first: an unauthenticated caller learns nothing
  // about its request.
  Call call;
  ASSIGN_OR_RETURN(call.tenant, tenants_->Authenticate(*context));
  RETURN_IF_ERROR(CheckAccountId(account_id));
  ASSIGN_OR_RETURN(call.account, accounts_->Resolve(call.tenant, account_id));
  call.connector = connectors_->Find(call.account.provider);
  if (call.connector == nullptr) {
    return WithErrorInfo(
        absl::FailedPreconditionError(absl::StrCat(
            "no connector for provider '", call.account.provider, "'")),
        "UNKNOWN_PROVIDER");
  }
  call.ctx.deadline = absl::FromChrono(context->deadline());
  call.ctx.cancelled = CancelCheck(context);
  call.ctx.tokens = call.account.tokens.get();
  call.ctx.budget = budget_;
  call.ctx.budget_key = call.account.budget_key;
  call.ctx.priority = priority;
  call.budget_report.emplace(context, budget_, call.account.budget_key);
  return call;
}

grpc::Status UserDirectoryService::GetMe(grpc::ServerContext* context,
                                         const v1::GetMeRequest* request,
                                         v1::User* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    ASSIGN_OR_RETURN(*response, call.connector->GetMe(
                                    call.ctx, request->include_remote_data()));
    return absl::OkStatus();
  }());
}

namespace {

absl::StatusOr<UserFilter> UsersFilter(const v1::ListUsersRequest& request) {
  UserFilter filter;
  RETURN_IF_ERROR(CheckFilter(request.organization_id(), "organization_id"));
  RETURN_IF_ERROR(CheckFilter(request.workspace_id(), "workspace_id"));
  RETURN_IF_ERROR(CheckFilter(request.email(), "email"));
  RETURN_IF_ERROR(CheckFilter(request.role(), "role"));
  if (!v1::UserStatus_IsValid(request.status())) {
    return InvalidArgument("unknown status", "INVALID_FILTER");
  }
  filter.organization_id = request.organization_id();
  filter.workspace_id = request.workspace_id();
  filter.email = absl::AsciiStrToLower(request.email());
  filter.status = request.status();
  filter.role_id = request.role();
  return filter;
}

std::string FilterText(const UserFilter& f) {
  return absl::StrCat("org=", f.organization_id.size(), ":", f.organization_id,
                      ";ws=", f.workspace_id.size(), ":", f.workspace_id,
                      ";email=", f.email.size(), ":", f.email,
                      ";status=", static_cast<int>(f.status),
                      ";role=", f.role_id.size(), ":", f.role_id);
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

// Runs a Stream RPC over StreamAllPages with `Response` messages.
template <typename T, typename Response>
absl::Status Stream(const CursorCodec& codec, const CursorBinding& binding,
                    const std::string& cursor, int limit, bool remote,
                    const PageFetcher<T>& fetch, grpc::ServerContext* context,
                    grpc::ServerWriter<Response>* writer,
                    const TokenPredictor<T>& predict = nullptr,
                    const PagePrefetcher& prefetch = nullptr) {
  return StreamAllPages<T>(
      codec, binding, cursor, limit, remote, fetch, predict, prefetch,
      [writer](std::vector<T> items, std::string next) {
        Response message;
        for (T& item : items) *message.add_result() = std::move(item);
        message.set_next_cursor(std::move(next));
        return writer->Write(message);
      },
      CancelCheck(context));
}

template <typename T, typename Response>
void Fill(ListResult<T> result, Response* response) {
  for (T& item : result.items) *response->add_result() = std::move(item);
  response->set_next_cursor(std::move(result.next_cursor));
}

}  // namespace

grpc::Status UserDirectoryService::ListUsers(
    grpc::ServerContext* context, const v1::ListUsersRequest* request,
    v1::ListUsersResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    ASSIGN_OR_RETURN(UserFilter filter, UsersFilter(*request));
    ASSIGN_OR_RETURN(
        ListResult<v1::User> result,
        ListOnePage<v1::User>(
            *cursors_, call.Binding("users", FilterText(filter)),
            request->cursor(), limit, request->include_remote_data(),
            [&](const PageRequest& page) {
              return call.connector->ListUsers(call.ctx, filter, page);
            }));
    Fill(std::move(result), response);
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::StreamUsers(
    grpc::ServerContext* context, const v1::ListUsersRequest* request,
    grpc::ServerWriter<v1::ListUsersResponse>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call, Begin(context, request->integrated_account_id(),
                                      Priority::kBulk));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    ASSIGN_OR_RETURN(UserFilter filter, UsersFilter(*request));
    PrefetchCache downloads;
    call.ctx.prefetch = &downloads;
    return Stream<v1::User>(
        *cursors_, call.Binding("users", FilterText(filter)), request->cursor(),
        limit, request->include_remote_data(),
        [&](const PageRequest& page) {
          return call.connector->ListUsers(call.ctx, filter, page);
        },
        context, writer,
        [&](const std::string& token, int page_limit) {
          PageRequest page;
          page.page_token = token;
          page.limit = page_limit;
          return call.connector->PredictNextUsersPageToken(filter, page);
        },
        [&](const PageRequest& page) {
          call.connector->PrefetchUsersPage(call.ctx, filter, page);
        });
  }());
}

grpc::Status UserDirectoryService::GetUser(grpc::ServerContext* context,
                                           const v1::GetUserRequest* request,
                                           v1::User* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    RETURN_IF_ERROR(Required(request->user_id(), "user_id"));
    ASSIGN_OR_RETURN(*response,
                     call.connector->GetUser(call.ctx, request->user_id(),
                                             request->include_remote_data()));
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::ListOrganizations(
    grpc::ServerContext* context, const v1::ListOrganizationsRequest* request,
    v1::ListOrganizationsResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    ASSIGN_OR_RETURN(
        ListResult<v1::Organization> result,
        ListOnePage<v1::Organization>(
            *cursors_, call.Binding("organizations", ""), request->cursor(),
            limit, request->include_remote_data(),
            [&](const PageRequest& page) {
              return call.connector->ListOrganizations(call.ctx, page);
            }));
    Fill(std::move(result), response);
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::StreamOrganizations(
    grpc::ServerContext* context, const v1::ListOrganizationsRequest* request,
    grpc::ServerWriter<v1::ListOrganizationsResponse>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call, Begin(context, request->integrated_account_id(),
                                      Priority::kBulk));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    return Stream<v1::Organization>(
        *cursors_, call.Binding("organizations", ""), request->cursor(), limit,
        request->include_remote_data(),
        [&](const PageRequest& page) {
          return call.connector->ListOrganizations(call.ctx, page);
        },
        context, writer);
  }());
}

grpc::Status UserDirectoryService::GetOrganization(
    grpc::ServerContext* context, const v1::GetOrganizationRequest* request,
    v1::Organization* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    RETURN_IF_ERROR(Required(request->organization_id(), "organization_id"));
    ASSIGN_OR_RETURN(*response, call.connector->GetOrganization(
                                    call.ctx, request->organization_id(),
                                    request->include_remote_data()));
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::ListWorkspaces(
    grpc::ServerContext* context, const v1::ListWorkspacesRequest* request,
    v1::ListWorkspacesResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    RETURN_IF_ERROR(CheckFilter(request->organization_id(), "organization_id"));
    const std::string org = request->organization_id();
    ASSIGN_OR_RETURN(
        ListResult<v1::Workspace> result,
        ListOnePage<v1::Workspace>(
            *cursors_, call.Binding("workspaces", WorkspacesFilterText(org)),
            request->cursor(), limit, request->include_remote_data(),
            [&](const PageRequest& page) {
              return call.connector->ListWorkspaces(call.ctx, org, page);
            }));
    Fill(std::move(result), response);
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::StreamWorkspaces(
    grpc::ServerContext* context, const v1::ListWorkspacesRequest* request,
    grpc::ServerWriter<v1::ListWorkspacesResponse>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call, Begin(context, request->integrated_account_id(),
                                      Priority::kBulk));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    RETURN_IF_ERROR(CheckFilter(request->organization_id(), "organization_id"));
    const std::string org = request->organization_id();
    return Stream<v1::Workspace>(
        *cursors_, call.Binding("workspaces", WorkspacesFilterText(org)),
        request->cursor(), limit, request->include_remote_data(),
        [&](const PageRequest& page) {
          return call.connector->ListWorkspaces(call.ctx, org, page);
        },
        context, writer);
  }());
}

grpc::Status UserDirectoryService::GetWorkspace(
    grpc::ServerContext* context, const v1::GetWorkspaceRequest* request,
    v1::Workspace* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    RETURN_IF_ERROR(Required(request->workspace_id(), "workspace_id"));
    ASSIGN_OR_RETURN(*response, call.connector->GetWorkspace(
                                    call.ctx, request->workspace_id(),
                                    request->include_remote_data()));
    return absl::OkStatus();
  }());
}

namespace {

absl::StatusOr<RoleAssignmentFilter> AssignmentsFilter(
    const v1::ListRoleAssignmentsRequest& request) {
  RETURN_IF_ERROR(CheckFilter(request.user_id(), "user_id"));
  RETURN_IF_ERROR(CheckFilter(request.organization_id(), "organization_id"));
  RETURN_IF_ERROR(CheckFilter(request.workspace_id(), "workspace_id"));
  return RoleAssignmentFilter{request.user_id(), request.organization_id(),
                              request.workspace_id()};
}

}  // namespace

grpc::Status UserDirectoryService::ListRoleAssignments(
    grpc::ServerContext* context, const v1::ListRoleAssignmentsRequest* request,
    v1::ListRoleAssignmentsResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    ASSIGN_OR_RETURN(RoleAssignmentFilter filter, AssignmentsFilter(*request));
    ASSIGN_OR_RETURN(
        ListResult<v1::RoleAssignment> result,
        ListOnePage<v1::RoleAssignment>(
            *cursors_, call.Binding("role_assignments", FilterText(filter)),
            request->cursor(), limit, false, [&](const PageRequest& page) {
              return call.connector->ListRoleAssignments(call.ctx, filter,
                                                         page);
            }));
    Fill(std::move(result), response);
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::StreamRoleAssignments(
    grpc::ServerContext* context, const v1::ListRoleAssignmentsRequest* request,
    grpc::ServerWriter<v1::ListRoleAssignmentsResponse>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call, Begin(context, request->integrated_account_id(),
                                      Priority::kBulk));
    ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
    ASSIGN_OR_RETURN(RoleAssignmentFilter filter, AssignmentsFilter(*request));
    return Stream<v1::RoleAssignment>(
        *cursors_, call.Binding("role_assignments", FilterText(filter)),
        request->cursor(), limit, false,
        [&](const PageRequest& page) {
          return call.connector->ListRoleAssignments(call.ctx, filter, page);
        },
        context, writer);
  }());
}

grpc::Status UserDirectoryService::ListRoles(
    grpc::ServerContext* context, const v1::ListRolesRequest* request,
    v1::ListRolesResponse* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    for (v1::Role& role : call.connector->Roles()) {
      *response->add_result() = std::move(role);
    }
    return absl::OkStatus();
  }());
}

grpc::Status UserDirectoryService::GetRole(grpc::ServerContext* context,
                                           const v1::GetRoleRequest* request,
                                           v1::Role* response) {
  return ToGrpcStatus([&]() -> absl::Status {
    ASSIGN_OR_RETURN(Call call,
                     Begin(context, request->integrated_account_id()));
    RETURN_IF_ERROR(Required(request->role_id(), "role_id"));
    for (v1::Role& role : call.connector->Roles()) {
      if (role.id() == request->role_id()) {
        *response = std::move(role);
        return absl::OkStatus();
      }
    }
    return WithErrorInfo(absl::NotFoundError(absl::StrCat(
                             "role '", request->role_id(), "' not found")),
                         "ROLE_NOT_FOUND");
  }());
}

grpc::Status UserDirectoryService::WatchDirectory(
    grpc::ServerContext* context, const v1::WatchDirectoryRequest* request,
    grpc::ServerWriter<v1::DirectoryEvent>* writer) {
  return ToGrpcStatus([&]() -> absl::Status {
    // The baseline is a bulk listing; the stream itself costs no calls.
    ASSIGN_OR_RETURN(Call call, Begin(context, request->integrated_account_id(),
                                      Priority::kBulk));
    if (watch_ == nullptr) {
      return WithErrorInfo(absl::FailedPreconditionError(
                               "this server does not watch directories"),
                           "WATCH_NOT_CONFIGURED");
    }
    if (request->resume_token().size() > 1024) {
      return WithErrorInfo(
          absl::InvalidArgumentError("resume_token is not one we issued"),
          "INVALID_RESUME_TOKEN");
    }
    struct Slot {
      std::atomic<int>& n;
      ~Slot() { --n; }
    } slot{watch_streams_};
    if (++watch_streams_ > max_watch_streams_) {
      return WithErrorInfo(
          absl::ResourceExhaustedError(
              "this server has as many WatchDirectory streams open as it "
              "serves; try another replica or later"),
          "WATCH_STREAMS_EXHAUSTED");
    }
    const watch::AccountRef account{call.tenant, call.account.id};
    RETURN_IF_ERROR(watch_->EnsureWatching(account, call.account, call.ctx));
    const std::function<bool()> cancelled = call.ctx.cancelled;
    const absl::Time deadline = call.ctx.deadline;
    return watch::StreamWatch(
        *watch_, *cursors_,
        {account, request->resume_token(), request->include_snapshot()},
        [writer](const v1::DirectoryEvent& e) { return writer->Write(e); },
        [&] { return cancelled() || absl::Now() >= deadline; });
  }());
}

}  // namespace unified
