// The service's and the connectors' own source files, for tests that read
// the code itself (tests/service/error_reasons_test.cc,
// tests/service/layers_test.cc). The test's data must hold the packages'
// `sources` filegroups.
#ifndef TESTS_TESTING_SOURCE_FILES_H_
#define TESTS_TESTING_SOURCE_FILES_H_

#include <dirent.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tools/testing/subprocess.h"

namespace unified::testing {

// The .cc and .h files under `path` (runfiles), its folders included.
inline void CollectSources(const std::string& path,
                           std::vector<std::string>* files) {
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string full = absl::StrCat(path, "/", name);
    if (absl::EndsWith(name, ".cc") || absl::EndsWith(name, ".h")) {
      files->push_back(full);
    } else if (e->d_type == DT_DIR || e->d_type == DT_LNK) {
      CollectSources(full, files);
    }
  }
  closedir(d);
}

// Every source file under service/ and connectors/.
inline std::vector<std::string> ServiceAndConnectorSources() {
  std::vector<std::string> files;
  for (const char* dir : {"service", "connectors"}) {
    CollectSources(RunfilePath(dir), &files);
  }
  return files;
}

inline std::string ReadSource(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_SOURCE_FILES_H_
