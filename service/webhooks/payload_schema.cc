#include "service/webhooks/payload_schema.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "proto/unified/v1/integrated_accounts.pb.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "rapidjson/document.h"
#include "rapidjson/prettywriter.h"
#include "rapidjson/stringbuffer.h"
#include "service/webhooks/payloads.h"

namespace unified::webhooks {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using rapidjson::Value;

// Builds the schema into one document; every message met becomes a $defs
// entry named by its full name.
class SchemaBuilder {
 public:
  SchemaBuilder() : a_(doc_.GetAllocator()) { doc_.SetObject(); }

  Value Str(const std::string& s) { return Value(s.c_str(), a_); }

  Value TypeOnly(const char* type) {
    Value v(rapidjson::kObjectType);
    v.AddMember("type", Value(type, a_), a_);
    return v;
  }

  // The names of `e`'s values but 0 and those numbered in `skip`.
  Value EnumNames(const EnumDescriptor* e, const std::set<int>& skip = {}) {
    Value names(rapidjson::kArrayType);
    for (int i = 0; i < e->value_count(); ++i) {
      const int number = e->value(i)->number();
      if (number == 0 || skip.count(number) > 0) continue;
      names.PushBack(Str(e->value(i)->name()), a_);
    }
    return names;
  }

  // A well-known type's JSON form, or null for an ordinary message.
  Value WellKnown(const Descriptor* m) {
    const std::string& name = m->full_name();
    if (name == "google.protobuf.Timestamp") {
      Value v = TypeOnly("string");
      v.AddMember("format", "date-time", a_);
      return v;
    }
    if (name == "google.protobuf.Duration" ||
        name == "google.protobuf.FieldMask") {
      return TypeOnly("string");
    }
    if (name == "google.protobuf.Struct") return TypeOnly("object");
    if (name == "google.protobuf.Value") return Value(rapidjson::kObjectType);
    return Value(rapidjson::kNullType);
  }

  // The schema of one value of `f` (an element, for repeated fields).
  Value Scalar(const FieldDescriptor* f) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
      case FieldDescriptor::CPPTYPE_UINT32:
        return TypeOnly("integer");
      case FieldDescriptor::CPPTYPE_INT64:
      case FieldDescriptor::CPPTYPE_UINT64: {
        // Proto JSON writes 64-bit integers as decimal strings.
        Value v = TypeOnly("string");
        v.AddMember("pattern", "^-?[0-9]+$", a_);
        return v;
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT:
        return TypeOnly("number");
      case FieldDescriptor::CPPTYPE_BOOL:
        return TypeOnly("boolean");
      case FieldDescriptor::CPPTYPE_STRING: {
        Value v = TypeOnly("string");
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          v.AddMember("contentEncoding", "base64", a_);
        }
        return v;
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        Value v = TypeOnly("string");
        v.AddMember("enum", EnumNames(f->enum_type()), a_);
        return v;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return Ref(f->message_type());
    }
    return Value(rapidjson::kObjectType);
  }

  Value Field(const FieldDescriptor* f) {
    if (f->is_map()) {
      Value v = TypeOnly("object");
      v.AddMember("additionalProperties",
                  Scalar(f->message_type()->map_value()), a_);
      return v;
    }
    if (f->is_repeated()) {
      Value v = TypeOnly("array");
      v.AddMember("items", Scalar(f), a_);
      return v;
    }
    return Scalar(f);
  }

  // A reference to `m`'s definition, adding it (and what it uses) first.
  Value Ref(const Descriptor* m) {
    Value known = WellKnown(m);
    if (!known.IsNull()) return known;
    const std::string& name = m->full_name();
    if (defined_.insert(name).second) {
      Value def = TypeOnly("object");
      def.AddMember(
          "description",
          Str(absl::StrCat("The ", name, " message of ", m->file()->name(),
                           ", in proto JSON with the fields' own "
                           "names; fields at their default value "
                           "are left out.")),
          a_);
      Value properties(rapidjson::kObjectType);
      for (int i = 0; i < m->field_count(); ++i) {
        const FieldDescriptor* f = m->field(i);
        properties.AddMember(Str(f->name()), Field(f), a_);
      }
      def.AddMember("properties", properties, a_);
      def.AddMember("additionalProperties", false, a_);
      defs_.emplace_back(name, std::move(def));
    }
    Value v(rapidjson::kObjectType);
    v.AddMember("$ref", Str(absl::StrCat("#/$defs/", name)), a_);
    return v;
  }

  // One kind of body: `prefix` + a type of `types`, with `data` of `m`.
  Value Envelope(const std::string& prefix, const EnumDescriptor* types,
                 const std::set<int>& skip, const Descriptor* m) {
    Value kinds(rapidjson::kArrayType);
    const Value names = EnumNames(types, skip);
    for (const Value& name : names.GetArray()) {
      kinds.PushBack(
          Str(absl::StrCat(prefix, absl::AsciiStrToLower(name.GetString()))),
          a_);
    }
    Value type = TypeOnly("string");
    type.AddMember("enum", kinds, a_);
    Value version(rapidjson::kObjectType);
    version.AddMember("const", kPayloadVersion, a_);
    Value timestamp = TypeOnly("string");
    timestamp.AddMember("format", "date-time", a_);
    Value properties(rapidjson::kObjectType);
    properties.AddMember("version", version, a_);
    properties.AddMember("type", type, a_);
    properties.AddMember("timestamp", timestamp, a_);
    properties.AddMember("data", Ref(m), a_);
    Value required(rapidjson::kArrayType);
    for (const char* k : {"version", "type", "timestamp", "data"}) {
      required.PushBack(Value(k, a_), a_);
    }
    Value v = TypeOnly("object");
    v.AddMember("properties", properties, a_);
    v.AddMember("required", required, a_);
    v.AddMember("additionalProperties", false, a_);
    return v;
  }

  // Member events name their user: `data.user` with its id is required.
  Value MembersNameTheirUser() {
    Value kinds(rapidjson::kArrayType);
    for (const char* t :
         {"directory.member_added", "directory.member_removed",
          "directory.role_changed", "directory.org_member_added",
          "directory.org_member_removed", "directory.org_role_changed",
          "directory.user_status_changed", "directory.user_updated"}) {
      kinds.PushBack(Value(t, a_), a_);
    }
    Value type(rapidjson::kObjectType);
    type.AddMember("enum", kinds, a_);
    Value if_props(rapidjson::kObjectType);
    if_props.AddMember("type", type, a_);
    Value if_(rapidjson::kObjectType);
    if_.AddMember("properties", if_props, a_);
    Value user_required(rapidjson::kArrayType);
    user_required.PushBack("id", a_);
    Value user(rapidjson::kObjectType);
    user.AddMember("required", user_required, a_);
    Value data_props(rapidjson::kObjectType);
    data_props.AddMember("user", user, a_);
    Value data_required(rapidjson::kArrayType);
    data_required.PushBack("user", a_);
    Value data(rapidjson::kObjectType);
    data.AddMember("properties", data_props, a_);
    data.AddMember("required", data_required, a_);
    Value then_props(rapidjson::kObjectType);
    then_props.AddMember("data", data, a_);
    Value then(rapidjson::kObjectType);
    then.AddMember("properties", then_props, a_);
    Value v(rapidjson::kObjectType);
    v.AddMember("if", if_, a_);
    v.AddMember("then", then, a_);
    return v;
  }

  std::string Build() {
    doc_.AddMember("$schema", "https://json-schema.org/draft/2020-12/schema",
                   a_);
    doc_.AddMember("$id",
                   Str(absl::StrCat("urn:unified:webhooks:v", kPayloadVersion)),
                   a_);
    doc_.AddMember(
        "title",
        Str(absl::StrCat("unified.v1 webhook body, version ", kPayloadVersion)),
        a_);
    Value one_of(rapidjson::kArrayType);
    one_of.PushBack(
        Envelope("directory.", v1::DirectoryEvent::Type_descriptor(),
                 {v1::DirectoryEvent::HEARTBEAT,
                  v1::DirectoryEvent::SNAPSHOT_COMPLETE},
                 v1::DirectoryEvent::descriptor()),
        a_);
    one_of.PushBack(
        Envelope("account.", v1::AccountEvent::Type_descriptor(),
                 {v1::AccountEvent::HEARTBEAT}, v1::AccountEvent::descriptor()),
        a_);
    doc_.AddMember("oneOf", one_of, a_);
    Value all_of(rapidjson::kArrayType);
    all_of.PushBack(MembersNameTheirUser(), a_);
    doc_.AddMember("allOf", all_of, a_);
    Value defs(rapidjson::kObjectType);
    for (auto& [name, def] : defs_) defs.AddMember(Str(name), def, a_);
    doc_.AddMember("$defs", defs, a_);
    rapidjson::StringBuffer out;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(out);
    writer.SetIndent(' ', 2);
    doc_.Accept(writer);
    return absl::StrCat(out.GetString(), "\n");
  }

 private:
  rapidjson::Document doc_;
  rapidjson::Document::AllocatorType& a_;
  std::set<std::string> defined_;
  std::vector<std::pair<std::string, Value>> defs_;
};

}  // namespace

std::string PayloadSchema() { return SchemaBuilder().Build(); }

}  // namespace unified::webhooks
