// A gRPC channel that sends `authorization: Bearer <api key>` on every call,
// as a C++ client of the service would (an interceptor, so it works on
// plaintext loopback channels where call credentials are not sent).
#ifndef TESTS_TESTING_API_KEY_CHANNEL_H_
#define TESTS_TESTING_API_KEY_CHANNEL_H_

#include <memory>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace unified::testing {

class ApiKeyInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit ApiKeyInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class ApiKeyInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ApiKeyInterceptorFactory(std::string key)
      : header_("Bearer " + std::move(key)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new ApiKeyInterceptor(header_);
  }

 private:
  const std::string header_;
};

// A channel to `target` whose calls carry `api_key` ("" = none); plaintext
// unless `credentials` says otherwise.
inline std::shared_ptr<grpc::Channel> ApiKeyChannel(
    const std::string& target, const std::string& api_key,
    const grpc::ChannelArguments& args = grpc::ChannelArguments(),
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr) {
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  if (!api_key.empty()) {
    interceptors.push_back(std::make_unique<ApiKeyInterceptorFactory>(api_key));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, credentials ? credentials : grpc::InsecureChannelCredentials(),
      args, std::move(interceptors));
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_API_KEY_CHANNEL_H_
