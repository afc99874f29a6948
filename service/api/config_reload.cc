#include "service/api/config_reload.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"

namespace unified {

ConfigReloader::ConfigReloader(std::vector<File> files,
                               Observability* observability,
                               absl::Duration interval)
    : files_(std::move(files)), observability_(observability) {
  {
    absl::MutexLock lock(&mu_);
    for (const File& f : files_) stamps_.push_back(StampOf(f.path));
  }
  watcher_ = std::thread([this, interval] {
    absl::MutexLock lock(&mu_);
    auto stopping = [this]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    while (!mu_.AwaitWithTimeout(absl::Condition(&stopping), interval)) {
      for (size_t i = 0; i < files_.size(); ++i) {
        if (StampOf(files_[i].path) != stamps_[i]) Reload(i);
      }
    }
  });
}

ConfigReloader::~ConfigReloader() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  watcher_.join();
}

void ConfigReloader::ReloadAll() {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < files_.size(); ++i) Reload(i);
}

ConfigReloader::Stamp ConfigReloader::StampOf(const std::string& path) {
  Stamp stamp;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    stamp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                     st.st_mtim.tv_nsec;
    stamp.size = st.st_size;
    stamp.inode = static_cast<int64_t>(st.st_ino);
  }
  return stamp;
}

void ConfigReloader::Reload(size_t i) {
  const File& file = files_[i];
  stamps_[i] = StampOf(file.path);
  const absl::Status status = file.reload();
  observability_->OnReload(file.name, status.ok() ? "ok" : "error");
  if (status.ok()) {
    observability_->Log(LogLevel::kInfo, "configuration reloaded",
                        absl::StrCat("\"file\":", JsonQuote(file.name)));
  } else {
    // The message names the file and what is wrong, never its content.
    observability_->Log(
        LogLevel::kError, "configuration not reloaded; the previous one stays",
        absl::StrCat("\"file\":", JsonQuote(file.name),
                     ",\"error\":", JsonQuote(status.message())));
  }
}

}  // namespace unified
