// unified.v1.UserDirectory: thin handlers that validate the request, resolve
// the integrated account and its connector, page through cursors, and convert
// the result once at the edge (service/core/grpc_status.h). No provider
// knowledge.
#ifndef SERVICE_API_USER_DIRECTORY_SERVICE_H_
#define SERVICE_API_USER_DIRECTORY_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "connectors/registry.h"
#include "proto/unified/v1/user_directory.grpc.pb.h"
#include "service/api/listing_stream.h"
#include "service/api/serving.h"
#include "service/core/account_resolver.h"
#include "service/core/cursor.h"
#include "service/watch/watch_engine.h"

namespace unified {

class UserDirectoryService final : public v1::UserDirectory::CallbackService {
 public:
  // Not owning; all must outlive the service. `serving` runs the calls
  // (service/api/serving.h). `budget` may be null (no rate budgeting, tests).
  // `watch` enables WatchDirectory (null: FAILED_PRECONDITION, reason
  // WATCH_NOT_CONFIGURED).
  UserDirectoryService(Serving* serving, AccountResolver* accounts,
                       const ConnectorRegistry* connectors,
                       const CursorCodec* cursors, RateBudget* budget = nullptr,
                       watch::WatchEngine* watch = nullptr)
      : serving_(serving),
        accounts_(accounts),
        connectors_(connectors),
        cursors_(cursors),
        budget_(budget),
        watch_(watch) {}

  grpc::ServerUnaryReactor* GetMe(grpc::CallbackServerContext* context,
                                  const v1::GetMeRequest* request,
                                  v1::User* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const v1::ListUsersRequest* request,
                                      v1::ListUsersResponse* response) override;
  grpc::ServerWriteReactor<v1::ListUsersResponse>* StreamUsers(
      grpc::CallbackServerContext* context,
      const v1::ListUsersRequest* request) override;
  grpc::ServerUnaryReactor* BatchGetUsers(
      grpc::CallbackServerContext* context,
      const v1::BatchGetUsersRequest* request,
      v1::BatchGetUsersResponse* response) override;
  grpc::ServerUnaryReactor* BatchGetWorkspaces(
      grpc::CallbackServerContext* context,
      const v1::BatchGetWorkspacesRequest* request,
      v1::BatchGetWorkspacesResponse* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request,
                                    v1::User* response) override;
  grpc::ServerUnaryReactor* ListOrganizations(
      grpc::CallbackServerContext* context,
      const v1::ListOrganizationsRequest* request,
      v1::ListOrganizationsResponse* response) override;
  grpc::ServerWriteReactor<v1::ListOrganizationsResponse>* StreamOrganizations(
      grpc::CallbackServerContext* context,
      const v1::ListOrganizationsRequest* request) override;
  grpc::ServerUnaryReactor* GetOrganization(
      grpc::CallbackServerContext* context,
      const v1::GetOrganizationRequest* request,
      v1::Organization* response) override;
  grpc::ServerUnaryReactor* ListWorkspaces(
      grpc::CallbackServerContext* context,
      const v1::ListWorkspacesRequest* request,
      v1::ListWorkspacesResponse* response) override;
  grpc::ServerWriteReactor<v1::ListWorkspacesResponse>* StreamWorkspaces(
      grpc::CallbackServerContext* context,
      const v1::ListWorkspacesRequest* request) override;
  grpc::ServerUnaryReactor* GetWorkspace(grpc::CallbackServerContext* context,
                                         const v1::GetWorkspaceRequest* request,
                                         v1::Workspace* response) override;
  grpc::ServerUnaryReactor* ListRoleAssignments(
      grpc::CallbackServerContext* context,
      const v1::ListRoleAssignmentsRequest* request,
      v1::ListRoleAssignmentsResponse* response) override;
  grpc::ServerWriteReactor<v1::ListRoleAssignmentsResponse>*
  StreamRoleAssignments(grpc::CallbackServerContext* context,
                        const v1::ListRoleAssignmentsRequest* request) override;
  grpc::ServerUnaryReactor* ListRoles(grpc::CallbackServerContext* context,
                                      const v1::ListRolesRequest* request,
                                      v1::ListRolesResponse* response) override;
  grpc::ServerUnaryReactor* GetRole(grpc::CallbackServerContext* context,
                                    const v1::GetRoleRequest* request,
                                    v1::Role* response) override;
  grpc::ServerWriteReactor<v1::DirectoryEvent>* WatchDirectory(
      grpc::CallbackServerContext* context,
      const v1::WatchDirectoryRequest* request) override;
  grpc::ServerUnaryReactor* SetWatching(grpc::CallbackServerContext* context,
                                        const v1::SetWatchingRequest* request,
                                        v1::WatchStatus* response) override;
  grpc::ServerUnaryReactor* GetWatchStatus(
      grpc::CallbackServerContext* context,
      const v1::GetWatchStatusRequest* request,
      v1::WatchStatus* response) override;

 private:
  struct Call;
  // Who calls, until when, and whether they are still there.
  struct CallEnv {
    std::string tenant;
    absl::Time deadline = absl::InfiniteFuture();
    std::function<bool()> cancelled;
    // Where the budget is reported when the call ends; null: the caller
    // reports it (streams, before they finish).
    grpc::ServerContextBase* trailers = nullptr;
    // Counts the call's upstream requests for its access-log line.
    std::shared_ptr<std::atomic<int>> upstream_calls;
  };
  CallEnv UnaryEnv(grpc::CallbackServerContext* context,
                   const std::string& tenant);
  // Streams are bulk listings; everything else is interactive.
  absl::StatusOr<Call> Begin(const CallEnv& env, const std::string& account_id,
                             Priority priority = Priority::kInteractive);
  // Makes sure the account is watched (its baseline taken with this call's
  // env); `watched` is set to it.
  absl::Status WatchAccount(const CallEnv& env, const std::string& account_id,
                            watch::AccountRef* watched);
  // `account_id`'s watch as the API answers it.
  absl::Status ReadWatchStatus(const std::string& tenant,
                               const std::string& account_id,
                               v1::WatchStatus* out);
  // A listing stream whose call is resolved on the pool by `open`.
  template <typename T, typename Response>
  grpc::ServerWriteReactor<Response>* StartStream(
      grpc::CallbackServerContext* context, const std::string& account_id,
      ListingParams params,
      std::function<absl::StatusOr<unified::Listing<T>>(std::shared_ptr<Call>)>
          open);

  Serving* const serving_;
  AccountResolver* const accounts_;
  const ConnectorRegistry* const connectors_;
  const CursorCodec* const cursors_;
  RateBudget* const budget_;
  watch::WatchEngine* const watch_;
};

}  // namespace unified

#endif  // SERVICE_API_USER_DIRECTORY_SERVICE_H_
