// The hosted connect page's templates, style and script
// (service/link/pages/), compiled into the binary, and how they are filled.
#ifndef SERVICE_LINK_LINK_PAGES_H_
#define SERVICE_LINK_LINK_PAGES_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace unified::link {

// A file of service/link/pages by base name ("link.js"); "" when none.
absl::string_view LinkAsset(absl::string_view name);

using Values = std::vector<std::pair<std::string, std::string>>;

// Template `name` filled in: {{key}} by the value HTML-escaped, {{{key}}}
// by the value as given (HTML this code built from escaped parts); a key
// without a value becomes "".
std::string Render(absl::string_view name, const Values& values);

// A whole page: layout.html around `content_html`, titled `title`.
std::string Page(absl::string_view title, absl::string_view content_html);

// The headers every page of the connect flow carries: a Content Security
// Policy allowing the page's own origin only and no framing.
inline constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'";

}  // namespace unified::link

#endif  // SERVICE_LINK_LINK_PAGES_H_
