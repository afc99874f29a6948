// A read mask (google.protobuf.FieldMask) compiled once for a message type,
// then applied to each message of a response: FieldMaskUtil::TrimMessage
// parses the paths again for every message (docs/queries.md, "Read masks";
// tools/bench/mapper_cost.sh compares the two).
#ifndef SERVICE_CORE_READ_MASK_H_
#define SERVICE_CORE_READ_MASK_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"

namespace unified {

class ReadMask {
 public:
  // Keeps every field.
  ReadMask() = default;

  // The mask for messages of `type`. INVALID_ARGUMENT (reason
  // INVALID_FIELD_MASK) when it has more than 100 paths or a path names no
  // field of `type` (a repeated field may only end a path).
  static absl::StatusOr<ReadMask> Compile(
      const google::protobuf::FieldMask& mask,
      const google::protobuf::Descriptor* type);

  // Whether it keeps every field (an empty mask).
  bool empty() const { return root_ == nullptr; }

  // Clears the fields of `message` (of the compiled type) that no path
  // keeps; as FieldMaskUtil::TrimMessage does. Thread-safe.
  void Trim(google::protobuf::Message* message) const;

 private:
  // A path's step: all of its field, when a path ends there, else the
  // fields kept below it.
  struct Node {
    struct Child {
      const google::protobuf::FieldDescriptor* field;
      std::unique_ptr<Node> node;
    };
    bool all = false;
    std::vector<Child> children;
  };
  static void Trim(const Node& node, google::protobuf::Message* message);

  std::shared_ptr<const Node> root_;  // Shared by copies; never changed.
};

}  // namespace unified

#endif  // SERVICE_CORE_READ_MASK_H_
