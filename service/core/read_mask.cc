#include "service/core/read_mask.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"

namespace unified {
namespace {

absl::Status Invalid(const std::string& message) {
  return WithErrorInfo(absl::InvalidArgumentError(message),
                       "INVALID_FIELD_MASK");
}

}  // namespace

absl::StatusOr<ReadMask> ReadMask::Compile(
    const google::protobuf::FieldMask& mask,
    const google::protobuf::Descriptor* type) {
  ReadMask compiled;
  if (mask.paths_size() == 0) return compiled;
  if (mask.paths_size() > 100) {
    return Invalid("read_mask has more than 100 paths");
  }
  auto root = std::make_shared<Node>();
  for (const std::string& path : mask.paths()) {
    Node* node = root.get();
    const google::protobuf::Descriptor* message = type;
    const std::vector<absl::string_view> steps = absl::StrSplit(path, '.');
    for (size_t i = 0; i < steps.size(); ++i) {
      const google::protobuf::FieldDescriptor* field =
          message == nullptr ? nullptr
                             : message->FindFieldByName(std::string(steps[i]));
      const bool last = i + 1 == steps.size();
      if (field == nullptr || (!last && (field->is_repeated() ||
                                         field->message_type() == nullptr))) {
        return Invalid(absl::StrCat("read_mask path '", path.substr(0, 100),
                                    "' is not a field of ", type->name()));
      }
      auto child = std::find_if(
          node->children.begin(), node->children.end(),
          [field](const Node::Child& c) { return c.field == field; });
      if (child == node->children.end()) {
        node->children.push_back({field, std::make_unique<Node>()});
        child = node->children.end() - 1;
      }
      node = child->node.get();
      message = field->message_type();
    }
    // A path that keeps a whole field wins over longer ones through it.
    node->all = true;
  }
  compiled.root_ = std::move(root);
  return compiled;
}

void ReadMask::Trim(google::protobuf::Message* message) const {
  if (root_ != nullptr) Trim(*root_, message);
}

void ReadMask::Trim(const Node& node, google::protobuf::Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> set;
  reflection->ListFields(*message, &set);
  for (const google::protobuf::FieldDescriptor* field : set) {
    auto kept = std::find_if(
        node.children.begin(), node.children.end(),
        [field](const Node::Child& c) { return c.field == field; });
    if (kept == node.children.end()) {
      reflection->ClearField(message, field);
    } else if (!kept->node->all) {
      Trim(*kept->node, reflection->MutableMessage(message, field));
    }
  }
}

}  // namespace unified
