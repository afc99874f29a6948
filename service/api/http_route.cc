#include "service/api/http_route.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/http_client.h"

namespace unified {

HttpAnswer PlainAnswer(int status, std::string text) {
  HttpAnswer a;
  a.status = status;
  a.body = std::move(text);
  return a;
}

HttpAnswer HtmlAnswer(int status, std::string page) {
  HttpAnswer a;
  a.status = status;
  a.content_type = "text/html; charset=utf-8";
  a.body = std::move(page);
  a.private_page = true;
  return a;
}

HttpAnswer RedirectAnswer(std::string location, int status) {
  HttpAnswer a;
  a.status = status;
  a.private_page = true;
  a.headers.emplace_back("Location", std::move(location));
  return a;
}

std::map<std::string, std::string> FormFields(absl::string_view body) {
  std::map<std::string, std::string> fields;
  // A part with a malformed escape is kept as it came.
  auto decode = [](absl::string_view part) {
    std::string out;
    return FormDecode(part, &out) ? out : std::string(part);
  };
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    std::string value =
        eq == absl::string_view::npos ? "" : decode(pair.substr(eq + 1));
    fields.emplace(decode(pair.substr(0, eq)), std::move(value));
  }
  return fields;
}

std::string HtmlPage(absl::string_view title, absl::string_view body_html) {
  return absl::StrCat(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>",
      HtmlEscape(title), "</title></head><body><h1>", HtmlEscape(title),
      "</h1><p>", body_html, "</p></body></html>\n");
}

}  // namespace unified
