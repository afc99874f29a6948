// unified.v1.Proxy: one provider call 1-to-1 with the account's credentials
// injected. Every request is checked before anything is sent: it must stay
// under the provider's API base and carry no header the service owns.
#ifndef SERVICE_PROXY_SERVICE_H_
#define SERVICE_PROXY_SERVICE_H_

#include "absl/status/status.h"
#include "connectors/common/http_client.h"
#include "connectors/registry.h"
#include "proto/unified/v1/proxy.grpc.pb.h"
#include "service/account_resolver.h"
#include "service/tenants.h"

namespace unified {

// Request and answer size caps.
inline constexpr size_t kProxyMaxRequestBody = 1 << 20;   // 1 MiB
inline constexpr size_t kProxyMaxResponseBody = 8 << 20;  // 8 MiB (Call)
inline constexpr size_t kProxyStreamPiece = 64 << 10;     // 64 KiB

// The HTTP request `request` asks for (url relative to the API base), or
// INVALID_ARGUMENT (reason PROXY_REQUEST_REFUSED) / RESOURCE_EXHAUSTED
// (PROXY_BODY_TOO_LARGE) when it must not be sent.
absl::StatusOr<HttpRequest> CheckProxyRequest(const v1::ProxyRequest& request);

class ProxyService final : public v1::Proxy::Service {
 public:
  // Not owning; all must outlive the service. `budget` may be null.
  ProxyService(const TenantAuthenticator* tenants, AccountResolver* accounts,
               const ConnectorRegistry* connectors, RateBudget* budget)
      : tenants_(tenants),
        accounts_(accounts),
        connectors_(connectors),
        budget_(budget) {}

  grpc::Status Call(grpc::ServerContext* context,
                    const v1::ProxyRequest* request,
                    v1::ProxyResponse* response) override;
  grpc::Status StreamCall(
      grpc::ServerContext* context, const v1::ProxyRequest* request,
      grpc::ServerWriter<v1::ProxyResponse>* writer) override;

 private:
  struct Prepared;
  absl::StatusOr<Prepared> Prepare(grpc::ServerContext* context,
                                   const v1::ProxyRequest& request);

  const TenantAuthenticator* const tenants_;
  AccountResolver* const accounts_;
  const ConnectorRegistry* const connectors_;
  RateBudget* const budget_;
};

}  // namespace unified

#endif  // SERVICE_PROXY_SERVICE_H_
