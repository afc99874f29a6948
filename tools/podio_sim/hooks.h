// Podio hooks (webhooks) in the simulator: registration, the hook.verify
// handshake and delivery of events as form-encoded POSTs (docs/podio.md §6).
//
// Delivery policy (Podio publishes none; documented in
// tools/podio_sim/README.md): each delivery is tried up to `max_attempts`
// times, `retry_delay` apart; when every attempt fails (transport error or
// non-2xx) the hook becomes inactive and gets no further events until verified
// again. Deliveries run on one worker thread, in the order the events happened.
#ifndef TOOLS_PODIO_SIM_HOOKS_H_
#define TOOLS_PODIO_SIM_HOOKS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace unified::podio_sim {

struct HookOptions {
  int max_attempts = 3;
  absl::Duration retry_delay = absl::Seconds(1);  // Real time.
  absl::Duration timeout = absl::Seconds(15);     // Per attempt.
  bool strict_ports = false;  // Podio: only ports 80 and 443.
  int max_per_type = 10;      // Hooks of one type per object.
};

struct Hook {
  int64_t hook_id = 0;
  std::string ref_type;  // "space", "app", ...
  int64_t ref_id = 0;
  std::string url;    // Without its query string.
  std::string query;  // Query string stripped from the URL, sent in the body.
  std::string type;   // "member.add", ...
  std::string status = "inactive";  // "active" | "inactive"
  std::string verify_code;
  absl::Time created_on;
  int64_t created_by = 0;
  int64_t delivered = 0;  // Successful deliveries.
  int64_t failed = 0;     // Deliveries given up on.
};

struct HookDelivery {
  int64_t hook_id;
  // Form fields (type, hook_id and the event's own).
  std::vector<std::pair<std::string, std::string>> fields;
};

class HookRegistry {
 public:
  explicit HookRegistry(HookOptions options);
  ~HookRegistry();  // Stops the worker; undelivered events are dropped.

  // Validates and registers; then queues the hook.verify handshake. Returns
  // the new id, or an error description (ApiError-style code in `error`).
  struct CreateResult {
    int64_t hook_id = 0;
    std::string error;  // "" on success.
    std::string description;
  };
  CreateResult Create(const std::string& ref_type, int64_t ref_id,
                      const std::string& url, const std::string& type,
                      int64_t created_by, absl::Time now);

  std::vector<Hook> List(const std::string& ref_type, int64_t ref_id) const;
  std::optional<Hook> Get(int64_t hook_id) const;
  std::vector<Hook> ListAll() const;
  bool Delete(int64_t hook_id);
  // Queues a new hook.verify with a fresh code. False if no such hook.
  bool RequestVerify(int64_t hook_id);
  // Activates the hook if `code` matches its last verify code.
  bool Validate(int64_t hook_id, const std::string& code);

  // Queues `event_type` with `params` to every active hook on (ref_type,
  // ref_id) of that type.
  void Emit(const std::string& ref_type, int64_t ref_id,
            const std::string& event_type,
            const std::vector<std::pair<std::string, std::string>>& params);

  // While set, events are dropped instead of delivered (a lost delivery;
  // hooks stay active). hook.verify still goes out. Counted in `dropped`.
  void SetDropEvents(bool drop);
  int64_t dropped() const;
  // Marks a hook inactive, as Podio does after failed deliveries. False if
  // no such hook.
  bool Deactivate(int64_t hook_id);

  // Blocks until the queue is empty and no delivery is in flight, or the
  // timeout passes. True when drained. For tests and the admin API.
  bool WaitIdle(absl::Duration timeout);

 private:
  void Worker();
  void QueueVerify(Hook& hook) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Post(const std::string& url, const std::string& body);

  const HookOptions options_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool drop_events_ ABSL_GUARDED_BY(mu_) = false;
  int64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<int64_t, Hook> hooks_ ABSL_GUARDED_BY(mu_);
  std::deque<HookDelivery> queue_ ABSL_GUARDED_BY(mu_);
  std::thread worker_;
};

}  // namespace unified::podio_sim

#endif  // TOOLS_PODIO_SIM_HOOKS_H_
