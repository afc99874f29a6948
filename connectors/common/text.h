// Text compared as people read it, not as bytes: ICU's NFKC case folding
// (Unicode's NFKC_Casefold), so that "émile" finds "Émile", "strasse" finds
// "Straße", and a decomposed "é" finds a composed one.
#ifndef CONNECTORS_COMMON_TEXT_H_
#define CONNECTORS_COMMON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace unified {

// `utf8` normalized and case folded (NFKC_Casefold). Text that is not valid
// UTF-8 is folded as far as ICU reads it (invalid bytes become U+FFFD).
std::string FoldCase(absl::string_view utf8);

// Whether `folded_needle` (already FoldCase'd) occurs in `text` once folded.
bool ContainsFolded(absl::string_view text, absl::string_view folded_needle);

}  // namespace unified

#endif  // CONNECTORS_COMMON_TEXT_H_
