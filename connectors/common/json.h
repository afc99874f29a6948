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
#include "rapidjson/reader.h"

namespace unified::json {

// Deepest nesting of arrays and objects accepted from a provider.
inline constexpr int kMaxDepth = 256;

// OK when `text` is well-formed UTF-8 (RFC 3629); INTERNAL otherwise.
absl::Status CheckUtf8(absl::string_view text);

// Parses `text`; INTERNAL with a short reason when it is not valid UTF-8 JSON.
absl::StatusOr<rapidjson::Document> Parse(absl::string_view text);

// A parsed document that owns its text: parsed in place, so strings point
// into the text instead of being copied (about half the memory of Parse()).
// It holds the document rather than being one, so it cannot be sliced into
// a plain rapidjson::Document that outlives the text. Read it through
// root(), or pass it where a const rapidjson::Value& is taken. Move-only;
// moving keeps the strings valid (the text stays where it is).
class Body {
 public:
  Body() = default;
  Body(Body&&) = default;
  Body& operator=(Body&&) = default;
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  const rapidjson::Value& root() const { return doc_; }
  operator const rapidjson::Value&() const { return doc_; }  // NOLINT
  // For editing in place: values added must use allocator().
  rapidjson::Value& mutable_root() { return doc_; }
  rapidjson::Document::AllocatorType& allocator() {
    return doc_.GetAllocator();
  }

 private:
  friend absl::StatusOr<Body> ParseOwned(std::string text);
  // Declared first, destroyed last: the document's strings point into it.
  std::unique_ptr<std::string> text_;
  rapidjson::Document doc_;
};

// Parse() for text the caller gives up; same checks and errors.
absl::StatusOr<Body> ParseOwned(std::string text);

// RapidJSON's parse events passed on to `Handler`, refusing nesting beyond
// kMaxDepth, so the fast recursive reader cannot be driven into deep
// recursion.
template <typename Handler>
class DepthLimited {
 public:
  explicit DepthLimited(Handler& handler) : h_(handler) {}
  bool Null() { return h_.Null(); }
  bool Bool(bool b) { return h_.Bool(b); }
  bool Int(int i) { return h_.Int(i); }
  bool Uint(unsigned u) { return h_.Uint(u); }
  bool Int64(int64_t i) { return h_.Int64(i); }
  bool Uint64(uint64_t u) { return h_.Uint64(u); }
  bool Double(double d) { return h_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return h_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    return h_.String(s, n, copy);
  }
  bool StartObject() { return ++depth_ <= kMaxDepth && h_.StartObject(); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    return h_.Key(s, n, copy);
  }
  bool EndObject(rapidjson::SizeType n) {
    --depth_;
    return h_.EndObject(n);
  }
  bool StartArray() { return ++depth_ <= kMaxDepth && h_.StartArray(); }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    return h_.EndArray(n);
  }
  bool too_deep() const { return depth_ > kMaxDepth; }

 private:
  Handler& h_;
  int depth_ = 0;
};

// INTERNAL "upstream answered malformed JSON (...)" when `text` is not
// valid UTF-8 (Parse's first check).
absl::Status CheckJsonText(absl::string_view text);
// The error Parse gives for a failed parse.
absl::Status ParseFailure(const rapidjson::ParseResult& result, bool too_deep);

// Parses `text` in place, handing its events to `handler` instead of
// building a document: Parse's checks and errors. Strings are unescaped
// where they lie, so the views the handler is given point into `text`.
// A handler that stops the parse (returns false) gives an error too; a
// handler that only wants to refuse the content should note it and go on.
template <typename Handler>
absl::Status ParseEvents(std::string& text, Handler& handler) {
  if (absl::Status s = CheckJsonText(text); !s.ok()) return s;
  rapidjson::InsituStringStream stream(&text[0]);
  rapidjson::Reader reader;
  DepthLimited<Handler> limited(handler);
  const rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseInsituFlag>(stream, limited);
  if (result.IsError()) return ParseFailure(result, limited.too_deep());
  return absl::OkStatus();
}

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
