// The WatchDirectory stream over the event log: resume tokens, the optional
// snapshot, then the log's tail as it grows.
#ifndef SERVICE_WATCH_WATCH_STREAM_H_
#define SERVICE_WATCH_WATCH_STREAM_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "service/cursor.h"
#include "service/watch/watch_engine.h"

namespace unified::watch {

struct WatchStreamRequest {
  AccountRef account;
  std::string resume_token;
  bool include_snapshot = false;
};

// Sends events through `write` (false: the client is gone) until `done`
// says so; returns OK then. Errors: INVALID_ARGUMENT (INVALID_RESUME_TOKEN),
// FAILED_PRECONDITION (RESUME_TOKEN_EXPIRED, SNAPSHOT_WITH_RESUME_TOKEN),
// store failures (UNAVAILABLE). The account must be watched already.
absl::Status StreamWatch(
    WatchEngine& engine, const CursorCodec& cursors,
    const WatchStreamRequest& request,
    const std::function<bool(const v1::DirectoryEvent&)>& write,
    const std::function<bool()>& done);

// The event as the API shows it (tests and the stream).
v1::DirectoryEvent ToProto(const StoredEvent& e);

}  // namespace unified::watch

#endif  // SERVICE_WATCH_WATCH_STREAM_H_
