#include "connectors/podio/podio_plugin.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "connectors/common/http_client.h"
#include "connectors/common/secrets.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_auth.h"
#include "connectors/podio/podio_client.h"
#include "connectors/podio/podio_connector.h"
#include "connectors/podio/podio_hooks.h"

ABSL_FLAG(std::string, podio_api_base, "https://api.podio.com",
          "Podio's API base URL (tests and the demo point it at the "
          "simulator).");
ABSL_FLAG(std::string, podio_web_base, "https://podio.com",
          "Podio's web host, where the OAuth authorize page lives.");
ABSL_FLAG(std::string, podio_ca_file, "",
          "PEM CA bundle to verify Podio's TLS certificate with; empty = the "
          "system's. Verification is never switched off.");
ABSL_FLAG(std::string, podio_client_id, "",
          "Podio API key (OAuth client id) of this deployment; empty = "
          "$PODIO_CLIENT_ID. Podio is off when neither this nor the secret "
          "is given.");
ABSL_FLAG(std::string, podio_client_secret_file, "",
          "File holding the Podio client secret; empty = "
          "$PODIO_CLIENT_SECRET.");
ABSL_FLAG(std::string, podio_page_sizes, "",
          "The limit asked of Podio's paged routes, e.g. "
          "'org_members=500,org_contacts=500,space_members=500' (the "
          "defaults). A route answering 400 to it is asked with a smaller "
          "limit, which is kept.");
ABSL_FLAG(int, podio_blind_pages, 4,
          "How many pages past the next a stream reads ahead of a Podio "
          "listing whose size is unknown (0..16): faster streams, at the "
          "cost of at most this many calls past the listing's end.");
ABSL_FLAG(std::vector<std::string>, rate_limited_routes,
          unified::podio::RateLimitedRoutes(),
          "Which Podio calls count as \"rate limited\" (the "
          "--rate_limited_limit class): comma-separated 'METHOD /path' "
          "patterns, '*' = one segment, trailing '/**' = any rest.");

namespace unified::podio {
namespace {

// Everything one Podio deployment runs on, owned together.
class PodioProvider final : public Provider {
 public:
  PodioProvider(ProviderHttp http, Clock* clock,
                PodioClientOptions client_options,
                PodioAuthOptions auth_options,
                PodioConnectorOptions connector_options)
      : http_(std::move(http)),
        api_base_(client_options.api_base),
        client_(http_.get(), clock, std::move(client_options), http_.async()),
        auth_(NewPodioAuth(http_.get(), clock, std::move(auth_options))),
        connector_(NewPodioConnector(&client_, connector_options)),
        webhooks_(NewPodioWebhooks(connector_.get())) {}

  std::string name() const override { return "podio"; }
  DirectoryConnector& directory() override { return *connector_; }
  ProviderAuth* auth() override { return auth_.get(); }
  WebhookSupport* webhooks() override { return webhooks_.get(); }
  std::vector<std::string> upstreams() const override { return {api_base_}; }
  // 1,000 calls an hour per identity, 250 for the restricted routes
  // (docs/podio.md §5).
  std::optional<RateLimits> rate_limits() const override {
    return RateLimits{1000, 250};
  }

 private:
  const ProviderHttp http_;
  const std::string api_base_;
  PodioClient client_;
  const std::unique_ptr<ProviderAuth> auth_;
  const std::unique_ptr<DirectoryConnector> connector_;
  const std::unique_ptr<WebhookSupport> webhooks_;
};

class PodioPlugin final : public ConnectorPlugin {
 public:
  std::string name() const override { return "podio"; }

  absl::StatusOr<std::unique_ptr<Provider>> Start(
      const ConnectorHost& host) override {
    PodioAuthOptions auth_options;
    auth_options.client_id = absl::GetFlag(FLAGS_podio_client_id);
    if (auth_options.client_id.empty()) {
      if (const char* id = std::getenv("PODIO_CLIENT_ID")) {
        auth_options.client_id = id;
      }
    }
    absl::StatusOr<std::string> secret =
        ReadSecret(absl::GetFlag(FLAGS_podio_client_secret_file),
                   "PODIO_CLIENT_SECRET", "Podio client secret");
    if (auth_options.client_id.empty() && absl::IsNotFound(secret.status())) {
      return nullptr;  // Not configured: Podio is off.
    }
    if (auth_options.client_id.empty() || !secret.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the Podio OAuth client is half configured: --podio_client_id (or "
          "$PODIO_CLIENT_ID) and --podio_client_secret_file (or "
          "$PODIO_CLIENT_SECRET) go together",
          secret.ok() ? ""
                      : absl::StrCat(" (", secret.status().message(), ")")));
    }
    auth_options.client_secret =
        std::string(absl::StripTrailingAsciiWhitespace(*secret));

    PodioClientOptions client_options;
    client_options.api_base =
        WithoutTrailingSlashes(absl::GetFlag(FLAGS_podio_api_base));
    RETURN_IF_ERROR(CheckApiBase("--podio_api_base", client_options.api_base));
    client_options.classifier =
        RateClassifier(absl::GetFlag(FLAGS_rate_limited_routes));
    auth_options.api_base = client_options.api_base;
    auth_options.web_base =
        WithoutTrailingSlashes(absl::GetFlag(FLAGS_podio_web_base));
    PodioConnectorOptions connector_options;
    if (absl::Status s = ParsePageSizes(absl::GetFlag(FLAGS_podio_page_sizes),
                                        &connector_options);
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--podio_page_sizes: ", s.message()));
    }
    connector_options.blind_pages = absl::GetFlag(FLAGS_podio_blind_pages);
    if (connector_options.blind_pages < 0 ||
        connector_options.blind_pages > 16) {
      return absl::InvalidArgumentError("--podio_blind_pages: not in 0..16");
    }

    CurlHttpClientOptions http_options;
    http_options.ca_file = absl::GetFlag(FLAGS_podio_ca_file);
    return std::make_unique<PodioProvider>(
        ProviderHttp(
            http_options, "podio", PodioRouteTemplates(),
            [](const HttpResponse& r) {
              return PodioProtocol().ReadRateSignal(r).stop;
            },
            host.observer),
        host.clock, std::move(client_options), std::move(auth_options),
        connector_options);
  }
};

}  // namespace

const std::vector<std::string>& PodioRouteTemplates() {
  static const auto* const routes = new std::vector<std::string>{
      "/oauth/token",
      "/user/status",
      "/org/",
      "/org/{id}",
      "/org/{id}/space/",
      "/org/{id}/member/",
      "/org/{id}/member/{id}",
      "/org/{id}/member/{id}/space_member/",
      "/contact/org/{id}",
      "/space/{id}",
      "/space/{id}/member/v2/",
      "/hook/space/{id}/",
      "/hook/{id}",
      "/hook/{id}/verify/validate",
  };
  return *routes;
}

std::unique_ptr<ConnectorPlugin> NewPodioPlugin() {
  return std::make_unique<PodioPlugin>();
}

}  // namespace unified::podio
