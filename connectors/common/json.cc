#include "connectors/common/json.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "rapidjson/error/en.h"

namespace unified::json {
namespace {

// Credential-like members that never leave the service (podio-api.md §7).
const std::set<std::string>& SecretKeys() {
  static const auto* keys = new std::set<std::string>{
      "calendar_code", "push",    "token",    "access_token",
      "refresh_token", "mailbox", "signature"};
  return *keys;
}

}  // namespace

absl::StatusOr<rapidjson::Document> Parse(absl::string_view text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag |
            rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return absl::InternalError(
        absl::StrCat("upstream answered malformed JSON (",
                     rapidjson::GetParseError_En(doc.GetParseError()),
                     " at byte ", doc.GetErrorOffset(), ")"));
  }
  return doc;
}

const rapidjson::Value* Find(const rapidjson::Value& object,
                             absl::string_view key) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(
      rapidjson::Value(rapidjson::StringRef(key.data(), key.size())));
  return it == object.MemberEnd() ? nullptr : &it->value;
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

std::optional<std::string> FirstString(const rapidjson::Value& object,
                                       absl::string_view key) {
  const rapidjson::Value* v = Find(object, key);
  if (v == nullptr) return std::nullopt;
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsArray() && !v->Empty() && (*v)[0].IsString()) {
    return std::string((*v)[0].GetString(), (*v)[0].GetStringLength());
  }
  return std::nullopt;
}

void ToProtoValue(const rapidjson::Value& value, google::protobuf::Value* out,
                  int max_depth) {
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
      ToProtoValue(item, list->add_values(), max_depth - 1);
    }
  } else if (value.IsObject()) {
    auto* fields = out->mutable_struct_value()->mutable_fields();
    for (const auto& member : value.GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      if (SecretKeys().count(key)) continue;
      ToProtoValue(member.value, &(*fields)[key], max_depth - 1);
    }
  }
}

void ToStruct(const rapidjson::Value& object, google::protobuf::Struct* out) {
  if (!object.IsObject()) return;
  google::protobuf::Value value;
  ToProtoValue(object, &value);
  *out = value.struct_value();
}

}  // namespace unified::json
