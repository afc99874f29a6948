// Bodies as a provider sends them gzipped, for tests of the decoding side.
#ifndef TESTS_TESTING_GZIP_H_
#define TESTS_TESTING_GZIP_H_

#include <string>

#include "zlib.h"

namespace unified::testing {

// One gzip member holding `text`.
inline std::string Gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8,
               Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

}  // namespace unified::testing

#endif  // TESTS_TESTING_GZIP_H_
