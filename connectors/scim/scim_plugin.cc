#include "connectors/scim/scim_plugin.h"

#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "connectors/common/request_pipeline.h"
#include "connectors/common/status_macros.h"
#include "connectors/scim/scim_auth.h"
#include "connectors/scim/scim_connector.h"

ABSL_FLAG(std::string, scim_base_url, "",
          "Base URL of the SCIM 2.0 service provider's API (the one before "
          "/Users), e.g. https://idp.example.com/scim/v2. Empty: SCIM is "
          "off.");
ABSL_FLAG(std::string, scim_token_url, "",
          "The provider's OAuth 2.0 token endpoint, for accounts linked with "
          "LinkWithClientCredentials; empty = bearer tokens only "
          "(ImportTokens).");
ABSL_FLAG(std::string, scim_ca_file, "",
          "PEM CA bundle to verify the SCIM provider's TLS certificate with; "
          "empty = the system's.");
ABSL_FLAG(int64_t, scim_rate_limit, 0,
          "Calls per hour the SCIM provider allows each identity, when it "
          "documents a limit (SCIM itself sets none); 0 = the service's "
          "default for providers without one.");
ABSL_FLAG(std::string, scim_organization_name, "SCIM directory",
          "Name of the one organization a SCIM directory is shown as.");

namespace unified::scim {
namespace {

std::vector<std::string> UpstreamsOf(const ScimAuthOptions& auth) {
  std::vector<std::string> out = {auth.api_base};
  if (!auth.token_url.empty()) out.push_back(auth.token_url);
  return out;
}

class ScimProvider final : public Provider {
 public:
  ScimProvider(ProviderHttp http, Clock* clock,
               RequestPipelineOptions pipeline_options,
               ScimAuthOptions auth_options,
               ScimConnectorOptions connector_options, int64_t rate_limit)
      : http_(std::move(http)),
        rate_limit_(rate_limit),
        upstreams_(UpstreamsOf(auth_options)),
        pipeline_(http_.get(), clock, &protocol_, std::move(pipeline_options),
                  http_.async()),
        auth_(NewScimAuth(http_.get(), clock, std::move(auth_options))),
        connector_(NewScimConnector(&pipeline_, std::move(connector_options))) {
  }

  std::string name() const override { return "scim"; }
  DirectoryConnector& directory() override { return *connector_; }
  ProviderAuth* auth() override { return auth_.get(); }
  std::vector<std::string> upstreams() const override { return upstreams_; }
  // SCIM has no restricted class: its limit is the whole budget.
  std::optional<RateLimits> rate_limits() const override {
    if (rate_limit_ <= 0) return std::nullopt;
    return RateLimits{rate_limit_, rate_limit_};
  }

 private:
  const ProviderHttp http_;
  const int64_t rate_limit_;
  std::vector<std::string> upstreams_;
  const ScimProtocol protocol_;
  RequestPipeline pipeline_;
  const std::unique_ptr<ProviderAuth> auth_;
  const std::unique_ptr<DirectoryConnector> connector_;
};

class ScimPlugin final : public ConnectorPlugin {
 public:
  std::string name() const override { return "scim"; }

  absl::StatusOr<std::unique_ptr<Provider>> Start(
      const ConnectorHost& host) override {
    const std::string base =
        WithoutTrailingSlashes(absl::GetFlag(FLAGS_scim_base_url));
    if (base.empty()) return nullptr;  // Not configured: SCIM is off.
    RETURN_IF_ERROR(CheckApiBase("--scim_base_url", base));
    const std::string token_url = absl::GetFlag(FLAGS_scim_token_url);
    const int64_t rate_limit = absl::GetFlag(FLAGS_scim_rate_limit);
    if (rate_limit < 0) {
      return absl::InvalidArgumentError(
          "--scim_rate_limit must be 0 (none documented) or positive");
    }
    if (!token_url.empty()) {
      RETURN_IF_ERROR(CheckApiBase("--scim_token_url", token_url));
    }
    RequestPipelineOptions pipeline_options;
    pipeline_options.api_base = base;
    pipeline_options.accept = "application/scim+json";
    ScimAuthOptions auth_options;
    auth_options.api_base = base;
    auth_options.token_url = token_url;
    ScimConnectorOptions connector_options;
    connector_options.organization_name =
        absl::GetFlag(FLAGS_scim_organization_name);
    CurlHttpClientOptions http_options;
    http_options.ca_file = absl::GetFlag(FLAGS_scim_ca_file);
    return std::make_unique<ScimProvider>(
        ProviderHttp(
            http_options, "scim", ScimRouteTemplates(token_url),
            [](const HttpResponse& r) {
              return ScimProtocol().ReadRateSignal(r).stop;
            },
            host.observer),
        host.clock, std::move(pipeline_options), std::move(auth_options),
        std::move(connector_options), rate_limit);
  }
};

}  // namespace

std::vector<std::string> ScimRouteTemplates(const std::string& token_url) {
  std::vector<std::string> routes = {
      "/Me",     "/Users",       "/Users/{id}",
      "/Groups", "/Groups/{id}", "/ServiceProviderConfig",
  };
  // The operator's token endpoint, by its path (never a caller's text).
  const size_t scheme = token_url.find("://");
  if (!token_url.empty() && scheme != std::string::npos) {
    const size_t slash = token_url.find('/', scheme + 3);
    std::string path =
        slash == std::string::npos ? "/" : token_url.substr(slash);
    routes.push_back(path.substr(0, path.find_first_of("?#")));
  }
  return routes;
}

std::unique_ptr<ConnectorPlugin> NewScimPlugin() {
  return std::make_unique<ScimPlugin>();
}

}  // namespace unified::scim
