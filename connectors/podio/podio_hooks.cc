#include "connectors/podio/podio_hooks.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/podio_errors.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace unified::podio {
namespace {

constexpr size_t kMaxDelivery = 64 * 1024;

absl::StatusOr<HttpResponse> Send(DirectoryConnector& connector,
                                  CallContext& ctx, const std::string& method,
                                  const std::string& path, std::string body) {
  HttpRequest request;
  request.method = method;
  request.url = path;
  if (!body.empty()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = std::move(body);
  }
  ASSIGN_OR_RETURN(HttpResponse response,
                   connector.Proxy(ctx, request,
                                   /*retry=*/method == "GET"));
  if (response.status < 200 || response.status >= 300) {
    return StatusForHttpError(response.status, response.body);
  }
  return response;
}

std::string JsonObject(
    const std::vector<std::pair<const char*, std::string>>& fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [k, v] : fields) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return buffer.GetString();
}

}  // namespace

absl::StatusOr<int64_t> ParseCreatedHook(absl::string_view json) {
  absl::StatusOr<rapidjson::Document> d = json::Parse(json);
  std::optional<int64_t> id;
  if (d.ok()) id = json::Int64(*d, "hook_id");
  if (!id || *id <= 0) {
    return absl::InternalError("Podio's hook answer has no hook_id");
  }
  return *id;
}

absl::StatusOr<std::vector<HookInfo>> ParseHookList(absl::string_view json) {
  absl::StatusOr<rapidjson::Document> d = json::Parse(json);
  if (!d.ok() || !d->IsArray()) {
    return absl::InternalError("Podio's hook list is not an array");
  }
  std::vector<HookInfo> out;
  for (const rapidjson::Value& h : d->GetArray()) {
    std::optional<int64_t> id = json::Int64(h, "hook_id");
    if (!id) continue;  // Unreadable entries are skipped, not trusted.
    HookInfo info;
    info.hook_id = *id;
    info.status = json::StringOr(h, "status");
    info.type = json::StringOr(h, "type");
    info.url = json::StringOr(h, "url");
    out.push_back(std::move(info));
  }
  return out;
}

absl::StatusOr<HookDelivery> ParseHookDelivery(absl::string_view form_body) {
  if (form_body.size() > kMaxDelivery) {
    return absl::InvalidArgumentError("hook delivery too large");
  }
  HookDelivery d;
  bool have_hook_id = false;
  for (absl::string_view pair : absl::StrSplit(form_body, '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    std::string key, value;
    if (!FormDecode(pair.substr(0, eq), &key) ||
        !FormDecode(eq == absl::string_view::npos ? absl::string_view()
                                                  : pair.substr(eq + 1),
                    &value)) {
      return absl::InvalidArgumentError("hook delivery is not form-encoded");
    }
    auto id = [&](int64_t* out) {
      return absl::SimpleAtoi(value, out) && *out > 0;
    };
    if (key == "type") {
      d.type = value;
    } else if (key == "hook_id") {
      if (!id(&d.hook_id)) return absl::InvalidArgumentError("bad hook_id");
      have_hook_id = true;
    } else if (key == "code") {
      d.code = value;
    } else if (key == "space_id") {
      if (!id(&d.space_id)) return absl::InvalidArgumentError("bad space_id");
    } else if (key == "user_id") {
      if (!id(&d.user_id)) return absl::InvalidArgumentError("bad user_id");
    }
  }
  if (d.type.empty() || !have_hook_id) {
    return absl::InvalidArgumentError("hook delivery without type or hook_id");
  }
  return d;
}

absl::StatusOr<int64_t> CreateSpaceHook(DirectoryConnector& connector,
                                        CallContext& ctx,
                                        const std::string& space_id,
                                        const std::string& url,
                                        const std::string& type) {
  // Paths are built from the parsed number, never from the text.
  ASSIGN_OR_RETURN(int64_t id, ParseId(space_id, "space_id"));
  ASSIGN_OR_RETURN(
      HttpResponse r,
      Send(connector, ctx, "POST", absl::StrCat("/hook/space/", id, "/"),
           JsonObject({{"url", url}, {"type", type}})));
  return ParseCreatedHook(r.body);
}

absl::StatusOr<std::vector<HookInfo>> ListSpaceHooks(
    DirectoryConnector& connector, CallContext& ctx,
    const std::string& space_id) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(space_id, "space_id"));
  ASSIGN_OR_RETURN(
      HttpResponse r,
      Send(connector, ctx, "GET", absl::StrCat("/hook/space/", id, "/"), ""));
  return ParseHookList(r.body);
}

absl::Status ValidateHook(DirectoryConnector& connector, CallContext& ctx,
                          const std::string& hook_id, const std::string& code) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(hook_id, "hook_id"));
  return Send(connector, ctx, "POST",
              absl::StrCat("/hook/", id, "/verify/validate"),
              JsonObject({{"code", code}}))
      .status();
}

absl::Status DeleteHook(DirectoryConnector& connector, CallContext& ctx,
                        const std::string& hook_id) {
  ASSIGN_OR_RETURN(int64_t id, ParseId(hook_id, "hook_id"));
  absl::Status s =
      Send(connector, ctx, "DELETE", absl::StrCat("/hook/", id), "").status();
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

namespace {

class PodioWebhooks final : public WebhookSupport {
 public:
  explicit PodioWebhooks(DirectoryConnector* connector)
      : connector_(connector) {}

  std::vector<std::string> MemberEventTypes() const override {
    return {std::begin(kMemberHookTypes), std::end(kMemberHookTypes)};
  }

  absl::StatusOr<std::string> Create(CallContext& ctx,
                                     const std::string& workspace_id,
                                     const std::string& url,
                                     const std::string& event_type) override {
    ASSIGN_OR_RETURN(int64_t id, CreateSpaceHook(*connector_, ctx, workspace_id,
                                                 url, event_type));
    return absl::StrCat(id);
  }

  absl::StatusOr<std::vector<Webhook>> List(
      CallContext& ctx, const std::string& workspace_id) override {
    ASSIGN_OR_RETURN(std::vector<HookInfo> listed,
                     ListSpaceHooks(*connector_, ctx, workspace_id));
    std::vector<Webhook> out;
    out.reserve(listed.size());
    for (const HookInfo& h : listed) {
      out.push_back({absl::StrCat(h.hook_id), h.type, h.status == "active"});
    }
    return out;
  }

  absl::Status Confirm(CallContext& ctx,
                       const WebhookDelivery& delivery) override {
    return ValidateHook(*connector_, ctx, delivery.hook_id,
                        delivery.verify_code);
  }

  absl::Status Delete(CallContext& ctx, const std::string& hook_id) override {
    return DeleteHook(*connector_, ctx, hook_id);
  }

  absl::StatusOr<WebhookDelivery> ParseDelivery(
      absl::string_view body) const override {
    ASSIGN_OR_RETURN(HookDelivery d, ParseHookDelivery(body));
    WebhookDelivery out;
    out.hook_id = absl::StrCat(d.hook_id);
    out.verify = d.type == "hook.verify";
    out.verify_code = d.code;
    if (d.space_id > 0) out.workspace_id = absl::StrCat(d.space_id);
    if (d.user_id > 0) out.user_id = absl::StrCat(d.user_id);
    return out;
  }

 private:
  DirectoryConnector* const connector_;
};

}  // namespace

std::unique_ptr<WebhookSupport> NewPodioWebhooks(
    DirectoryConnector* connector) {
  return std::make_unique<PodioWebhooks>(connector);
}

}  // namespace unified::podio
