#include "service/api/http_route.h"

#include <utility>

#include "absl/strings/str_cat.h"

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

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string HtmlPage(absl::string_view title, absl::string_view body_html) {
  return absl::StrCat(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>",
      HtmlEscape(title), "</title></head><body><h1>", HtmlEscape(title),
      "</h1><p>", body_html, "</p></body></html>\n");
}

}  // namespace unified
