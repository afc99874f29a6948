#include "connectors/common/read_ahead.h"

#include <algorithm>
#include <set>
#include <utility>

#include "connectors/common/request_pipeline.h"

namespace unified {

ReadAhead::ReadAhead(RequestPipeline* pipeline, const CallContext& ctx,
                     ReadAheadOptions options)
    : pipeline_(pipeline),
      shared_(std::make_shared<Shared>()),
      ctx_(ctx),
      options_(options),
      window_(std::max(1, options.initial_window)) {
  ctx_.cancelled = [shared = shared_, outer = ctx.cancelled] {
    return shared->closing.load() || (outer && outer());
  };
}

ReadAhead::~ReadAhead() {
  shared_->closing.store(true);
  pipeline_->PollCancelled();
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &shared_->in_flight));
  }
  // Whatever came back still tells the budget something.
  for (const auto& [path, entry] : entries_) LearnFrom(path, *entry);
  for (const auto& [path, entry] : given_up_) LearnFrom(path, *entry);
}

void ReadAhead::LearnFrom(const std::string& path, Entry& entry) {
  if (!entry.done || !entry.response.ok()) return;
  // Decoded first: a rate-limit answer names its wait in the body.
  entry.decoded = DecodeContent(*entry.response, options_.max_body_bytes).ok();
  pipeline_->Learn(ctx_, path, *entry.response);
}

void ReadAhead::Reap() {
  for (auto it = given_up_.begin(); it != given_up_.end();) {
    bool done;
    {
      absl::MutexLock lock(&shared_->mu);
      done = it->second->done;
    }
    if (!done) {
      ++it;
      continue;
    }
    LearnFrom(it->first, *it->second);
    it = given_up_.erase(it);
  }
}

void ReadAhead::Plan(const std::vector<std::string>& paths, bool start_first) {
  const std::set<std::string> planned(paths.begin(), paths.end());
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (planned.count(it->first)) {
      ++it;
      continue;
    }
    given_up_.emplace_back(it->first, std::move(it->second));
    it = entries_.erase(it);
  }
  Reap();
  if (!start_first && !paths.empty() && paths.size() > 1 &&
      !entries_.count(paths[0])) {
    // The page needed now was not read ahead: latency dominates, and the
    // pages guessed after it are read at once, as far as the window goes.
    window_ =
        std::min(options_.max_window,
                 std::max(window_ * 2, static_cast<int>(paths.size()) - 1));
  }
  for (size_t i = start_first ? 0 : 1; i < paths.size(); ++i) {
    const std::string& path = paths[i];
    if (entries_.count(path)) continue;
    if (static_cast<int>(entries_.size() + given_up_.size()) >= window_) break;
    auto entry = std::make_shared<Entry>();
    if (ctx_.read_ahead != nullptr) {
      // The tenant's listings hold as many pages ahead as they may: the
      // rest is read when needed.
      if (!ctx_.read_ahead->TryTake()) break;
      entry->allowance = ctx_.read_ahead;
    }
    {
      absl::MutexLock lock(&shared_->mu);
      ++shared_->in_flight;
    }
    absl::Status started = pipeline_->StartAhead(
        ctx_, path, options_.budget_reserve,
        [entry, shared = shared_](absl::StatusOr<HttpResponse> response) {
          absl::MutexLock lock(&shared->mu);
          entry->response = std::move(response);
          entry->done = true;
          --shared->in_flight;
        });
    if (!started.ok()) {
      absl::MutexLock lock(&shared_->mu);
      --shared_->in_flight;
      break;  // No budget or token to spare now: the rest waits its turn.
    }
    ++started_;
    entries_.emplace(path, std::move(entry));
  }
}

std::optional<HttpResponse> ReadAhead::Take(const std::string& path) {
  auto it = entries_.find(path);
  if (it == entries_.end()) return std::nullopt;
  std::shared_ptr<Entry> entry = std::move(it->second);
  entries_.erase(it);
  bool waited = false;
  size_t ready = 0;
  {
    absl::MutexLock lock(&shared_->mu);
    waited = !entry->done;
    shared_->mu.Await(absl::Condition(&entry->done));
    for (const auto& [p, other] : entries_) ready += other->done ? 1 : 0;
  }
  // Waiting means latency dominates: more in flight. Every other answer
  // already back means the reader is the bottleneck: one fewer. (Answers
  // started together come back together: some being back says nothing.)
  if (waited) {
    window_ = std::min(options_.max_window, window_ * 2);
  } else if (ready >= 2 && ready == entries_.size()) {
    window_ = std::max(std::max(1, options_.initial_window), window_ - 1);
  }
  LearnFrom(path, *entry);
  if (!entry->response.ok() || !entry->decoded ||
      !pipeline_->IsFinal(*entry->response)) {
    return std::nullopt;
  }
  ++used_;
  return std::move(*entry->response);
}

absl::StatusOr<HttpResponse> ReadAhead::Get(const std::string& path) {
  if (std::optional<HttpResponse> answer = Take(path)) {
    return std::move(*answer);
  }
  return pipeline_->Get(ctx_, path);
}

}  // namespace unified
