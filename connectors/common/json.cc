#include "connectors/common/json.h"

#include <cmath>
#include <cstring>
#include <set>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "connectors/common/utf8.h"
#include "rapidjson/error/en.h"
#include "rapidjson/memorystream.h"
#include "rapidjson/reader.h"
#include "rapidjson/stream.h"

namespace unified::json {

absl::Status CheckUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    // ASCII runs, 16 or 8 bytes at a time: provider JSON is mostly ASCII.
#ifdef __SSE2__
    if (i + 16 <= n && _mm_movemask_epi8(_mm_loadu_si128(
                           reinterpret_cast<const __m128i*>(p + i))) == 0) {
      i += 16;
      continue;
    }
#endif
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const size_t len = Utf8Sequence(p + i, n - i);
    if (len == 0) {
      return absl::InternalError(absl::StrCat("invalid UTF-8 at byte ", i));
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::Status CheckJsonText(absl::string_view text) {
  if (absl::Status s = CheckUtf8(text); !s.ok()) {
    return absl::InternalError(
        absl::StrCat("upstream answered malformed JSON (", s.message(), ")"));
  }
  return absl::OkStatus();
}

absl::Status ParseFailure(const rapidjson::ParseResult& result, bool too_deep) {
  if (too_deep) {
    return absl::InternalError(
        absl::StrCat("upstream answered malformed JSON (nested deeper than ",
                     kMaxDepth, ")"));
  }
  return absl::InternalError(
      absl::StrCat("upstream answered malformed JSON (",
                   rapidjson::GetParseError_En(result.Code()), " at byte ",
                   result.Offset(), ")"));
}

namespace {

// Fills `doc` from `stream` with Reader `flags`: Parse's checks.
template <unsigned flags, typename Stream>
absl::Status Populate(Stream& stream, rapidjson::Document& doc) {
  rapidjson::Reader reader;
  bool too_deep = false;
  rapidjson::ParseResult result;
  auto generate = [&](rapidjson::Document& d) {
    DepthLimited<rapidjson::Document> handler(d);
    result = reader.Parse<flags>(stream, handler);
    too_deep = handler.too_deep();
    return !result.IsError();
  };
  doc.Populate(generate);
  if (result.IsError()) return ParseFailure(result, too_deep);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<rapidjson::Document> Parse(absl::string_view text) {
  if (absl::Status s = CheckJsonText(text); !s.ok()) return s;
  rapidjson::Document doc;
  rapidjson::MemoryStream stream(text.data(), text.size());
  if (absl::Status s = Populate<rapidjson::kParseDefaultFlags>(stream, doc);
      !s.ok()) {
    return s;
  }
  return doc;
}

absl::StatusOr<Body> ParseOwned(std::string text) {
  if (absl::Status s = CheckJsonText(text); !s.ok()) return s;
  Body body;
  body.text_ = std::make_unique<std::string>(std::move(text));
  rapidjson::InsituStringStream stream(&(*body.text_)[0]);
  if (absl::Status s = Populate<rapidjson::kParseInsituFlag>(stream, body.doc_);
      !s.ok()) {
    return s;
  }
  return body;
}

const rapidjson::Value* Find(const rapidjson::Value& object,
                             absl::string_view key) {
  if (!object.IsObject()) return nullptr;
  // Length first, then bytes: cheaper than FindMember's generic compare.
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (it->name.GetStringLength() == key.size() &&
        std::memcmp(it->name.GetString(), key.data(), key.size()) == 0) {
      return &it->value;
    }
  }
  return nullptr;
}

absl::string_view View(const rapidjson::Value& object, absl::string_view key) {
  const rapidjson::Value* v = Find(object, key);
  if (v == nullptr || !v->IsString()) return absl::string_view();
  return absl::string_view(v->GetString(), v->GetStringLength());
}

std::optional<std::string> String(const rapidjson::Value& object,
                                  absl::string_view key) {
  const rapidjson::Value* v = Find(object, key);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  return std::string(v->GetString(), v->GetStringLength());
}

std::string StringOr(const rapidjson::Value& object, absl::string_view key) {
  return String(object, key).value_or("");
}

std::optional<int64_t> Int64(const rapidjson::Value& object,
                             absl::string_view key) {
  const rapidjson::Value* v = Find(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->IsInt64()) return v->GetInt64();
  if (v->IsDouble()) {
    const double d = v->GetDouble();
    // Integral and well inside int64 (doubles are exact below 2^53).
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

std::optional<bool> Bool(const rapidjson::Value& object,
                         absl::string_view key) {
  const rapidjson::Value* v = Find(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->IsBool()) return v->GetBool();
  if (v->IsInt()) return v->GetInt() != 0;
  return std::nullopt;
}

void ToProtoValue(const rapidjson::Value& value, google::protobuf::Value* out,
                  const std::set<std::string>& drop, int max_depth) {
  if (max_depth <= 0) {
    out->set_null_value(google::protobuf::NULL_VALUE);
    return;
  }
  if (value.IsNull()) {
    out->set_null_value(google::protobuf::NULL_VALUE);
  } else if (value.IsBool()) {
    out->set_bool_value(value.GetBool());
  } else if (value.IsInt64()) {
    // Large ids as text: a double would round them.
    const int64_t i = value.GetInt64();
    if (std::llabs(i) < (int64_t{1} << 53)) {
      out->set_number_value(static_cast<double>(i));
    } else {
      out->set_string_value(absl::StrCat(i));
    }
  } else if (value.IsUint64()) {
    out->set_string_value(absl::StrCat(value.GetUint64()));
  } else if (value.IsNumber()) {
    out->set_number_value(value.GetDouble());
  } else if (value.IsString()) {
    out->set_string_value(
        std::string(value.GetString(), value.GetStringLength()));
  } else if (value.IsArray()) {
    auto* list = out->mutable_list_value();
    for (const auto& item : value.GetArray()) {
      ToProtoValue(item, list->add_values(), drop, max_depth - 1);
    }
  } else if (value.IsObject()) {
    auto* fields = out->mutable_struct_value()->mutable_fields();
    for (const auto& member : value.GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      if (drop.count(key)) continue;
      ToProtoValue(member.value, &(*fields)[key], drop, max_depth - 1);
    }
  }
}

void ToStruct(const rapidjson::Value& object, const std::set<std::string>& drop,
              google::protobuf::Struct* out) {
  if (!object.IsObject()) return;
  google::protobuf::Value value;
  ToProtoValue(object, &value, drop);
  *out = value.struct_value();
}

}  // namespace unified::json
