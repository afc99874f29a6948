#include "connectors/common/text.h"

#include "absl/strings/match.h"
#include "unicode/normalizer2.h"
#include "unicode/unistr.h"

namespace unified {

std::string FoldCase(absl::string_view utf8) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* fold =
      icu::Normalizer2::getNFKCCasefoldInstance(error);
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  std::string out;
  if (U_FAILURE(error) || fold == nullptr) {
    // Without ICU's data, the simple fold of the whole string.
    icu::UnicodeString folded = text;
    folded.foldCase();
    return folded.toUTF8String(out);
  }
  const icu::UnicodeString folded = fold->normalize(text, error);
  if (U_FAILURE(error)) {
    icu::UnicodeString simple = text;
    simple.foldCase();
    return simple.toUTF8String(out);
  }
  return folded.toUTF8String(out);
}

bool ContainsFolded(absl::string_view text, absl::string_view folded_needle) {
  if (folded_needle.empty()) return true;
  return absl::StrContains(FoldCase(text), folded_needle);
}

}  // namespace unified
