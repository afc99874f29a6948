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
#include "service/api/directory_request.h"
#include "service/core/account_call.h"
#include "service/core/budget_report.h"
#include "service/core/grpc_status.h"
#include "service/core/paging.h"
#include "service/core/read_mask.h"

namespace unified {

using directory_request::AssignmentsFilter;
using directory_request::BatchAnswer;
using directory_request::BatchIds;
using directory_request::CheckFilter;
using directory_request::Fill;
using directory_request::FilterText;
using directory_request::Keeps;
using directory_request::MaskFor;
using directory_request::RemoteData;
using directory_request::Required;
using directory_request::Shaper;
using directory_request::TrimAll;
using directory_request::UsersFilter;
using directory_request::WorkspacesFilterText;

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

}  // namespace unified
