// The process's log lines: every line it writes to stderr is one JSON
// object of at most kMaxLogLine bytes, with control characters escaped and
// invalid UTF-8 replaced, so that no text from outside (a header value, a
// provider's answer) can start a line of its own or hide one. Lines go to
// the installed LogSink (the service's Observability, which buffers them),
// or straight to stderr before one is installed and after it is gone.
// gRPC's own logging (gpr_log) is routed here too (RouteGrpcLogs).
// Thread-safe.
#ifndef CONNECTORS_COMMON_LOG_LINE_H_
#define CONNECTORS_COMMON_LOG_LINE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace unified {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug" | "info" | "warning" | "error".
const char* LogLevelName(LogLevel level);

// `text` as a JSON string literal: quotes, backslashes and control
// characters escaped, each byte of invalid UTF-8 replaced by U+FFFD.
std::string JsonQuote(absl::string_view text);

// The longest line written, newline included.
inline constexpr size_t kMaxLogLine = 16 << 10;

// "2026-12-07T03:51:11.123Z".
std::string LogTime(absl::Time time);

// One line, newline-terminated:
//   {"time":TIME,"level":LEVEL,"msg":MSG,FIELDS}
// `fields` are JSON members ("k":v,...) whose strings went through
// JsonQuote. A line that would be longer than kMaxLogLine keeps its time,
// level and (cut) message, and says "truncated": the bytes left out.
std::string LogLine(absl::string_view time, LogLevel level,
                    absl::string_view msg, absl::string_view fields);

class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(LogLevel level, absl::string_view msg,
                     absl::string_view fields) = 0;
};

// Installs `sink` (not owned; null: stderr). Write calls through the
// previous one have returned when SetLogSink does.
void SetLogSink(LogSink* sink);
// Removes `sink` if it is the one installed (a sink's destructor calls it).
void RemoveLogSink(LogSink* sink);

// Writes one line through the sink.
void LogEvent(LogLevel level, absl::string_view msg,
              absl::string_view fields = "");

// From now on gRPC's own log lines go through LogEvent as "grpc", with
// their source file, line and text (the text cut at 4 KiB).
void RouteGrpcLogs();

}  // namespace unified

#endif  // CONNECTORS_COMMON_LOG_LINE_H_
