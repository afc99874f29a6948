#include "connectors/common/log_line.h"

#include <cstdio>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "connectors/common/utf8.h"
#include "grpc/support/log.h"

namespace unified {
namespace {

absl::Mutex sink_mu;
LogSink* sink ABSL_GUARDED_BY(sink_mu) = nullptr;

void GrpcLog(gpr_log_func_args* args) {
  LogLevel level = LogLevel::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = LogLevel::kDebug;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = LogLevel::kError;
  absl::string_view text(args->message != nullptr ? args->message : "");
  if (text.size() > 4096) text = text.substr(0, 4096);
  LogEvent(level, "grpc",
           absl::StrCat(
               "\"file\":", JsonQuote(args->file != nullptr ? args->file : ""),
               ",\"line\":", args->line, ",\"text\":", JsonQuote(text)));
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  while (!text.empty()) {
    const unsigned char c = static_cast<unsigned char>(text[0]);
    const size_t n = Utf8Sequence(
        reinterpret_cast<const unsigned char*>(text.data()), text.size());
    if (n == 0) {
      out += "\\ufffd";
      text.remove_prefix(1);
      continue;
    }
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    } else {
      out.append(text.data(), n);
    }
    text.remove_prefix(n);
  }
  out += '"';
  return out;
}

std::string LogTime(absl::Time time) {
  const int64_t millis = absl::ToUnixMillis(time);
  return absl::StrCat(
      absl::FormatTime("%Y-%m-%dT%H:%M:%S", time, absl::UTCTimeZone()), ".",
      absl::Dec(((millis % 1000) + 1000) % 1000, absl::kZeroPad3), "Z");
}

std::string LogLine(absl::string_view time, LogLevel level,
                    absl::string_view msg, absl::string_view fields) {
  std::string head = absl::StrCat("{\"time\":\"", time, "\",\"level\":\"",
                                  LogLevelName(level), "\",\"msg\":");
  std::string quoted = JsonQuote(msg);
  const size_t whole = head.size() + quoted.size() +
                       (fields.empty() ? 0 : 1 + fields.size()) + 2;
  if (whole <= kMaxLogLine) {
    head += quoted;
    if (!fields.empty()) absl::StrAppend(&head, ",", fields);
    head += "}\n";
    return head;
  }
  // Too long: the message cut to 1 KiB, the fields left out.
  std::string cut = JsonQuote(msg.substr(0, 1024));
  return absl::StrCat(head, cut, ",\"truncated\":", whole, "}\n");
}

void SetLogSink(LogSink* new_sink) {
  absl::MutexLock lock(&sink_mu);
  sink = new_sink;
}

void RemoveLogSink(LogSink* old_sink) {
  absl::MutexLock lock(&sink_mu);
  if (sink == old_sink) sink = nullptr;
}

void LogEvent(LogLevel level, absl::string_view msg, absl::string_view fields) {
  absl::ReaderMutexLock lock(&sink_mu);
  if (sink != nullptr) {
    sink->Write(level, msg, fields);
    return;
  }
  const std::string line = LogLine(LogTime(absl::Now()), level, msg, fields);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void RouteGrpcLogs() { gpr_set_log_function(&GrpcLog); }

}  // namespace unified
