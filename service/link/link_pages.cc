#include "service/link/link_pages.h"

#include "absl/strings/str_cat.h"
#include "service/core/html.h"

namespace unified::link {

absl::string_view EmbeddedLinkPage(absl::string_view name);  // Generated.

absl::string_view LinkAsset(absl::string_view name) {
  return EmbeddedLinkPage(name);
}

namespace {

std::string ValueOf(const Values& values, absl::string_view key) {
  for (const auto& [k, v] : values) {
    if (k == key) return v;
  }
  return "";
}

}  // namespace

std::string Render(absl::string_view name, const Values& values) {
  const absl::string_view text = LinkAsset(name);
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("{{", i);
    if (open == absl::string_view::npos) break;
    const bool raw = text.substr(open, 3) == "{{{";
    const size_t start = open + (raw ? 3 : 2);
    const size_t close = text.find(raw ? "}}}" : "}}", start);
    if (close == absl::string_view::npos) break;
    absl::StrAppend(&out, text.substr(i, open - i));
    const std::string value = ValueOf(values, text.substr(start, close - start));
    absl::StrAppend(&out, raw ? value : HtmlEscape(value));
    i = close + (raw ? 3 : 2);
  }
  absl::StrAppend(&out, text.substr(i));
  return out;
}

std::string Page(absl::string_view title, absl::string_view content_html) {
  return Render("layout.html", {{"title", std::string(title)},
                                {"content", std::string(content_html)}});
}

}  // namespace unified::link
