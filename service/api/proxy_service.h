// unified.v1.Proxy: one provider call 1-to-1 with the account's credentials
// injected. Every request is checked before anything is sent: it must stay
// under the provider's API base and carry no header the service owns.
#ifndef SERVICE_API_PROXY_SERVICE_H_
#define SERVICE_API_PROXY_SERVICE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "connectors/common/http_client.h"
#include "connectors/registry.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "service/api/serving.h"
#include "service/core/account_resolver.h"

namespace unified {

// Request and answer size caps.
inline constexpr size_t kProxyMaxRequestBody = 1 << 20;   // 1 MiB
inline constexpr size_t kProxyMaxResponseBody = 8 << 20;  // 8 MiB (Call)
inline constexpr size_t kProxyStreamPiece = 64 << 10;     // 64 KiB

// The HTTP request `request` asks for (url relative to the API base), or
// INVALID_ARGUMENT (reason PROXY_REQUEST_REFUSED) / RESOURCE_EXHAUSTED
// (PROXY_BODY_TOO_LARGE) when it must not be sent.
absl::StatusOr<HttpRequest> CheckProxyRequest(const v1::ProxyRequest& request);

class ProxyService final : public v1::Proxy::CallbackService {
 public:
  // Not owning; all must outlive the service. `serving` runs the calls
  // (service/api/serving.h). `budget` may be null.
  ProxyService(Serving* serving, AccountResolver* accounts,
               const ConnectorRegistry* connectors, RateBudget* budget)
      : serving_(serving),
        accounts_(accounts),
        connectors_(connectors),
        budget_(budget) {}

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const v1::ProxyRequest* request,
                                 v1::ProxyResponse* response) override;
  grpc::ServerWriteReactor<v1::ProxyResponse>* StreamCall(
      grpc::CallbackServerContext* context,
      const v1::ProxyRequest* request) override;

  // A checked request, its account, connector and call context.
  struct Prepared;

 private:
  // `trailers`: where the budget is reported when the result is destroyed
  // (null: the caller reports it).
  absl::StatusOr<Prepared> Prepare(
      const std::string& tenant, const v1::ProxyRequest& request,
      absl::Time deadline, std::function<bool()> cancelled,
      grpc::ServerContextBase* trailers,
      std::shared_ptr<std::atomic<int>> upstream_calls);

  Serving* const serving_;
  AccountResolver* const accounts_;
  const ConnectorRegistry* const connectors_;
  RateBudget* const budget_;
};

}  // namespace unified

#endif  // SERVICE_API_PROXY_SERVICE_H_
