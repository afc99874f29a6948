// Raw upstream answers fetched ahead of need by a stream: the speculative
// downloads run in parallel, while decoding stays sequential in the stream's
// producer, so parallelism costs one raw body per page ahead instead of a
// decoded page. Keyed by request path; bounded; thread-safe.
#ifndef CONNECTORS_COMMON_PREFETCH_CACHE_H_
#define CONNECTORS_COMMON_PREFETCH_CACHE_H_

#include <deque>
#include <map>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"

namespace unified {

class PrefetchCache {
 public:
  explicit PrefetchCache(size_t capacity = 4) : capacity_(capacity) {}

  // Claims `key` for a download; false when it is already claimed or held,
  // or the cache is full.
  bool Begin(const std::string& key) {
    absl::MutexLock lock(&mu_);
    if (entries_.count(key) || entries_.size() >= capacity_) return false;
    entries_[key] = Entry{};
    return true;
  }

  // Completes a claimed download; nullopt when it failed (the consumer then
  // fetches for itself, with its own retries and refresh).
  void Finish(const std::string& key, std::optional<std::string> body) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    it->second.done = true;
    it->second.body = std::move(body);
  }

  // The body downloaded for `key`, waiting for a download in progress;
  // nullopt when none was made or it failed. Removes the entry.
  std::optional<std::string> Take(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return entries_.at(key).done;
    };
    mu_.Await(absl::Condition(&done));
    it = entries_.find(key);
    std::optional<std::string> body = std::move(it->second.body);
    entries_.erase(it);
    return body;
  }

 private:
  struct Entry {
    bool done = false;
    std::optional<std::string> body;
  };
  const size_t capacity_;
  absl::Mutex mu_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_PREFETCH_CACHE_H_
