// --help for the repository's binaries. Abseil lists the flags of files named
// after the binary, and ours live in main.cc or a library, so --help would
// say "No flags matched"; this lists the flags defined under `folders`
// (workspace-relative, e.g. "tools/podio_sim/") instead.
#ifndef TOOLS_FLAGS_HELP_H_
#define TOOLS_FLAGS_HELP_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace unified::tools {

inline void HelpListsFlagsUnder(std::vector<std::string> folders) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [folders = std::move(folders)](
                                  absl::string_view file) {
    for (const std::string& folder : folders) {
      if (absl::StartsWith(file, folder)) return true;
    }
    return false;
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
}

}  // namespace unified::tools

#endif  // TOOLS_FLAGS_HELP_H_
