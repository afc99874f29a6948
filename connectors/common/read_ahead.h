// Reading a listing's pages ahead of need (docs/streaming.md): the GETs a
// listing iterator will make next are started at once on the pipeline's
// async client (libcurl's multi interface: one event-loop thread, kept-alive
// connections), so page latencies overlap instead of adding up, while
// decoding, parsing and mapping stay in the iterator's own thread. Answers
// wait gzipped, as they came.
//
// How many are in flight adapts: the window doubles whenever the iterator
// had to wait for a page (latency dominates), and widens to every page
// guessed when the page needed was not read ahead at all; it shrinks by one
// when pages were already waiting for it (the iterator, or the client
// reading behind it, is the bottleneck). Nothing is started but on the
// iterator's call, so a client that stops reading stops the reading ahead. Each
// request takes a budget slot only when one is free now and the budget keeps a
// reserve for calls that cannot wait (RequestPipeline::StartAhead), and a
// page of its tenant's ReadAheadAllowance (CallContext::read_ahead), given
// back when the answer is used or dropped.
//
// An answer fetched ahead stands for the pipeline's first attempt: it is
// used when the pipeline would have returned that attempt as it is (any
// status but a 5xx or an expired token; a 420 included, after it stopped
// the identity). Otherwise (5xx, an expired token, a reset, a truncated
// body) it is learned by the budget and dropped, and the iterator's own GET
// runs through the full pipeline, with its refresh and retries: reading
// ahead never changes what a listing returns, only when.
#ifndef CONNECTORS_COMMON_READ_AHEAD_H_
#define CONNECTORS_COMMON_READ_AHEAD_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/call_context.h"
#include "connectors/common/http_client.h"

namespace unified {

class RequestPipeline;

struct ReadAheadOptions {
  // Requests started but not yet consumed, at first and at most.
  int initial_window = 2;
  int max_window = 16;
  // Reading ahead leaves this share of the identity's limit untouched (see
  // RateBudget::TryAcquire), for calls that cannot wait.
  double budget_reserve = 0.1;
  // Largest body once decoded; a larger one is read again the ordinary way
  // (whose client has its own cap).
  size_t max_body_bytes = 16 << 20;
};

// One listing's requests ahead. Not thread-safe: one iterator drives it
// (the async client's completions are synchronized inside). Not owning
// `pipeline`, which outlives it; the requests run with a copy of `ctx`.
class ReadAhead {
 public:
  ReadAhead(RequestPipeline* pipeline, const CallContext& ctx,
            ReadAheadOptions options = {});
  // Cancels what is still in flight and waits for it to end (at once: the
  // async client is told to look).
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The GETs the listing will make next, nearest first. Starts, in order,
  // those not started yet while the window has room and the budget allows;
  // with `start_first` false, the first is only kept if it was started
  // earlier (the caller sends it itself, with the pipeline's every step).
  // Requests started earlier that are no longer planned are given up (they
  // count as wasted).
  void Plan(const std::vector<std::string>& paths, bool start_first = true);

  // The answer of a GET of `path` started ahead, waiting for it if it is in
  // flight, when Send would have returned it as it is (any status but a 5xx
  // or an expired token); nullopt when none was started, or the GET must be
  // sent again (a 5xx, an expired token, a transport failure, a body that
  // does not decode). The budget has learned from it either way.
  std::optional<HttpResponse> Take(const std::string& path);

  // A GET of `path`: the answer read ahead when Take has one, else sent
  // through the pipeline with its every step (refresh, retries).
  absl::StatusOr<HttpResponse> Get(const std::string& path);

  // Requests started ahead so far; those whose answers were not used (yet):
  // mispredicted, past the listing's end, failed or given up.
  int64_t started() const { return started_; }
  int64_t wasted() const { return started_ - used_; }
  int window() const { return window_; }

 private:
  struct Entry {
    ~Entry() {
      if (allowance != nullptr) allowance->Give();
    }
    // The tenant's room this entry holds (null: none taken).
    std::shared_ptr<ReadAheadAllowance> allowance;
    bool done = false;
    absl::StatusOr<HttpResponse> response = absl::UnknownError("in flight");
    bool decoded = false;  // The body is decoded (LearnFrom).
  };
  // Learns from and drops given-up entries that have finished.
  void Reap();
  // Decodes a finished entry's answer, and the budget learns from it.
  void LearnFrom(const std::string& path, Entry& entry);

  // What the transfers share with the listing; their callbacks (and
  // cancellation checks) hold it, so it outlives the last of them.
  struct Shared {
    // Set when the owner goes: transfers in flight abort.
    std::atomic<bool> closing{false};
    absl::Mutex mu;
    int in_flight ABSL_GUARDED_BY(mu) = 0;
  };

  RequestPipeline* const pipeline_;
  const std::shared_ptr<Shared> shared_;
  // The listing's context; cancelled also once closing.
  CallContext ctx_;
  const ReadAheadOptions options_;
  int window_;
  int64_t started_ = 0;
  int64_t used_ = 0;
  // Planned and started, by path; entries are written by the callbacks
  // under shared_->mu.
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::list<std::pair<std::string, std::shared_ptr<Entry>>> given_up_;
};

}  // namespace unified

#endif  // CONNECTORS_COMMON_READ_AHEAD_H_
