// unified.v1.UserDirectory: thin handlers that validate the request, call the
// directory core and convert the result once at the edge.
#ifndef SERVICE_USER_DIRECTORY_SERVICE_H_
#define SERVICE_USER_DIRECTORY_SERVICE_H_

#include "proto/unified/v1/user_directory.grpc.pb.h"

namespace unified {

class UserDirectoryService final : public v1::UserDirectory::Service {
 public:
  grpc::Status GetMe(grpc::ServerContext* context,
                     const v1::GetMeRequest* request,
                     v1::User* response) override;
};

}  // namespace unified

#endif  // SERVICE_USER_DIRECTORY_SERVICE_H_
