// Text into HTML: what every page the service serves (the OAuth callback,
// the hosted connect page) escapes its values with.
#ifndef SERVICE_CORE_HTML_H_
#define SERVICE_CORE_HTML_H_

#include <string>

#include "absl/strings/string_view.h"

namespace unified {

// `text` with HTML's special characters (< > & " ') escaped: safe in
// element content and in quoted attribute values.
std::string HtmlEscape(absl::string_view text);

}  // namespace unified

#endif  // SERVICE_CORE_HTML_H_
