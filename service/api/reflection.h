// gRPC server reflection (grpc.reflection.v1alpha.ServerReflection) on the
// callback API, so that no call to this server is served by a thread of
// gRPC's synchronous server (docs/serving.md). Answers from the generated
// descriptor pool: the hosted services, files by name or by symbol (each
// with its dependencies, sent once per stream), extensions.
#ifndef SERVICE_API_REFLECTION_H_
#define SERVICE_API_REFLECTION_H_

#include <string>
#include <vector>

#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"

namespace unified {

class ReflectionService final
    : public grpc::reflection::v1alpha::ServerReflection::CallbackService {
 public:
  // `services`: the full names ListServices reports (itself included by
  // the caller).
  explicit ReflectionService(std::vector<std::string> services);

  grpc::ServerBidiReactor<grpc::reflection::v1alpha::ServerReflectionRequest,
                          grpc::reflection::v1alpha::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

  const std::vector<std::string>& services() const { return services_; }

 private:
  std::vector<std::string> services_;
};

}  // namespace unified

#endif  // SERVICE_API_REFLECTION_H_
