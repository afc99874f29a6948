// UTF-8 sequences, as RFC 3629 allows them: no overlong forms, no
// surrogates, nothing beyond U+10FFFF. Shared by the JSON reader's check
// (json.h) and the log lines' escaping (log_line.h).
#ifndef CONNECTORS_COMMON_UTF8_H_
#define CONNECTORS_COMMON_UTF8_H_

#include <cstddef>

namespace unified {

// Length of the well-formed sequence starting at `p` (at most `left`
// bytes, at least 1): 1 for ASCII, 2 to 4, or 0 when it is not well-formed.
inline size_t Utf8Sequence(const unsigned char* p, size_t left) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i) { return i < left && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // Overlong.
    if (c == 0xED && p[1] > 0x9F) return 0;  // Surrogate.
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // Overlong.
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // Beyond U+10FFFF.
    return 4;
  }
  return 0;
}

}  // namespace unified

#endif  // CONNECTORS_COMMON_UTF8_H_
