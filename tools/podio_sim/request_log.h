// The simulator's request log: every API call, for tests to assert on counts,
// spacing and headers. Bounded: the oldest entries are dropped past capacity.
#ifndef TOOLS_PODIO_SIM_REQUEST_LOG_H_
#define TOOLS_PODIO_SIM_REQUEST_LOG_H_

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

struct LoggedRequest {
  int64_t seq = 0;
  std::string method;
  std::string path;
  std::string query;
  std::string identity;  // Identity::Key(), or "" when unauthenticated.
  std::string authorization_scheme;  // "OAuth2", "Bearer", "" (never the token)
  std::string user_agent;
  absl::Time sim_time;
  absl::Time real_time;
  int status = 0;
  std::string fault;  // Injected fault kind, if any.
};

class RequestLog {
 public:
  explicit RequestLog(size_t capacity = 200000) : capacity_(capacity) {}

  void Add(LoggedRequest entry) {
    absl::MutexLock lock(&mu_);
    entry.seq = next_seq_++;
    entries_.push_back(std::move(entry));
    while (entries_.size() > capacity_) entries_.pop_front();
  }

  // Entries with seq >= `since`, oldest first.
  std::vector<LoggedRequest> Since(int64_t since) const {
    absl::MutexLock lock(&mu_);
    std::vector<LoggedRequest> out;
    for (const LoggedRequest& entry : entries_) {
      if (entry.seq >= since) out.push_back(entry);
    }
    return out;
  }

  // The seq the next entry will get.
  int64_t next_seq() const {
    absl::MutexLock lock(&mu_);
    return next_seq_;
  }

  void Clear() {
    absl::MutexLock lock(&mu_);
    entries_.clear();
  }

 private:
  const size_t capacity_;
  mutable absl::Mutex mu_;
  int64_t next_seq_ ABSL_GUARDED_BY(mu_) = 1;
  std::deque<LoggedRequest> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_REQUEST_LOG_H_
