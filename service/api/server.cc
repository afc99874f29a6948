#include "service/api/server.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/url_host.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "service/api/reflection.h"
#include "service/core/tls_files.h"

namespace unified {
namespace {

bool IsLoopback(const std::string& listen) {
  return IsLoopbackHost(ListenHost(listen));
}

std::shared_ptr<grpc::ServerCredentials> Credentials(
    const ServerOptions& options) {
  if (options.tls_cert_file.empty()) return grpc::InsecureServerCredentials();
  const unsigned int interval = static_cast<unsigned int>(
      std::max<int64_t>(1, absl::ToInt64Seconds(options.tls_reload_interval)));
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          options.tls_key_file, options.tls_cert_file,
          options.tls_client_ca_file, interval);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.tls_client_ca_file.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

absl::Status CheckListenSecurity(const ServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert_file and --tls_key_file go together");
  }
  if (options.tls_cert_file.empty()) {
    if (!options.tls_client_ca_file.empty()) {
      return absl::InvalidArgumentError(
          "--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
    }
    if (!IsLoopback(options.listen) && !options.allow_insecure_listen) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve plaintext on '", options.listen,
          "': API keys, passwords and tokens would cross the network in "
          "clear. Give --tls_cert_file and --tls_key_file, or "
          "--allow_insecure_listen when a sidecar terminates TLS"));
    }
    return absl::OkStatus();
  }
  return CheckTlsFiles(options.tls_cert_file, options.tls_key_file,
                       options.tls_client_ca_file);
}

absl::StatusOr<std::unique_ptr<Server>> Server::Start(
    const ServerOptions& options, const std::vector<HostedService>& services,
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors) {
  grpc::EnableDefaultHealthCheckService(true);
  // The built-in health service is not generated from health.proto; touching
  // the generated descriptor puts the file into the pool so that reflection
  // can describe grpc.health.v1.Health too.
  grpc::health::v1::HealthCheckRequest::descriptor();

  grpc::ServerBuilder builder;
  int port = 0;
  if (absl::Status s = CheckListenSecurity(options); !s.ok()) return s;
  builder.AddListeningPort(options.listen, Credentials(options), &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<int64_t>(
      INT32_MAX, int64_t{options.max_receive_message_bytes} * 4)));
  grpc::ResourceQuota quota("unified-directory");
  quota.Resize(static_cast<size_t>(options.memory_quota_bytes));
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams);
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(
          absl::ToInt64Milliseconds(options.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  // gRPC sets SO_REUSEPORT by default, which would let a second server share
  // an address already in use instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);

  if (!interceptors.empty()) {
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  std::vector<std::string> names;
  for (const HostedService& hosted : services) {
    builder.RegisterService(hosted.service);
    names.push_back(hosted.name);
  }
  std::vector<std::string> listed = names;
  listed.push_back(grpc::health::v1::Health::service_full_name());
  listed.push_back(
      grpc::reflection::v1alpha::ServerReflection::service_full_name());
  auto reflection = std::make_unique<ReflectionService>(std::move(listed));
  builder.RegisterService(reflection.get());

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on '", options.listen, "': address invalid or in use"));
  }
  if (grpc::HealthCheckServiceInterface* health =
          server->GetHealthCheckService()) {
    for (const std::string& name : names) health->SetServingStatus(name, true);
    health->SetServingStatus(kLivenessService, true);
    health->SetServingStatus(kReadinessService, true);
  }
  return std::unique_ptr<Server>(
      new Server(std::move(server), std::move(reflection), port));
}

Server::Server(std::unique_ptr<grpc::Server> server,
               std::unique_ptr<grpc::Service> reflection, int port)
    : reflection_(std::move(reflection)),
      server_(std::move(server)),
      port_(port) {}

Server::~Server() {
  Shutdown(absl::ZeroDuration());
  Wait();
}

void Server::SetServing(bool serving) {
  if (shutting_down_) return;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
    // Liveness is the process's own: SERVING until shutdown, whatever the
    // store (a probe restarting replicas would not bring a database back).
    health->SetServingStatus(kLivenessService, true);
    health->SetServingStatus(kReadinessService, !draining_);
  }
}

void Server::StartDraining() {
  draining_ = true;
  SetServing(false);
}

void Server::Shutdown(absl::Duration grace) {
  shutting_down_ = true;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void Server::Wait() { server_->Wait(); }

}  // namespace unified
