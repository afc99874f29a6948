#include "service/api/http_route.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding with '+' as a space; a malformed escape stays as it is.
std::string FormDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() &&
               HexValue(text[i + 1]) >= 0 && HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 +
                                      HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> FormFields(absl::string_view body) {
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(body, '&', absl::SkipEmpty())) {
    const size_t eq = pair.find('=');
    std::string name = FormDecode(pair.substr(0, eq));
    std::string value =
        eq == absl::string_view::npos ? "" : FormDecode(pair.substr(eq + 1));
    fields.emplace(std::move(name), std::move(value));
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
