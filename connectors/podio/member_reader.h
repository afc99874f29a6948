// What the Podio member mappers read of a member row (docs/podio.md §3.2,
// §3.3, §3.5), taken from the parser's events: the same reading whether
// the events come from the text of a page (no document is built) or from a
// parsed document (rapidjson::Value::Accept). Internal to connectors/podio;
// mappers.cc turns a row into a User.
//
// Each member is read as json.h's accessors read it: the first of repeated
// members counts; a member of the wrong type reads as absent; integers
// follow json::Int64 (an integral double within 9e15 counts), flags follow
// json::Bool (0 or 1 count). String views point into the parsed text, or
// into the document, and live as long as it.
#ifndef CONNECTORS_PODIO_MEMBER_READER_H_
#define CONNECTORS_PODIO_MEMBER_READER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace unified::podio::member_reader {

// The members of a person object: a Podio user account (§3.2), a profile
// or contact (§3.3), or a row that is a contact itself.
struct Person {
  bool present = false;  // The member was an object.
  std::optional<int64_t> user_id, profile_id;
  absl::string_view name, status, timezone, locale, created_on, last_seen_on;
  bool has_status = false;  // A `status` member of any type.
  // `mail`: one string (an account's) or a list (a profile's strings).
  bool mail_is_string = false;
  absl::string_view mail;
  std::vector<absl::string_view> mails, phones;
  bool has_phones = false;  // `phone` was a list.
  std::optional<absl::string_view> title;
  bool has_image = false;  // An `image` member of any type.
  absl::string_view thumbnail_link, link;
  // Only `user_id` and `mail` members: the "very limited data" of an
  // invited member's account (§3.5).
  bool limited = true;
  uint32_t seen = 0;  // Members met, by member_reader.cc's Field.
};

// A member row of an organization or workspace listing.
struct Row {
  bool is_object = false;
  Person user, profile;  // The `user` and `profile` members.
  Person self;           // The row's own person members (a contact).
  std::optional<bool> employee;
  absl::string_view role;
  bool has_spaces = false;  // `spaces` was an object.
  std::optional<int64_t> spaces_started, spaces_invited;
  uint32_t seen = 0;
};

// The row `value` holds.
Row ReadRow(const rapidjson::Value& value);

// Parses the answer `text` in place and calls `on_row` with each element of
// its top-level list, in order, as soon as the element ends; the row's
// views point into `text`. Errors are INTERNAL with reason
// UPSTREAM_MALFORMED_RESPONSE, as podio::ReadAnswer and podio::ListOf give
// them: for text that is not JSON, and for an answer that is not a list
// (naming `what`). Rows handed over before an error are to be dropped.
absl::Status ReadRows(std::string& text, absl::string_view what,
                      const std::function<void(const Row&)>& on_row);

}  // namespace unified::podio::member_reader

#endif  // CONNECTORS_PODIO_MEMBER_READER_H_
