#include "tools/podio_sim/faults.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"

namespace unified::podio_sim {
namespace {

const std::map<std::string, FaultKind>& KindsByName() {
  static const auto* kinds = new std::map<std::string, FaultKind>{
      {"latency", FaultKind::kLatency},
      {"status", FaultKind::kStatus},
      {"rate_limit", FaultKind::kRateLimit},
      {"unauthorized", FaultKind::kUnauthorized},
      {"reset", FaultKind::kReset},
      {"truncate", FaultKind::kTruncate},
      {"malformed_json", FaultKind::kMalformedJson},
      {"invalid_utf8", FaultKind::kInvalidUtf8},
      {"slow_body", FaultKind::kSlowBody},
  };
  return *kinds;
}

absl::StatusOr<FaultRule> RuleFromValue(const rapidjson::Value& value) {
  if (!value.IsObject()) {
    return absl::InvalidArgumentError("a fault rule must be a JSON object");
  }
  FaultRule rule;
  auto string_field = [&](const char* name, std::string* out) -> absl::Status {
    if (!value.HasMember(name)) return absl::OkStatus();
    if (!value[name].IsString()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault field '", name, "' must be a string"));
    }
    *out = value[name].GetString();
    return absl::OkStatus();
  };
  auto int_field = [&](const char* name, int64_t* out) -> absl::Status {
    if (!value.HasMember(name)) return absl::OkStatus();
    if (!value[name].IsInt64()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fault field '", name, "' must be an integer"));
    }
    *out = value[name].GetInt64();
    return absl::OkStatus();
  };
  std::string kind;
  int64_t latency_ms = 0, jitter_ms = 0, chunk_ms = 100, status = 500,
          wait_seconds = 300;
  for (absl::Status s :
       {string_field("method", &rule.method), string_field("path", &rule.path),
        string_field("kind", &kind), int_field("skip", &rule.skip),
        int_field("times", &rule.times), int_field("latency_ms", &latency_ms),
        int_field("jitter_ms", &jitter_ms),
        int_field("chunk_delay_ms", &chunk_ms), int_field("status", &status),
        int_field("wait_seconds", &wait_seconds)}) {
    if (!s.ok()) return s;
  }
  auto it = KindsByName().find(kind);
  if (it == KindsByName().end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown fault kind '", kind, "'"));
  }
  if (rule.path.empty()) rule.path = "*";
  if (latency_ms < 0 || jitter_ms < 0 || chunk_ms < 0 || rule.skip < 0 ||
      latency_ms > 600000 || jitter_ms > 600000 || chunk_ms > 60000 ||
      wait_seconds < 0 || wait_seconds > 86400) {
    return absl::InvalidArgumentError("fault durations out of range");
  }
  if (status < 100 || status > 599) {
    return absl::InvalidArgumentError("fault status must be 100..599");
  }
  rule.kind = it->second;
  rule.latency = absl::Milliseconds(latency_ms);
  rule.jitter = absl::Milliseconds(jitter_ms);
  rule.chunk_delay = absl::Milliseconds(chunk_ms);
  rule.status = static_cast<int>(status);
  rule.wait = absl::Seconds(wait_seconds);
  return rule;
}

}  // namespace

std::string FaultKindName(FaultKind kind) {
  for (const auto& [name, value] : KindsByName()) {
    if (value == kind) return name;
  }
  return "unknown";
}

absl::StatusOr<FaultRule> ParseFaultRule(const std::string& json) {
  rapidjson::Document doc;
  if (doc.Parse(json.c_str(), json.size()).HasParseError()) {
    return absl::InvalidArgumentError("fault rule is not valid JSON");
  }
  return RuleFromValue(doc);
}

absl::StatusOr<std::vector<FaultRule>> ParseFaultRules(
    const std::string& json) {
  rapidjson::Document doc;
  if (doc.Parse(json.c_str(), json.size()).HasParseError() || !doc.IsArray()) {
    return absl::InvalidArgumentError("faults must be a JSON array of rules");
  }
  std::vector<FaultRule> rules;
  for (const auto& value : doc.GetArray()) {
    absl::StatusOr<FaultRule> rule = RuleFromValue(value);
    if (!rule.ok()) return rule.status();
    rules.push_back(*rule);
  }
  return rules;
}

bool GlobMatch(const std::string& pattern, const std::string& path) {
  // Iterative wildcard match with backtracking to the last '*'.
  size_t p = 0, s = 0, star = std::string::npos, mark = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (star != std::string::npos) {
      p = star + 1;
      s = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

int64_t FaultInjector::Add(FaultRule rule) {
  absl::MutexLock lock(&mu_);
  rule.id = next_id_++;
  rule.seen = 0;
  rules_.push_back(rule);
  return rule.id;
}

void FaultInjector::Clear() {
  absl::MutexLock lock(&mu_);
  rules_.clear();
}

std::vector<FaultRule> FaultInjector::List() const {
  absl::MutexLock lock(&mu_);
  return rules_;
}

FaultInjector::Applied FaultInjector::Match(const std::string& method,
                                            const std::string& path) {
  absl::MutexLock lock(&mu_);
  Applied applied;
  for (FaultRule& rule : rules_) {
    if (!rule.method.empty() && rule.method != method) continue;
    if (!GlobMatch(rule.path, path)) continue;
    const int64_t index = rule.seen++;
    const bool due = index >= rule.skip &&
                     (rule.times < 0 || index < rule.skip + rule.times);
    if (!due) continue;
    if (rule.kind == FaultKind::kLatency) {
      if (!applied.latency) applied.latency = rule;
    } else if (!applied.fault) {
      applied.fault = rule;
    }
  }
  return applied;
}

}  // namespace unified::podio_sim
