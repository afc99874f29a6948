// One benchmark figure, printed as a line that tools/bench/run collects:
//
//   BENCH {"name":"...","figure":1.5,"unit":"s","baseline":11.4,
//          "baseline_name":"...","ratio":0.13,"target":"<= 0.15",
//          "holds":true}
//
// A figure is a measurement and, where a ratio is claimed, the baseline it
// was measured beside in the same run. `target` is empty where nothing is
// claimed (the figure is reported, not judged). Every benchmark prints its
// human-readable lines as before; these lines are the table's rows.
#ifndef TOOLS_BENCH_REPORT_H_
#define TOOLS_BENCH_REPORT_H_

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "connectors/common/log_line.h"

namespace unified::bench {

enum class Target { kNone, kAtMost, kAtLeast };

struct Figure {
  std::string name;  // e.g. "B1 StreamUsers / sequential loop, counts"
  double figure = 0;
  std::string unit;
  // The side-by-side baseline; NaN when the figure stands alone.
  double baseline = std::nan("");
  std::string baseline_name;
  // Compared with the ratio figure / baseline, or with the figure itself
  // when there is no baseline.
  Target target = Target::kNone;
  double bound = 0;
};

// A figure that stands alone (reported; judged by itself when `target`).
inline Figure Alone(std::string name, double figure, std::string unit,
                    Target target = Target::kNone, double bound = 0) {
  Figure f;
  f.name = std::move(name);
  f.figure = figure;
  f.unit = std::move(unit);
  f.target = target;
  f.bound = bound;
  return f;
}

// A figure beside its baseline; `target` judges figure / baseline.
inline Figure Versus(std::string name, double figure, std::string unit,
                     double baseline, std::string baseline_name,
                     Target target = Target::kNone, double bound = 0) {
  Figure f = Alone(std::move(name), figure, std::move(unit), target, bound);
  f.baseline = baseline;
  f.baseline_name = std::move(baseline_name);
  return f;
}

inline std::string JsonNumber(double v) {
  return std::isfinite(v) ? absl::StrFormat("%.6g", v) : "null";
}

// Prints `f` as one BENCH line on stdout; returns whether its target holds
// (true where there is none).
inline bool Report(const Figure& f) {
  const bool has_baseline = !std::isnan(f.baseline);
  const double ratio =
      has_baseline && f.baseline != 0 ? f.figure / f.baseline : std::nan("");
  const double judged = has_baseline ? ratio : f.figure;
  bool holds = true;
  std::string target;
  if (f.target == Target::kAtMost) {
    holds = judged <= f.bound;
    target = absl::StrCat("<= ", JsonNumber(f.bound));
  } else if (f.target == Target::kAtLeast) {
    holds = judged >= f.bound;
    target = absl::StrCat(">= ", JsonNumber(f.bound));
  }
  std::printf(
      "BENCH {\"name\":%s,\"figure\":%s,\"unit\":%s,\"baseline\":%s,"
      "\"baseline_name\":%s,\"ratio\":%s,\"target\":%s,\"holds\":%s}\n",
      JsonQuote(f.name).c_str(), JsonNumber(f.figure).c_str(),
      JsonQuote(f.unit).c_str(), JsonNumber(f.baseline).c_str(),
      JsonQuote(f.baseline_name).c_str(), JsonNumber(ratio).c_str(),
      JsonQuote(target).c_str(),
      f.target == Target::kNone ? "null" : (holds ? "true" : "false"));
  std::fflush(stdout);
  return holds;
}

}  // namespace unified::bench

#endif  // TOOLS_BENCH_REPORT_H_
