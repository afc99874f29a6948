// Defensive JSON reading for provider answers (RapidJSON).
//
// Parsing first checks UTF-8 in one fast pass, then builds the document while
// refusing nesting beyond kMaxDepth (so the recursive parser cannot exhaust
// the stack): a document that parses holds only valid UTF-8 strings. Accessors
// never throw or assert: a missing or mistyped member reads as absent.
#ifndef CONNECTORS_COMMON_JSON_H_
#define CONNECTORS_COMMON_JSON_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "rapidjson/document.h"

namespace unified::json {

// Deepest nesting of arrays and objects accepted from a provider.
inline constexpr int kMaxDepth = 256;

// OK when `text` is well-formed UTF-8 (RFC 3629); INTERNAL otherwise.
absl::Status CheckUtf8(absl::string_view text);

// Parses `text`; INTERNAL with a short reason when it is not valid UTF-8 JSON.
absl::StatusOr<rapidjson::Document> Parse(absl::string_view text);

// A parsed document that owns its text: parsed in place, so strings point
// into the text instead of being copied (about half the memory of Parse()).
// Use it as the rapidjson::Document it is; moving keeps the pointers valid.
// Never copy or move it into a plain rapidjson::Document: that would slice
// off the text the strings point into.
class Body : public rapidjson::Document {
 public:
  Body() = default;
  Body(Body&&) = default;
  Body& operator=(Body&&) = default;

 private:
  friend absl::StatusOr<Body> ParseOwned(std::string text);
  std::unique_ptr<std::string> text_;
};

// Parse() for text the caller gives up; same checks and errors.
absl::StatusOr<Body> ParseOwned(std::string text);

// Member `key` of `object` when `object` is an object holding it; else null.
const rapidjson::Value* Find(const rapidjson::Value& object,
                             absl::string_view key);

// String member, or nullopt when absent, null or not a string.
std::optional<std::string> String(const rapidjson::Value& object,
                                  absl::string_view key);
// String member as a view into the document, or "" (cheapest accessor).
absl::string_view View(const rapidjson::Value& object, absl::string_view key);
// String member or "".
std::string StringOr(const rapidjson::Value& object, absl::string_view key);
// Integer member that fits int64 (also an integral double), else nullopt.
std::optional<int64_t> Int64(const rapidjson::Value& object,
                             absl::string_view key);
// Boolean member (also 0/1), else nullopt.
std::optional<bool> Bool(const rapidjson::Value& object, absl::string_view key);

// Copies `value` into a google.protobuf.Value, dropping members named in
// `drop` at any depth (the provider's credential-like members, which never
// leave the service) and anything nested deeper than `max_depth`.
void ToProtoValue(const rapidjson::Value& value, google::protobuf::Value* out,
                  const std::set<std::string>& drop, int max_depth = 32);

// Copies an object into a Struct (see ToProtoValue); non-objects give {}.
void ToStruct(const rapidjson::Value& object, const std::set<std::string>& drop,
              google::protobuf::Struct* out);

}  // namespace unified::json

#endif  // CONNECTORS_COMMON_JSON_H_
