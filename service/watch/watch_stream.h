// The WatchDirectory stream over the event log: resume tokens, the optional
// snapshot, then the log's tail as it grows, and heartbeats while idle.
#ifndef SERVICE_WATCH_WATCH_STREAM_H_
#define SERVICE_WATCH_WATCH_STREAM_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "service/core/cursor.h"
#include "service/watch/watch_engine.h"

namespace unified::watch {

struct WatchStreamRequest {
  AccountRef account;
  std::string resume_token;
  bool include_snapshot = false;
};

// Reads a WatchDirectory stream's events in steps, for a stream that must
// not block between them: resume token or snapshot first, then the log's
// tail as it grows. Not thread-safe; one step at a time.
class EventReader {
 public:
  virtual ~EventReader() = default;
  // Appends the next events to `out`. Returns true when the log has nothing
  // more now: the caller waits for news (WatchEngine::Subscribe) before the
  // next call.
  virtual absl::StatusOr<bool> Next(std::vector<v1::DirectoryEvent>* out) = 0;
  // A HEARTBEAT event at the reader's position.
  virtual v1::DirectoryEvent Heartbeat(absl::Time now) const = 0;
};

// The events of one account.
class WatchReader final : public EventReader {
 public:
  // The account must be watched already; `engine` and `cursors` must
  // outlive the reader.
  WatchReader(WatchEngine& engine, const CursorCodec& cursors,
              WatchStreamRequest request);

  // Appends the next events to `out`: the first call checks the resume
  // token (INVALID_ARGUMENT, reason INVALID_RESUME_TOKEN; FAILED_PRECONDITION,
  // RESUME_TOKEN_EXPIRED or SNAPSHOT_WITH_RESUME_TOKEN) and appends the
  // snapshot if asked; every call appends logged events past the last one
  // (at most a batch). Returns true when the log has nothing more now: the
  // caller waits for news (WatchEngine::Subscribe) before the next call.
  // Store failures are UNAVAILABLE; a log pruned past the reader is
  // RESUME_TOKEN_EXPIRED.
  absl::StatusOr<bool> Next(std::vector<v1::DirectoryEvent>* out) override;

  // A HEARTBEAT event at the reader's position (its sequence and resume
  // token are those of the last event read).
  v1::DirectoryEvent Heartbeat(absl::Time now) const override;

 private:
  absl::Status Open(std::vector<v1::DirectoryEvent>* out);

  WatchEngine& engine_;
  const CursorCodec& cursors_;
  const WatchStreamRequest request_;
  bool opened_ = false;
  int64_t epoch_ = 0;
  int64_t seq_ = 0;
  std::string token_;
};

struct TenantWatchRequest {
  std::string tenant;
  // Sorted, without repeats; empty: every account of the tenant.
  std::vector<std::string> accounts;
  std::string resume_token;
  bool include_snapshot = false;
};

// Reads a stream over several accounts of one tenant (or all of them) from
// the tenant's sequence (EventLog's tseq): events in the order they were
// logged, each naming its account, and one resume token for the stream (a
// tseq, bound to the tenant and the set of accounts). Not thread-safe.
class TenantWatchReader final : public EventReader {
 public:
  // The accounts should be watched already (an account not watched has no
  // events); `store` and `cursors` must outlive the reader.
  TenantWatchReader(WatchStore& store, const CursorCodec& cursors,
                    TenantWatchRequest request);
  // The same over the engine's store.
  TenantWatchReader(const WatchEngine& engine, const CursorCodec& cursors,
                    TenantWatchRequest request)
      : TenantWatchReader(*engine.store(), cursors, std::move(request)) {}

  // As WatchReader::Next. The snapshot holds the rosters of every account
  // at one tseq. RESUME_TOKEN_EXPIRED when events past the reader's
  // position were pruned from any of its accounts, or the token is ahead
  // of the store (another store).
  absl::StatusOr<bool> Next(std::vector<v1::DirectoryEvent>* out) override;

  // A HEARTBEAT event with the reader's resume token (sequence 0).
  v1::DirectoryEvent Heartbeat(absl::Time now) const override;

 private:
  absl::Status Open(std::vector<v1::DirectoryEvent>* out);
  std::string Token(int64_t tseq) const;

  WatchStore& store_;
  const CursorCodec& cursors_;
  const TenantWatchRequest request_;
  bool opened_ = false;
  int64_t tseq_ = 0;
  std::string token_;
};

// The event as the API shows it (tests and the stream).
v1::DirectoryEvent ToProto(const StoredEvent& e);

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_STREAM_H_
