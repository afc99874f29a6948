#include "tools/podio_sim/hooks.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tools/podio_sim/oauth.h"

namespace unified::podio_sim {
namespace {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string body;
  for (const auto& [key, value] : fields) {
    char* k = curl_easy_escape(nullptr, key.c_str(), key.size());
    char* v = curl_easy_escape(nullptr, value.c_str(), value.size());
    absl::StrAppend(&body, body.empty() ? "" : "&", k, "=", v);
    curl_free(k);
    curl_free(v);
  }
  return body;
}

// Splits "http://h:p/x?a=b" into ("http://h:p/x", "a=b") and finds the port.
bool ParseHookUrl(const std::string& url, std::string* base, std::string* query,
                  int* port) {
  const bool https = absl::StartsWith(url, "https://");
  if (!https && !absl::StartsWith(url, "http://")) return false;
  const size_t q = url.find('?');
  *base = url.substr(0, q);
  *query = q == std::string::npos ? "" : url.substr(q + 1);
  const size_t host_start = https ? 8 : 7;
  const size_t host_end = base->find('/', host_start);
  const std::string authority = base->substr(
      host_start, host_end == std::string::npos ? std::string::npos
                                                : host_end - host_start);
  if (authority.empty()) return false;
  const size_t colon = authority.rfind(':');
  *port = https ? 443 : 80;
  if (colon != std::string::npos &&
      !absl::SimpleAtoi(authority.substr(colon + 1), port)) {
    return false;
  }
  return true;
}

}  // namespace

HookRegistry::HookRegistry(HookOptions options)
    : options_(options), worker_([this] { Worker(); }) {}

HookRegistry::~HookRegistry() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
}

HookRegistry::CreateResult HookRegistry::Create(
    const std::string& ref_type, int64_t ref_id, const std::string& url,
    const std::string& type, int64_t created_by, absl::Time now) {
  CreateResult result;
  std::string base, query;
  int port = 0;
  if (!ParseHookUrl(url, &base, &query, &port)) {
    result.error = "invalid_value";
    result.description = "The url must be a valid http or https URL";
    return result;
  }
  if (options_.strict_ports && port != 80 && port != 443) {
    result.error = "invalid_value";
    result.description = "Hooks can only be sent to port 80 or 443";
    return result;
  }
  absl::MutexLock lock(&mu_);
  int same_type = 0;
  for (const auto& [id, hook] : hooks_) {
    if (hook.ref_type == ref_type && hook.ref_id == ref_id &&
        hook.type == type) {
      ++same_type;
    }
  }
  if (same_type >= options_.max_per_type) {
    result.error = "invalid_value";
    result.description = absl::StrCat("At most ", options_.max_per_type,
                                      " hooks of each type per object");
    return result;
  }
  Hook hook;
  hook.hook_id = next_id_++;
  hook.ref_type = ref_type;
  hook.ref_id = ref_id;
  hook.url = base;
  hook.query = query;
  hook.type = type;
  hook.created_on = now;
  hook.created_by = created_by;
  Hook& stored = hooks_[hook.hook_id] = hook;
  QueueVerify(stored);
  result.hook_id = hook.hook_id;
  return result;
}

void HookRegistry::QueueVerify(Hook& hook) {
  hook.verify_code = RandomToken().substr(0, 16);
  queue_.push_back(HookDelivery{hook.hook_id,
                                {{"type", "hook.verify"},
                                 {"hook_id", absl::StrCat(hook.hook_id)},
                                 {"code", hook.verify_code}}});
}

std::vector<Hook> HookRegistry::List(const std::string& ref_type,
                                     int64_t ref_id) const {
  absl::MutexLock lock(&mu_);
  std::vector<Hook> out;
  for (const auto& [id, hook] : hooks_) {
    if (hook.ref_type == ref_type && hook.ref_id == ref_id) out.push_back(hook);
  }
  return out;
}

std::vector<Hook> HookRegistry::ListAll() const {
  absl::MutexLock lock(&mu_);
  std::vector<Hook> out;
  for (const auto& entry : hooks_) out.push_back(entry.second);
  return out;
}

std::optional<Hook> HookRegistry::Get(int64_t hook_id) const {
  absl::MutexLock lock(&mu_);
  auto it = hooks_.find(hook_id);
  if (it == hooks_.end()) return std::nullopt;
  return it->second;
}

bool HookRegistry::Delete(int64_t hook_id) {
  absl::MutexLock lock(&mu_);
  return hooks_.erase(hook_id) > 0;
}

bool HookRegistry::RequestVerify(int64_t hook_id) {
  absl::MutexLock lock(&mu_);
  auto it = hooks_.find(hook_id);
  if (it == hooks_.end()) return false;
  QueueVerify(it->second);
  return true;
}

bool HookRegistry::Validate(int64_t hook_id, const std::string& code) {
  absl::MutexLock lock(&mu_);
  auto it = hooks_.find(hook_id);
  if (it == hooks_.end() || it->second.verify_code.empty() ||
      it->second.verify_code != code) {
    return false;
  }
  it->second.status = "active";
  return true;
}

void HookRegistry::Emit(
    const std::string& ref_type, int64_t ref_id, const std::string& event_type,
    const std::vector<std::pair<std::string, std::string>>& params) {
  absl::MutexLock lock(&mu_);
  for (const auto& [id, hook] : hooks_) {
    if (hook.ref_type != ref_type || hook.ref_id != ref_id ||
        hook.type != event_type || hook.status != "active") {
      continue;
    }
    if (drop_events_) {
      ++dropped_;
      continue;
    }
    HookDelivery delivery{
        id, {{"type", event_type}, {"hook_id", absl::StrCat(id)}}};
    delivery.fields.insert(delivery.fields.end(), params.begin(), params.end());
    queue_.push_back(std::move(delivery));
  }
}

void HookRegistry::SetDropEvents(bool drop) {
  absl::MutexLock lock(&mu_);
  drop_events_ = drop;
}

int64_t HookRegistry::dropped() const {
  absl::MutexLock lock(&mu_);
  return dropped_;
}

bool HookRegistry::Deactivate(int64_t hook_id) {
  absl::MutexLock lock(&mu_);
  auto it = hooks_.find(hook_id);
  if (it == hooks_.end()) return false;
  it->second.status = "inactive";
  return true;
}

bool HookRegistry::WaitIdle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.empty() && !busy_;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

bool HookRegistry::Post(const std::string& url, const std::string& body) {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return false;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE,
                   static_cast<long>(body.size()));
  curl_easy_setopt(
      curl.get(), CURLOPT_TIMEOUT_MS,
      static_cast<long>(absl::ToInt64Milliseconds(options_.timeout)));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl.get(), CURLOPT_USERAGENT, "Podio hook simulator");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Discard);
  if (curl_easy_perform(curl.get()) != CURLE_OK) return false;
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  return code >= 200 && code < 300;
}

void HookRegistry::Worker() {
  while (true) {
    HookDelivery delivery;
    std::string url;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      delivery = std::move(queue_.front());
      queue_.pop_front();
      auto it = hooks_.find(delivery.hook_id);
      if (it == hooks_.end()) continue;  // Deleted meanwhile.
      url = it->second.url;
      if (!it->second.query.empty()) {
        // Podio moves the URL's query parameters into the POST body.
        for (absl::string_view pair :
             absl::StrSplit(it->second.query, '&', absl::SkipEmpty())) {
          const size_t eq = pair.find('=');
          delivery.fields.push_back({std::string(pair.substr(0, eq)),
                                     eq == absl::string_view::npos
                                         ? ""
                                         : std::string(pair.substr(eq + 1))});
        }
      }
      busy_ = true;
    }
    const std::string body = FormEncode(delivery.fields);
    bool ok = false;
    for (int attempt = 0; attempt < options_.max_attempts && !ok; ++attempt) {
      if (attempt > 0) {
        absl::MutexLock lock(&mu_);
        auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_;
        };
        if (mu_.AwaitWithTimeout(absl::Condition(&stop),
                                 options_.retry_delay)) {
          busy_ = false;
          return;
        }
      }
      ok = Post(url, body);
    }
    absl::MutexLock lock(&mu_);
    busy_ = false;
    auto it = hooks_.find(delivery.hook_id);
    if (it == hooks_.end()) continue;
    if (ok) {
      ++it->second.delivered;
    } else {
      ++it->second.failed;
      it->second.status = "inactive";
    }
  }
}

}  // namespace unified::podio_sim
