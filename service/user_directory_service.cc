#include "service/user_directory_service.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "service/grpc_status.h"

namespace unified {
namespace {

// Account ids are short tokens; anything longer is not one of ours.
constexpr size_t kMaxAccountIdBytes = 128;

}  // namespace

grpc::Status UserDirectoryService::GetMe(grpc::ServerContext* context,
                                         const v1::GetMeRequest* request,
                                         v1::User* response) {
  if (request->integrated_account_id().empty()) {
    return ToGrpcStatus(WithErrorInfo(
        absl::InvalidArgumentError("integrated_account_id is required"),
        "MISSING_INTEGRATED_ACCOUNT_ID"));
  }
  if (request->integrated_account_id().size() > kMaxAccountIdBytes) {
    return ToGrpcStatus(
        WithErrorInfo(absl::InvalidArgumentError(
                          absl::StrCat("integrated_account_id is longer than ",
                                       kMaxAccountIdBytes, " bytes")),
                      "INVALID_INTEGRATED_ACCOUNT_ID"));
  }
  // No account store is wired yet (integrated accounts, issue 5), so no id can
  // name an account of the caller's tenant.
  return ToGrpcStatus(WithErrorInfo(
      absl::NotFoundError(absl::StrCat("integrated account '",
                                       request->integrated_account_id(),
                                       "' not found")),
      "INTEGRATED_ACCOUNT_NOT_FOUND"));
}

}  // namespace unified
