// A deterministic driver for libFuzzer-style targets, so every fuzz target
// also runs in the ordinary test suite (with GCC, without libFuzzer): each
// seed file given as an argument, then mutations of the seeds (bit flips,
// truncations, insertions, splices) from a fixed seed. With --config=fuzz the
// same target links against libFuzzer instead (tools/fuzz/fuzz.bzl).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

class XorShift {
 public:
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  size_t Below(size_t n) { return n == 0 ? 0 : Next() % n; }

 private:
  uint64_t state_ = 0x9E3779B97F4A7C15ULL;
};

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds = {""};
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "fuzz driver: cannot read %s\n", argv[i]);
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    seeds.push_back(text.str());
  }
  XorShift rng;
  int runs = 0;
  for (const std::string& seed : seeds) {
    Run(seed);
    ++runs;
  }
  static const char kTokens[] = "{}[]\":,\\0123456789eE+-.tfn \x80\xC3\xFF";
  for (int i = 0; i < 20000; ++i) {
    std::string input = seeds[rng.Below(seeds.size())];
    const int edits = 1 + static_cast<int>(rng.Below(8));
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng.Below(input.size() + 1);
      switch (rng.Below(5)) {
        case 0:  // Flip a bit.
          if (!input.empty()) {
            input[rng.Below(input.size())] ^=
                static_cast<char>(1 << rng.Below(8));
          }
          break;
        case 1:  // Truncate.
          input.resize(pos);
          break;
        case 2:  // Insert a JSON-ish token.
          input.insert(pos, 1, kTokens[rng.Below(sizeof(kTokens) - 1)]);
          break;
        case 3: {  // Splice in part of another seed.
          const std::string& other = seeds[rng.Below(seeds.size())];
          const size_t from = rng.Below(other.size() + 1);
          input.insert(pos, other.substr(from, rng.Below(64)));
          break;
        }
        case 4:  // Repeat a run (deep nesting, long strings).
          if (!input.empty()) {
            const size_t at = rng.Below(input.size());
            input.insert(at, std::string(rng.Below(2000), input[at]));
          }
          break;
      }
    }
    Run(input);
    ++runs;
  }
  std::printf("fuzz driver: %d inputs, no crash\n", runs);
  return 0;
}
