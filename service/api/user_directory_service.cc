#include "service/api/user_directory_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "service/core/account_call.h"
#include "service/core/budget_report.h"
#include "service/core/grpc_status.h"
#include "service/core/paging.h"
#include "service/core/read_mask.h"
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

}  // namespace

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

UserDirectoryService::CallEnv UserDirectoryService::UnaryEnv(
    grpc::CallbackServerContext* context, const std::string& tenant) {
  return CallEnv{tenant, absl::FromChrono(context->deadline()),
                 // Reads stop when the server's stop comes (RunUnary then
                 // answers SERVER_SHUTTING_DOWN).
                 [this, context] {
                   return context->IsCancelled() || serving_->PastStop();
                 },
                 context, serving_->UpstreamCounter(context)};
}

absl::StatusOr<UserDirectoryService::Call> UserDirectoryService::Begin(
    const CallEnv& env, const std::string& account_id, Priority priority) {
  ASSIGN_OR_RETURN(
      AccountCall opened,
      OpenAccountCall(
          *accounts_, *connectors_, budget_, env.tenant, account_id,
          {env.deadline, env.cancelled, priority, env.upstream_calls}));
  Call call;
  call.tenant = env.tenant;
  call.account = std::move(opened.account);
  call.connector = opened.connector;
  call.ctx = std::move(opened.ctx);
  call.ctx.read_ahead = serving_->ReadAheadOf(env.tenant);
  call.budget_report.emplace(env.trailers, budget_, call.account.budget_key);
  return call;
}

template <typename T, typename Response>
grpc::ServerWriteReactor<Response>* UserDirectoryService::StartStream(
    grpc::CallbackServerContext* context, const std::string& account_id,
    ListingParams params,
    std::function<absl::StatusOr<unified::Listing<T>>(std::shared_ptr<Call>)>
        open) {
  return StartListing<T, Response>(
      serving_, context, cursors_, std::move(params),
      [this, context, account_id, open = std::move(open),
       upstream_calls = serving_->UpstreamCounter(context)](
          const StreamEnv& env) -> absl::StatusOr<unified::Listing<T>> {
        ASSIGN_OR_RETURN(Call begun,
                         Begin(CallEnv{env.tenant, env.deadline, env.cancelled,
                                       nullptr, upstream_calls},
                               account_id, Priority::kBulk));
        auto call = std::make_shared<Call>(std::move(begun));
        ASSIGN_OR_RETURN(unified::Listing<T> listing, open(call));
        listing.before_finish = [call, context](const PageIterator<T>& pages) {
          call->budget_report->AddTrailers(context);
          // Calls read ahead and not used (past the end, mispredicted or
          // failed): what parallelism cost this listing.
          context->AddTrailingMetadata("x-upstream-calls-wasted",
                                       absl::StrCat(pages.wasted_calls()));
        };
        listing.keep = call;
        return listing;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetMe(
    grpc::CallbackServerContext* context, const v1::GetMeRequest* request,
    v1::User* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::User>(request->read_mask()));
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(*response,
                         call.connector->GetMe(call.ctx, RemoteData(*request)));
        mask.Trim(response);
        return absl::OkStatus();
      });
}

namespace {

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

template <typename T, typename Response>
void Fill(ListResult<T> result, Response* response, const Serving& serving) {
  serving.OnUnreadableRecords(result.unreadable);
  for (T& item : result.items) *response->add_result() = std::move(item);
  response->set_next_cursor(std::move(result.next_cursor));
  SetTotalSize(result.total_size, response);
  SetUnreadable(result.unreadable, response);
}

absl::StatusOr<RoleAssignmentFilter> AssignmentsFilter(
    const v1::ListRoleAssignmentsRequest& request) {
  RETURN_IF_ERROR(CheckFilter(request.user_id(), "user_id"));
  RETURN_IF_ERROR(CheckFilter(request.organization_id(), "organization_id"));
  RETURN_IF_ERROR(CheckFilter(request.workspace_id(), "workspace_id"));
  return RoleAssignmentFilter{request.user_id(), request.organization_id(),
                              request.workspace_id()};
}

}  // namespace

grpc::ServerUnaryReactor* UserDirectoryService::ListUsers(
    grpc::CallbackServerContext* context, const v1::ListUsersRequest* request,
    v1::ListUsersResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
        ReadMask mask;
        ASSIGN_OR_RETURN(UserFilter filter, UsersFilter(*request, &mask));
        ASSIGN_OR_RETURN(
            ListResult<v1::User> result,
            ListOnePage<v1::User>(
                *cursors_, call.Binding("users", FilterText(filter)),
                request->cursor(), limit, RemoteData(*request),
                [&](const PageRequest& page) {
                  return call.connector->ListUsers(call.ctx, filter, page);
                }));
        Fill(std::move(result), response, *serving_);
        TrimAll(mask, response->mutable_result());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::ListUsersResponse>*
UserDirectoryService::StreamUsers(grpc::CallbackServerContext* context,
                                  const v1::ListUsersRequest* request) {
  const v1::ListUsersRequest copy = *request;
  return StartStream<v1::User, v1::ListUsersResponse>(
      context, copy.integrated_account_id(),
      {copy.cursor(), copy.limit(), RemoteData(copy)},
      [copy](std::shared_ptr<Call> call)
          -> absl::StatusOr<unified::Listing<v1::User>> {
        ReadMask mask;
        ASSIGN_OR_RETURN(UserFilter filter, UsersFilter(copy, &mask));
        unified::Listing<v1::User> listing;
        listing.binding = call->Binding("users", FilterText(filter));
        listing.shape = Shaper<v1::User>(std::move(mask));
        Call* c = call.get();
        listing.iterate = [c, filter](const PageRequest& start) {
          return c->connector->IterateUsers(c->ctx, filter, start);
        };
        return listing;
      });
}

namespace {

constexpr int kMaxBatchIds = 500;

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

}  // namespace

grpc::ServerUnaryReactor* UserDirectoryService::BatchGetUsers(
    grpc::CallbackServerContext* context,
    const v1::BatchGetUsersRequest* request,
    v1::BatchGetUsersResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<std::string> ids,
                         BatchIds(request->user_ids(), "user_ids"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::User>(request->read_mask()));
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(
            std::vector<std::optional<v1::User>> users,
            call.connector->BatchGetUsers(call.ctx, ids, RemoteData(*request)));
        absl::Status answered = BatchAnswer<v1::User>(
            ids, std::move(users), mask, request->fail_on_missing(), "user",
            "USER_NOT_FOUND", [response] { return response->add_users(); },
            [response](std::string id) {
              response->add_not_found_ids(std::move(id));
            });
        if (!answered.ok()) response->Clear();
        return answered;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::BatchGetWorkspaces(
    grpc::CallbackServerContext* context,
    const v1::BatchGetWorkspacesRequest* request,
    v1::BatchGetWorkspacesResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<std::string> ids,
                         BatchIds(request->workspace_ids(), "workspace_ids"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Workspace>(request->read_mask()));
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(std::vector<std::optional<v1::Workspace>> found,
                         call.connector->BatchGetWorkspaces(
                             call.ctx, ids, RemoteData(*request)));
        absl::Status answered = BatchAnswer<v1::Workspace>(
            ids, std::move(found), mask, request->fail_on_missing(),
            "workspace", "WORKSPACE_NOT_FOUND",
            [response] { return response->add_workspaces(); },
            [response](std::string id) {
              response->add_not_found_ids(std::move(id));
            });
        if (!answered.ok()) response->Clear();
        return answered;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetUser(
    grpc::CallbackServerContext* context, const v1::GetUserRequest* request,
    v1::User* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        RETURN_IF_ERROR(Required(request->user_id(), "user_id"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::User>(request->read_mask()));
        UserParts parts;
        parts.remote_data = RemoteData(*request);
        // Workspaces cost Podio a call per organization: read only when kept.
        parts.workspaces =
            Keeps(*request, "workspaces") || Keeps(*request, "roles");
        ASSIGN_OR_RETURN(*response, call.connector->GetUser(
                                        call.ctx, request->user_id(), parts));
        mask.Trim(response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::ListOrganizations(
    grpc::CallbackServerContext* context,
    const v1::ListOrganizationsRequest* request,
    v1::ListOrganizationsResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Organization>(request->read_mask()));
        ASSIGN_OR_RETURN(
            ListResult<v1::Organization> result,
            ListOnePage<v1::Organization>(
                *cursors_, call.Binding("organizations", ""), request->cursor(),
                limit, RemoteData(*request), [&](const PageRequest& page) {
                  return call.connector->ListOrganizations(call.ctx, page);
                }));
        Fill(std::move(result), response, *serving_);
        TrimAll(mask, response->mutable_result());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::ListOrganizationsResponse>*
UserDirectoryService::StreamOrganizations(
    grpc::CallbackServerContext* context,
    const v1::ListOrganizationsRequest* request) {
  return StartStream<v1::Organization, v1::ListOrganizationsResponse>(
      context, request->integrated_account_id(),
      {request->cursor(), request->limit(), RemoteData(*request)},
      [mask = request->read_mask()](std::shared_ptr<Call> call)
          -> absl::StatusOr<unified::Listing<v1::Organization>> {
        ASSIGN_OR_RETURN(ReadMask compiled, MaskFor<v1::Organization>(mask));
        unified::Listing<v1::Organization> listing;
        listing.binding = call->Binding("organizations", "");
        listing.shape = Shaper<v1::Organization>(std::move(compiled));
        Call* c = call.get();
        listing.iterate = [c](const PageRequest& start) {
          return c->connector->IterateOrganizations(c->ctx, start);
        };
        return listing;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetOrganization(
    grpc::CallbackServerContext* context,
    const v1::GetOrganizationRequest* request, v1::Organization* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        RETURN_IF_ERROR(
            Required(request->organization_id(), "organization_id"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Organization>(request->read_mask()));
        ASSIGN_OR_RETURN(*response, call.connector->GetOrganization(
                                        call.ctx, request->organization_id(),
                                        RemoteData(*request)));
        mask.Trim(response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::ListWorkspaces(
    grpc::CallbackServerContext* context,
    const v1::ListWorkspacesRequest* request,
    v1::ListWorkspacesResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
        RETURN_IF_ERROR(
            CheckFilter(request->organization_id(), "organization_id"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Workspace>(request->read_mask()));
        const std::string org = request->organization_id();
        ASSIGN_OR_RETURN(
            ListResult<v1::Workspace> result,
            ListOnePage<v1::Workspace>(
                *cursors_,
                call.Binding("workspaces", WorkspacesFilterText(org)),
                request->cursor(), limit, RemoteData(*request),
                [&](const PageRequest& page) {
                  return call.connector->ListWorkspaces(call.ctx, org, page);
                }));
        Fill(std::move(result), response, *serving_);
        TrimAll(mask, response->mutable_result());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::ListWorkspacesResponse>*
UserDirectoryService::StreamWorkspaces(
    grpc::CallbackServerContext* context,
    const v1::ListWorkspacesRequest* request) {
  const std::string org = request->organization_id();
  return StartStream<v1::Workspace, v1::ListWorkspacesResponse>(
      context, request->integrated_account_id(),
      {request->cursor(), request->limit(), RemoteData(*request)},
      [org, mask = request->read_mask()](std::shared_ptr<Call> call)
          -> absl::StatusOr<unified::Listing<v1::Workspace>> {
        RETURN_IF_ERROR(CheckFilter(org, "organization_id"));
        ASSIGN_OR_RETURN(ReadMask compiled, MaskFor<v1::Workspace>(mask));
        unified::Listing<v1::Workspace> listing;
        listing.shape = Shaper<v1::Workspace>(std::move(compiled));
        listing.binding =
            call->Binding("workspaces", WorkspacesFilterText(org));
        Call* c = call.get();
        listing.iterate = [c, org](const PageRequest& start) {
          return c->connector->IterateWorkspaces(c->ctx, org, start);
        };
        return listing;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetWorkspace(
    grpc::CallbackServerContext* context,
    const v1::GetWorkspaceRequest* request, v1::Workspace* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        RETURN_IF_ERROR(Required(request->workspace_id(), "workspace_id"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Workspace>(request->read_mask()));
        ASSIGN_OR_RETURN(*response, call.connector->GetWorkspace(
                                        call.ctx, request->workspace_id(),
                                        RemoteData(*request)));
        mask.Trim(response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::ListRoleAssignments(
    grpc::CallbackServerContext* context,
    const v1::ListRoleAssignmentsRequest* request,
    v1::ListRoleAssignmentsResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(int limit, ValidatePageSize(request->limit()));
        ASSIGN_OR_RETURN(RoleAssignmentFilter filter,
                         AssignmentsFilter(*request));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::RoleAssignment>(request->read_mask()));
        ASSIGN_OR_RETURN(
            ListResult<v1::RoleAssignment> result,
            ListOnePage<v1::RoleAssignment>(
                *cursors_, call.Binding("role_assignments", FilterText(filter)),
                request->cursor(), limit, false, [&](const PageRequest& page) {
                  return call.connector->ListRoleAssignments(call.ctx, filter,
                                                             page);
                }));
        Fill(std::move(result), response, *serving_);
        TrimAll(mask, response->mutable_result());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::ListRoleAssignmentsResponse>*
UserDirectoryService::StreamRoleAssignments(
    grpc::CallbackServerContext* context,
    const v1::ListRoleAssignmentsRequest* request) {
  const v1::ListRoleAssignmentsRequest copy = *request;
  return StartStream<v1::RoleAssignment, v1::ListRoleAssignmentsResponse>(
      context, copy.integrated_account_id(),
      {copy.cursor(), copy.limit(), false},
      [copy](std::shared_ptr<Call> call)
          -> absl::StatusOr<unified::Listing<v1::RoleAssignment>> {
        ASSIGN_OR_RETURN(RoleAssignmentFilter filter, AssignmentsFilter(copy));
        ASSIGN_OR_RETURN(ReadMask compiled,
                         MaskFor<v1::RoleAssignment>(copy.read_mask()));
        unified::Listing<v1::RoleAssignment> listing;
        listing.shape = Shaper<v1::RoleAssignment>(std::move(compiled));
        listing.binding = call->Binding("role_assignments", FilterText(filter));
        Call* c = call.get();
        listing.iterate = [c, filter](const PageRequest& start) {
          return c->connector->IterateRoleAssignments(c->ctx, filter, start);
        };
        return listing;
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::ListRoles(
    grpc::CallbackServerContext* context, const v1::ListRolesRequest* request,
    v1::ListRolesResponse* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Role>(request->read_mask()));
        for (v1::Role& role : call.connector->Roles()) {
          *response->add_result() = std::move(role);
        }
        TrimAll(mask, response->mutable_result());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* UserDirectoryService::GetRole(
    grpc::CallbackServerContext* context, const v1::GetRoleRequest* request,
    v1::Role* response) {
  return RunUnary(
      *serving_, context, [=](const std::string& tenant) -> absl::Status {
        ASSIGN_OR_RETURN(Call call, Begin(UnaryEnv(context, tenant),
                                          request->integrated_account_id()));
        RETURN_IF_ERROR(Required(request->role_id(), "role_id"));
        ASSIGN_OR_RETURN(const ReadMask mask,
                         MaskFor<v1::Role>(request->read_mask()));
        for (v1::Role& role : call.connector->Roles()) {
          if (role.id() == request->role_id()) {
            *response = std::move(role);
            mask.Trim(response);
            return absl::OkStatus();
          }
        }
        return WithErrorInfo(absl::NotFoundError(absl::StrCat(
                                 "role '", request->role_id(), "' not found")),
                             "ROLE_NOT_FOUND");
      });
}

namespace {

// A WatchDirectory stream: the first step takes the baselines (or finds
// the accounts watched) on the pool; later steps read the event log's
// tail, and between them the stream waits, holding no thread, for the
// engine's news (events this process logged, or found in the store by the
// engine's worker every tick).
class WatchStream final : public PooledStream<v1::DirectoryEvent> {
 public:
  struct Opened {
    std::unique_ptr<watch::EventReader> reader;
    // What to subscribe to: one account, or the tenant (empty account_id).
    watch::AccountRef subscription;
    bool watch_new_accounts = false;
  };
  using Open = std::function<absl::StatusOr<Opened>(const StreamEnv& env)>;

  WatchStream(Serving* serving, grpc::CallbackServerContext* context,
              Admission admission, watch::WatchEngine* engine, Open open)
      : PooledStream(serving, context, std::move(admission),
                     WorkerPool::Lane::kBulk),
        engine_(engine),
        open_(std::move(open)) {}

 private:
  absl::StatusOr<Step> Produce(std::vector<v1::DirectoryEvent>* out) override {
    if (!reader_) {
      StreamEnv env{tenant(), deadline(), [this] { return cancelled(); }};
      ASSIGN_OR_RETURN(Opened opened, open_(env));
      subscription_ = engine_->Subscribe(
          opened.subscription, [this] { Wake(); }, opened.watch_new_accounts);
      {
        absl::MutexLock lock(&reader_mu_);
        reader_ = std::move(opened.reader);
      }
      // A stream that ended meanwhile may have missed it in Stopped().
      if (cancelled()) Stopped();
    }
    ASSIGN_OR_RETURN(bool caught_up, reader_->Next(out));
    return caught_up ? Step::kWait : Step::kMore;
  }

  void Sent(const v1::DirectoryEvent& event) override {
    if (!event.resume_token().empty()) last_token_ = event.resume_token();
  }

  absl::Status StallStatus(absl::Duration stalled,
                           const v1::DirectoryEvent& pending) override {
    const std::string& token =
        pending.resume_token().empty() ? last_token_ : pending.resume_token();
    return WithErrorInfo(
        absl::AbortedError(absl::StrCat(
            "the client accepted no event for ", absl::FormatDuration(stalled),
            "; the stream was ended. Watch again with the last resume_token "
            "received (also in this error's resume_token)")),
        kStreamStalledReason, {{"resume_token", token}});
  }

  std::optional<v1::DirectoryEvent> Heartbeat() override {
    absl::MutexLock lock(&reader_mu_);
    if (!reader_) return std::nullopt;
    return reader_->Heartbeat(absl::Now());
  }

  void Stopped() override {
    if (const int64_t id = subscription_.exchange(0); id != 0) {
      engine_->Unsubscribe(id);
    }
  }

  watch::WatchEngine* const engine_;
  const Open open_;
  // Set once by the first step; Heartbeat (the ticker) reads it only when
  // no step runs.
  absl::Mutex reader_mu_;
  std::unique_ptr<watch::EventReader> reader_;
  // Set by the first step, read by Stopped() after the last.
  std::atomic<int64_t> subscription_{0};
  std::string last_token_;
};

constexpr int kMaxWatchedAccounts = 1000;

// The accounts a WatchDirectoryRequest names, checked: one id, several
// (sorted, in `ids`), or all (`ids` empty, `*all` set).
absl::Status WatchScope(const v1::WatchDirectoryRequest& request,
                        std::vector<std::string>* ids, bool* all) {
  const int ways = !request.integrated_account_id().empty() +
                   (request.integrated_account_ids_size() > 0) +
                   request.all_accounts();
  if (ways != 1) {
    return WithErrorInfo(
        absl::InvalidArgumentError(
            "name the accounts to watch in exactly one way: "
            "integrated_account_id, integrated_account_ids or all_accounts"),
        "INVALID_WATCH_SCOPE");
  }
  *all = request.all_accounts();
  if (request.integrated_account_ids_size() > kMaxWatchedAccounts) {
    return WithErrorInfo(
        absl::InvalidArgumentError(absl::StrCat(
            "integrated_account_ids names ",
            request.integrated_account_ids_size(),
            " accounts; one stream watches at most ", kMaxWatchedAccounts,
            " (all_accounts watches every one)")),
        "TOO_MANY_ACCOUNTS");
  }
  ids->assign(request.integrated_account_ids().begin(),
              request.integrated_account_ids().end());
  for (const std::string& id : *ids) RETURN_IF_ERROR(CheckAccountId(id));
  std::sort(ids->begin(), ids->end());
  if (std::adjacent_find(ids->begin(), ids->end()) != ids->end()) {
    return WithErrorInfo(absl::InvalidArgumentError(
                             "integrated_account_ids names an account twice"),
                         "INVALID_WATCH_SCOPE");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status UserDirectoryService::WatchAccount(const CallEnv& env,
                                                const std::string& account_id,
                                                watch::AccountRef* watched) {
  // The baseline is a bulk listing; the stream itself costs no calls.
  ASSIGN_OR_RETURN(Call call, Begin(env, account_id, Priority::kBulk));
  *watched = watch::AccountRef{call.tenant, call.account.id};
  return watch_->EnsureWatching(*watched, call.account, call.ctx);
}

grpc::ServerWriteReactor<v1::DirectoryEvent>*
UserDirectoryService::WatchDirectory(grpc::CallbackServerContext* context,
                                     const v1::WatchDirectoryRequest* request) {
  absl::StatusOr<Admission> admitted =
      serving_->Admit(*context, Serving::Kind::kWatch);
  absl::Status refused = admitted.status();
  if (refused.ok() && watch_ == nullptr) {
    refused = WithErrorInfo(
        absl::FailedPreconditionError("this server does not watch directories"),
        "WATCH_NOT_CONFIGURED");
  }
  if (refused.ok() && request->resume_token().size() > 1024) {
    refused = WithErrorInfo(
        absl::InvalidArgumentError("resume_token is not one we issued"),
        "INVALID_RESUME_TOKEN");
  }
  std::vector<std::string> ids;
  bool all = false;
  if (refused.ok()) refused = WatchScope(*request, &ids, &all);
  if (!refused.ok()) {
    return new FinishedStream<v1::DirectoryEvent>(ToGrpcStatus(refused));
  }
  const bool several = all || !ids.empty();
  auto* stream = new WatchStream(
      serving_, context, std::move(*admitted), watch_,
      [this, request = *request, ids = std::move(ids), all, several,
       upstream_calls = serving_->UpstreamCounter(context)](
          const StreamEnv& env) -> absl::StatusOr<WatchStream::Opened> {
        const CallEnv call_env{env.tenant, env.deadline, env.cancelled, nullptr,
                               upstream_calls};
        WatchStream::Opened opened;
        if (!several) {
          RETURN_IF_ERROR(WatchAccount(
              call_env, request.integrated_account_id(), &opened.subscription));
          opened.reader = std::make_unique<watch::WatchReader>(
              *watch_, *cursors_,
              watch::WatchStreamRequest{opened.subscription,
                                        request.resume_token(),
                                        request.include_snapshot()});
          return opened;
        }
        // Every account named must be watchable now; of all the tenant's,
        // those that are (the engine's scan retries the others).
        std::vector<std::string> names = ids;
        if (all) {
          ASSIGN_OR_RETURN(names, accounts_->ListIds(env.tenant));
        }
        for (const std::string& id : names) {
          watch::AccountRef a{env.tenant, id};
          ASSIGN_OR_RETURN(bool baselined, watch_->BaselineDone(a));
          if (baselined) continue;
          absl::Status s = WatchAccount(call_env, id, &a);
          if (!s.ok() && !all) {
            absl::Status named(s.code(),
                               absl::StrCat("account ", id, ": ", s.message()));
            s.ForEachPayload(
                [&](absl::string_view url, const absl::Cord& payload) {
                  named.SetPayload(url, payload);
                });
            return named;
          }
          if (env.cancelled()) return absl::CancelledError("cancelled");
        }
        opened.subscription = watch::AccountRef{env.tenant, ""};
        opened.watch_new_accounts = all;
        opened.reader = std::make_unique<watch::TenantWatchReader>(
            *watch_, *cursors_,
            watch::TenantWatchRequest{env.tenant, ids, request.resume_token(),
                                      request.include_snapshot()});
        return opened;
      });
  stream->Start();
  return stream;
}

}  // namespace unified
