// Live reload of configuration files (the API keys and the encryption key
// ring): each is re-read when it changes on disk (checked every `interval`)
// and on demand (SIGHUP). A file that cannot be read or parsed keeps the
// previous configuration; the failure is logged (never the content) and
// counted. Thread-safe.
#ifndef SERVICE_API_CONFIG_RELOAD_H_
#define SERVICE_API_CONFIG_RELOAD_H_

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/api/observability.h"

namespace unified {

class ConfigReloader {
 public:
  struct File {
    std::string name;  // For logs and metrics: "api_keys", ...
    std::string path;
    // Reads and applies the file; an error leaves the configuration as it
    // was.
    std::function<absl::Status()> reload;
  };

  ConfigReloader(std::vector<File> files, Observability* observability,
                 absl::Duration interval);
  ~ConfigReloader();  // Stops watching.

  // Re-reads every file now (SIGHUP).
  void ReloadAll();

 private:
  struct Stamp {
    int64_t mtime_ns = 0, size = -1, inode = 0;
    bool operator!=(const Stamp& o) const {
      return mtime_ns != o.mtime_ns || size != o.size || inode != o.inode;
    }
  };
  static Stamp StampOf(const std::string& path);
  void Reload(size_t i) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::vector<File> files_;
  Observability* const observability_;
  absl::Mutex mu_;
  std::vector<Stamp> stamps_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread watcher_;
};

}  // namespace unified

#endif  // SERVICE_API_CONFIG_RELOAD_H_
