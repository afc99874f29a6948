#include "service/api/link_flow.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "connectors/common/error_details.h"
#include "connectors/common/http_client.h"
#include "connectors/common/status_macros.h"
#include "connectors/common/url_host.h"
#include "service/api/arguments.h"
#include "service/core/proto_time.h"
#include "service/link/link_pages.h"

namespace unified {
namespace {

using accounts::AccountRecord;
using link::LinkSession;

constexpr int kDefaultTtlSeconds = 600;
constexpr int kMinTtlSeconds = 60;
constexpr int kMaxTtlSeconds = 3600;
constexpr size_t kMaxDisplayNameBytes = 100;
constexpr size_t kMaxStateBytes = 200;
// What the page's messages to the opener carry, so that the SDK can tell
// them from other messages.
constexpr char kMessageSource[] = "unified-link";

std::string Arg(const std::map<std::string, std::string>& args,
                const char* name) {
  auto it = args.find(name);
  return it == args.end() ? "" : it->second;
}

std::string ModeOf(const std::string& mode) {
  return mode == "popup" ? "popup" : "redirect";
}

// `url` with `args` appended to its query.
std::string WithQuery(
    const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& args) {
  std::string out = url;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : args) {
    absl::StrAppend(&out, std::string(1, separator), name, "=",
                    UrlEncode(value));
    separator = '&';
  }
  return out;
}

// A JSON string literal safe inside a <script> block: no '<', '>' or '&'
// (so no "</script>"), and no line separators.
std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else if (c == 0xe2 && i + 2 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(text[i + 2]) & 0xfe) == 0xa8) {
      absl::StrAppend(&out, static_cast<unsigned char>(text[i + 2]) == 0xa8
                                ? "\\u2028"
                                : "\\u2029");
      i += 2;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// A member of JsonObject: a string, or (`object`) a JsonObject's text.
struct JsonField {
  std::string name;
  std::string value;
  bool object = false;
};

std::string JsonObject(const std::vector<JsonField>& fields) {
  std::string out = "{";
  for (const JsonField& field : fields) {
    if (out.size() > 1) out += ",";
    absl::StrAppend(&out, JsonString(field.name), ":",
                    field.object ? field.value : JsonString(field.value));
  }
  return out + "}";
}

// Every answer of the flow: private, framed by nobody, own origin only.
HttpAnswer Guarded(HttpAnswer answer) {
  answer.private_page = true;
  answer.headers.emplace_back("Content-Security-Policy",
                              link::kContentSecurityPolicy);
  answer.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return answer;
}

HttpAnswer PageAnswer(int status, absl::string_view title,
                      const std::string& content) {
  return Guarded(HtmlAnswer(status, link::Page(title, content)));
}

std::string AppName(const LinkSession& session) {
  return session.display_name.empty() ? "the application"
                                      : session.display_name;
}

std::string BackUrl(const LinkSession& session, const std::string& error) {
  return WithQuery(session.return_url,
                   {{"error", error}, {"state", session.state}});
}

// A page that only says something, with a way back to the SaaS's page
// (none when the session is unknown).
HttpAnswer MessagePage(int status, absl::string_view title,
                       const std::string& message, const LinkSession* session,
                       const std::string& error) {
  return PageAnswer(
      status, title,
      link::Render("message.html",
                   {{"message", message},
                    {"back_url", session == nullptr ? "about:blank"
                                                    : BackUrl(*session, error)},
                    {"app", session == nullptr ? "the application"
                                               : AppName(*session)}}));
}

// The page of a token no session has (nor ever had, as far as anyone can
// tell): no way back, since the return URL is the session's.
HttpAnswer UnknownLink() {
  return MessagePage(404, "Link not valid",
                     "This link is not valid. Ask the application for a new "
                     "one.",
                     nullptr, "");
}

absl::Status CheckReturnUrl(const std::string& url) {
  RETURN_IF_ERROR(CheckArgument(url, "return_url", kMaxUriBytes));
  absl::StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok() || url.find('#') != std::string::npos ||
      (!parsed->https && !IsLoopbackHost(parsed->host))) {
    return Invalid(
        "return_url must be an absolute https URL (or http on a loopback "
        "host) without a fragment",
        "INVALID_RETURN_URL");
  }
  return absl::OkStatus();
}

}  // namespace

std::string LinkPageUrl(const std::string& callback_uri,
                        const std::string& listener_url) {
  constexpr absl::string_view kCallback = "/oauth/callback";
  absl::string_view base = callback_uri;
  if (!absl::ConsumeSuffix(&base, kCallback)) base = listener_url;
  return absl::StrCat(base, "/link");
}

absl::StatusOr<std::string> OriginOf(const std::string& url) {
  ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url));
  const std::string host = absl::AsciiStrToLower(parsed.host);
  const int standard = parsed.https ? 443 : 80;
  std::string origin = absl::StrCat(parsed.https ? "https://" : "http://",
                                    host.find(':') != std::string::npos
                                        ? absl::StrCat("[", host, "]")
                                        : host);
  if (parsed.port != 0 && parsed.port != standard) {
    absl::StrAppend(&origin, ":", parsed.port);
  }
  return origin;
}

absl::Status LinkFlow::CreateSession(
    const std::string& tenant, const v1::CreateLinkSessionRequest& request,
    v1::CreateLinkSessionResponse* response) {
  RETURN_IF_ERROR(CheckArgument(request.end_customer_id(), "end_customer_id",
                                kMaxEndCustomerIdBytes));
  RETURN_IF_ERROR(CheckArgument(request.display_name(), "display_name",
                                kMaxDisplayNameBytes, false));
  RETURN_IF_ERROR(
      CheckArgument(request.state(), "state", kMaxStateBytes, false));
  RETURN_IF_ERROR(CheckArgument(request.integrated_account_id(),
                                "integrated_account_id", kMaxIdBytes, false));
  RETURN_IF_ERROR(CheckReturnUrl(request.return_url()));
  const int ttl =
      request.ttl_seconds() == 0 ? kDefaultTtlSeconds : request.ttl_seconds();
  if (ttl < kMinTtlSeconds || ttl > kMaxTtlSeconds) {
    return Invalid("ttl_seconds must be between 60 and 3600 (0 means 600)",
                   "INVALID_TTL");
  }
  LinkSession session;
  for (const std::string& provider : request.providers()) {
    ASSIGN_OR_RETURN(ProviderAuth * auth, oauth_->AuthFor(provider));
    if (std::find(session.providers.begin(), session.providers.end(),
                  auth->provider()) == session.providers.end()) {
      session.providers.push_back(auth->provider());
    }
  }
  if (!request.integrated_account_id().empty()) {
    // Re-authorization: the account's own provider only.
    ASSIGN_OR_RETURN(AccountRecord existing,
                     accounts_->Get(tenant, request.integrated_account_id()));
    if (!session.providers.empty() &&
        std::find(session.providers.begin(), session.providers.end(),
                  existing.provider) == session.providers.end()) {
      return Invalid("providers does not include the account's provider",
                     "UNKNOWN_PROVIDER");
    }
    session.providers = {existing.provider};
  }
  if (session.providers.empty()) session.providers = options_.providers;
  const link::NewToken token = link::MakeLinkToken();
  if (token.token.empty()) {
    return absl::InternalError("no randomness for a link token");
  }
  const absl::Time now = oauth_->clock()->Now();
  session.token_hash = token.hash;
  session.tenant = tenant;
  session.end_customer_id = request.end_customer_id();
  session.display_name = request.display_name();
  session.account_id = request.integrated_account_id();
  session.return_url = request.return_url();
  session.state = request.state();
  session.expires = now + absl::Seconds(ttl);
  RETURN_IF_ERROR(sessions_->Create(session, now));
  response->set_link_token(token.token);
  response->set_url(
      WithQuery(options_.page_url, {{"link_token", token.token}}));
  *response->mutable_expire_time() = ToTimestamp(session.expires);
  return absl::OkStatus();
}

struct LinkFlow::Loaded {
  std::optional<LinkSession> session;
  HttpAnswer refusal;
};

struct LinkFlow::Step {
  std::string token;
  std::string mode;
  std::string provider;
  Loaded loaded;
};

LinkFlow::Loaded LinkFlow::Load(const std::string& link_token,
                                const std::string& mode) {
  if (link_token.empty() || link_token.size() > 128) {
    return {std::nullopt, UnknownLink()};
  }
  return LoadByHash(link::HashLinkToken(link_token), mode);
}

LinkFlow::Loaded LinkFlow::LoadByHash(const std::string& hash,
                                      const std::string& mode) {
  absl::StatusOr<LinkSession> session = sessions_->Get(hash);
  if (!session.ok()) {
    if (session.status().code() == absl::StatusCode::kNotFound) {
      return {std::nullopt, UnknownLink()};
    }
    return {std::nullopt,
            MessagePage(503, "Try again later",
                        "The service cannot open this link right now. Try "
                        "again in a moment.",
                        nullptr, "")};
  }
  if (session->used_up()) {
    return {std::nullopt,
            MessagePage(410, "Link already used",
                        "This link was used already: each link connects one "
                        "account. Ask the application for a new one.",
                        &*session, "link_used")};
  }
  if (oauth_->clock()->Now() >= session->expires) {
    return {std::nullopt,
            MessagePage(410, "Link expired",
                        "This link has expired. Ask the application for a "
                        "new one.",
                        &*session, "link_expired")};
  }
  if (session->failures >= kMaxFailures) {
    return {std::nullopt,
            MessagePage(429, "Too many attempts",
                        "Too many attempts failed with this link. Ask the "
                        "application for a new one.",
                        &*session, "too_many_attempts")};
  }
  return {std::move(session).value(), HttpAnswer()};
}

bool LinkFlow::Offers(const LinkSession& session,
                      const std::string& provider) const {
  return std::find(session.providers.begin(), session.providers.end(),
                   provider) != session.providers.end() &&
         accounts_->auth(provider) != nullptr;
}

HttpAnswer LinkFlow::Show(const std::map<std::string, std::string>& query) {
  const std::string token = Arg(query, "link_token");
  const std::string mode = ModeOf(Arg(query, "mode"));
  Loaded loaded = Load(token, mode);
  if (!loaded.session) return loaded.refusal;
  const LinkSession& session = *loaded.session;
  std::string buttons;
  for (const std::string& provider : session.providers) {
    if (!Offers(session, provider)) continue;
    const ProviderAuth::LinkPage page = accounts_->auth(provider)->link_page();
    absl::StrAppend(&buttons,
                    link::Render("provider_button.html",
                                 {{"link_token", token},
                                  {"mode", mode},
                                  {"provider", provider},
                                  {"label", "Connect " + page.label}}));
  }
  const std::string lead =
      session.display_name.empty()
          ? "Choose the account to connect."
          : absl::StrCat("Choose the account to connect to ",
                         session.display_name, ".");
  return PageAnswer(200,
                    session.account_id.empty() ? "Connect an account"
                                               : "Reconnect your account",
                    link::Render("picker.html",
                                 {{"lead", lead},
                                  {"providers", buttons},
                                  {"cancel_url", BackUrl(session, "cancelled")},
                                  {"app", AppName(session)}}));
}

LinkFlow::Step LinkFlow::Posted(const std::map<std::string, std::string>& form,
                                bool token_form) {
  Step step;
  step.token = Arg(form, "link_token");
  step.mode = ModeOf(Arg(form, "mode"));
  step.provider = Arg(form, "provider");
  step.loaded = Load(step.token, step.mode);
  if (!step.loaded.session) return step;
  const LinkSession& session = *step.loaded.session;
  if (!Offers(session, step.provider) ||
      (token_form && accounts_->auth(step.provider)->link_page().consent)) {
    step.loaded.refusal = MessagePage(400, "Provider not offered",
                                      "This link does not offer that provider.",
                                      &session, "provider_not_offered");
    step.loaded.session.reset();
  }
  return step;
}

HttpAnswer LinkFlow::Start(const std::map<std::string, std::string>& form) {
  Step step = Posted(form, /*token_form=*/false);
  if (!step.loaded.session) return step.loaded.refusal;
  const LinkSession& session = *step.loaded.session;
  const std::string& mode = step.mode;
  const std::string& provider = step.provider;
  if (!accounts_->auth(provider)->link_page().consent) {
    return TokenForm(session, step.token, mode, provider, "", 200);
  }
  OAuthState state;
  state.tenant = session.tenant;
  state.account_id = session.account_id;
  state.provider = provider;
  state.link_hash = session.token_hash;
  state.mode = mode;
  absl::StatusOr<OAuthFlow::Started> started = oauth_->Start(std::move(state));
  if (!started.ok()) {
    return MessagePage(502, "Cannot reach the provider",
                       "The provider's consent page cannot be opened right "
                       "now.",
                       &session, "provider_error");
  }
  return Guarded(RedirectAnswer(started->authorization_url));
}

HttpAnswer LinkFlow::TokenForm(const LinkSession& session,
                               const std::string& link_token,
                               const std::string& mode,
                               const std::string& provider,
                               const std::string& error, int status) {
  const ProviderAuth::LinkPage page = accounts_->auth(provider)->link_page();
  return PageAnswer(
      status, absl::StrCat("Connect ", page.label),
      link::Render(
          "token_form.html",
          {{"lead",
            absl::StrCat("Enter the ", page.token_label, " of the ", page.label,
                         " to connect to ", AppName(session), ".")},
           {"error", error.empty() ? ""
                                   : link::Render("form_error.html",
                                                  {{"message", error}})},
           {"link_token", link_token},
           {"mode", mode},
           {"provider", provider},
           {"credential_label", page.token_label},
           {"cancel_url", BackUrl(session, "cancelled")},
           {"app", AppName(session)}}));
}

absl::StatusOr<AccountRecord> LinkFlow::ClaimAndLink(
    const LinkSession& session,
    const std::function<absl::StatusOr<AccountRecord>()>& link) {
  RETURN_IF_ERROR(sessions_->Claim(session.token_hash, oauth_->clock()->Now()));
  absl::StatusOr<AccountRecord> linked = link();
  if (!linked.ok()) {
    // The customer may try again with the same link (up to kMaxFailures).
    (void)sessions_->Release(session.token_hash);
    (void)sessions_->AddFailure(session.token_hash);
    return linked.status();
  }
  (void)sessions_->Finish(session.token_hash, linked->id);
  return linked;
}

HttpAnswer LinkFlow::SubmitToken(
    const std::map<std::string, std::string>& form) {
  Step step = Posted(form, /*token_form=*/true);
  if (!step.loaded.session) return step.loaded.refusal;
  const LinkSession& session = *step.loaded.session;
  const std::string& token = step.token;
  const std::string& mode = step.mode;
  const std::string& provider = step.provider;
  Grant tokens;
  tokens.access_token = Arg(form, "credential");
  if (!CheckArgument(tokens.access_token, "credential", kMaxSecretBytes).ok()) {
    return TokenForm(session, token, mode, provider,
                     "Enter a token: one line, without spaces around it.", 422);
  }
  absl::StatusOr<AccountRecord> linked = ClaimAndLink(session, [&] {
    return accounts_->Import(session.tenant, provider, tokens,
                             session.account_id, session.end_customer_id);
  });
  if (linked.ok()) return Success(session, mode, *linked);
  switch (linked.status().code()) {
    case absl::StatusCode::kAlreadyExists:
      return LoadByHash(session.token_hash, mode).refusal;
    case absl::StatusCode::kInvalidArgument:
      return TokenForm(session, token, mode, provider,
                       "The provider refused this token.", 422);
    case absl::StatusCode::kFailedPrecondition:
      return TokenForm(session, token, mode, provider,
                       "This token is for another account than the one to "
                       "reconnect.",
                       422);
    default:
      return TokenForm(session, token, mode, provider,
                       "The provider could not be reached. Try again.", 502);
  }
}

HttpAnswer LinkFlow::AfterConsent(
    const std::map<std::string, std::string>& query, const OAuthState& state) {
  Loaded loaded = LoadByHash(state.link_hash, state.mode);
  if (!loaded.session) return loaded.refusal;
  const LinkSession& session = *loaded.session;
  const std::string mode = ModeOf(state.mode);
  if (const std::string error = Arg(query, "error"); !error.empty()) {
    // Consent refused (or the provider refused the request): the reason
    // as a word the SaaS's page can test.
    std::string reason;
    for (char c : error.substr(0, 64)) {
      reason.push_back(absl::ascii_isalnum(c) ? absl::ascii_tolower(c) : '_');
    }
    return Exit(session, mode, reason, "The account was not connected.", 200);
  }
  absl::StatusOr<AccountRecord> linked = ClaimAndLink(session, [&] {
    absl::StatusOr<OAuthFlow::Redeemed> redeemed =
        oauth_->Redeem(session.tenant, Arg(query, "code"), Arg(query, "state"),
                       /*link_page=*/true);
    if (!redeemed.ok()) return absl::StatusOr<AccountRecord>(redeemed.status());
    return accounts_->Link(session.tenant, redeemed->auth->provider(),
                           redeemed->grant, "authorization_code",
                           session.account_id, session.end_customer_id);
  });
  if (linked.ok()) return Success(session, mode, *linked);
  if (linked.status().code() == absl::StatusCode::kAlreadyExists) {
    return LoadByHash(session.token_hash, mode).refusal;
  }
  return MessagePage(
      linked.status().code() == absl::StatusCode::kInvalidArgument ? 400 : 502,
      "Account not connected",
      linked.status().code() == absl::StatusCode::kFailedPrecondition
          ? "The account you consented with is not the one to reconnect."
          : "The provider did not accept the consent. Return and try again.",
      &session, "provider_error");
}

namespace {

// The answer that ends the flow: a 303 to `back` (the redirect flow), or
// in a popup the page whose script posts `message` to the session's origin
// only (link.js), with `back` as its link.
HttpAnswer Finish(const LinkSession& session, const std::string& mode,
                  const std::string& back, const std::string& message,
                  int status, absl::string_view title,
                  const std::string& text) {
  if (mode != "popup") return Guarded(RedirectAnswer(back));
  const std::string origin = OriginOf(session.return_url).value_or("");
  return PageAnswer(
      status, title,
      link::Render("result.html",
                   {{"message", text},
                    {"result_json", JsonObject({{"mode", mode},
                                                {"origin", origin},
                                                {"message", message, true},
                                                {"redirect", back}})},
                    {"back_url", back},
                    {"app", AppName(session)}}));
}

}  // namespace

HttpAnswer LinkFlow::Success(const LinkSession& session,
                             const std::string& mode,
                             const AccountRecord& account) {
  const std::string back = WithQuery(
      session.return_url,
      {{"integrated_account_id", account.id}, {"state", session.state}});
  return Finish(session, mode, back,
                JsonObject({{"source", kMessageSource},
                            {"type", "success"},
                            {"integrated_account_id", account.id},
                            {"provider", account.provider},
                            {"state", session.state}}),
                200, "Account connected",
                "Account connected. You can close this window.");
}

HttpAnswer LinkFlow::Exit(const LinkSession& session, const std::string& mode,
                          const std::string& reason, const std::string& message,
                          int status) {
  return Finish(session, mode, BackUrl(session, reason),
                JsonObject({{"source", kMessageSource},
                            {"type", "exit"},
                            {"reason", reason},
                            {"state", session.state}}),
                status, "Account not connected", message);
}

}  // namespace unified
