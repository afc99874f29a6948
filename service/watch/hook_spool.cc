#include "service/watch/hook_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace unified::watch {
namespace {

// Tab-separated, each field C-escaped (no tab or newline survives raw).
std::string Line(const SpooledDelivery& d) {
  return absl::StrCat(
      absl::StrJoin(
          {absl::CEscape(d.account.tenant), absl::CEscape(d.account.account_id),
           absl::CEscape(d.workspace_id), absl::CEscape(d.user_id),
           absl::StrCat(absl::ToUnixMillis(d.at))},
          "\t"),
      "\n");
}

bool Parse(absl::string_view line, SpooledDelivery* d) {
  std::vector<absl::string_view> f = absl::StrSplit(line, '\t');
  int64_t millis = 0;
  return f.size() == 5 && absl::CUnescape(f[0], &d->account.tenant) &&
         absl::CUnescape(f[1], &d->account.account_id) &&
         absl::CUnescape(f[2], &d->workspace_id) &&
         absl::CUnescape(f[3], &d->user_id) &&
         absl::SimpleAtoi(f[4], &millis) &&
         (d->at = absl::FromUnixMillis(millis), true);
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

absl::Status WriteDurably(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return absl::UnavailableError("cannot write the hook spool");
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) return absl::UnavailableError("cannot sync the spool");
  return absl::OkStatus();
}

}  // namespace

HookSpool::HookSpool(std::string path, int max_entries, int entries)
    : path_(std::move(path)), max_entries_(max_entries), entries_(entries) {}

absl::StatusOr<std::unique_ptr<HookSpool>> HookSpool::Open(std::string path,
                                                           int max_entries) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the hook spool ", path));
  }
  close(fd);
  const int entries = static_cast<int>(ReadLines(path).size());
  return std::unique_ptr<HookSpool>(
      new HookSpool(std::move(path), max_entries, entries));
}

absl::Status HookSpool::Add(const SpooledDelivery& d) {
  absl::MutexLock lock(&mu_);
  if (entries_ >= max_entries_) {
    return absl::ResourceExhaustedError("the hook spool is full");
  }
  const int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) return absl::UnavailableError("cannot open the hook spool");
  absl::Status written = WriteDurably(fd, Line(d));
  close(fd);
  if (written.ok()) ++entries_;
  return written;
}

absl::StatusOr<int> HookSpool::Replay(
    const std::function<absl::Status(const SpooledDelivery&)>& mark) {
  absl::MutexLock lock(&mu_);
  if (entries_ == 0) return 0;
  const std::vector<std::string> lines = ReadLines(path_);
  size_t taken = 0;
  for (; taken < lines.size(); ++taken) {
    SpooledDelivery d;
    if (!Parse(lines[taken], &d)) continue;  // Damaged: dropped.
    if (!mark(d).ok()) break;
  }
  // What is left, written whole and renamed over the spool.
  std::string rest;
  for (size_t i = taken; i < lines.size(); ++i) {
    absl::StrAppend(&rest, lines[i], "\n");
  }
  const std::string temp = path_ + ".new";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::UnavailableError("cannot rewrite the hook spool");
  absl::Status written = WriteDurably(fd, rest);
  close(fd);
  if (!written.ok() || std::rename(temp.c_str(), path_.c_str()) != 0) {
    unlink(temp.c_str());
    return absl::UnavailableError("cannot rewrite the hook spool");
  }
  entries_ = static_cast<int>(lines.size() - taken);
  return static_cast<int>(taken);
}

int HookSpool::size() const {
  absl::MutexLock lock(&mu_);
  return entries_;
}

}  // namespace unified::watch
