// The compiled read mask trims as FieldMaskUtil::TrimMessage does, on every
// field of the directory's messages filled in, for every valid path and
// pairs of them; and refuses what FieldMaskUtil::GetFieldDescriptors does.
#include "service/core/read_mask.h"

#include <string>
#include <vector>

#include "connectors/common/error_details.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/field_mask_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "tests/testing/status_matchers.h"

namespace unified {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FieldMask;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::google::protobuf::util::FieldMaskUtil;
using ::unified::testing::IsOk;
using ::unified::testing::StatusIs;

// Sets every field of `message` (two elements of each repeated one) down
// to `depth` levels of messages.
void Fill(Message* message, int depth) {
  const Reflection* r = message->GetReflection();
  const Descriptor* d = message->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->real_containing_oneof() != nullptr &&
        f->real_containing_oneof()->field(0) != f) {
      continue;  // One member of each oneof.
    }
    const int n = f->is_repeated() ? 2 : 1;
    for (int k = 0; k < n; ++k) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth == 0) break;
          Fill(f->is_repeated() ? r->AddMessage(message, f)
                                : r->MutableMessage(message, f),
               depth - 1);
          break;
        case FieldDescriptor::CPPTYPE_STRING:
          f->is_repeated() ? r->AddString(message, f, "s" + f->name())
                           : r->SetString(message, f, "s" + f->name());
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          f->is_repeated() ? r->AddBool(message, f, true)
                           : r->SetBool(message, f, true);
          break;
        case FieldDescriptor::CPPTYPE_ENUM: {
          const int value = f->enum_type()
                                ->value(f->enum_type()->value_count() - 1)
                                ->number();
          f->is_repeated() ? r->AddEnumValue(message, f, value)
                           : r->SetEnumValue(message, f, value);
          break;
        }
        case FieldDescriptor::CPPTYPE_INT32:
          f->is_repeated() ? r->AddInt32(message, f, 7)
                           : r->SetInt32(message, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          f->is_repeated() ? r->AddInt64(message, f, 7)
                           : r->SetInt64(message, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_UINT32:
          f->is_repeated() ? r->AddUInt32(message, f, 7)
                           : r->SetUInt32(message, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_UINT64:
          f->is_repeated() ? r->AddUInt64(message, f, 7)
                           : r->SetUInt64(message, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          f->is_repeated() ? r->AddDouble(message, f, 7)
                           : r->SetDouble(message, f, 7);
          break;
        case FieldDescriptor::CPPTYPE_FLOAT:
          f->is_repeated() ? r->AddFloat(message, f, 7)
                           : r->SetFloat(message, f, 7);
          break;
      }
    }
  }
}

// Every path into `type`: each field, and below each singular message
// field, down to `depth` levels.
void Paths(const Descriptor* type, const std::string& prefix, int depth,
           std::vector<std::string>* out) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    out->push_back(prefix + f->name());
    if (depth > 0 && !f->is_repeated() && f->message_type() != nullptr) {
      Paths(f->message_type(), prefix + f->name() + ".", depth - 1, out);
    }
  }
}

FieldMask MaskOf(const std::vector<std::string>& paths) {
  FieldMask mask;
  for (const std::string& p : paths) mask.add_paths(p);
  return mask;
}

template <typename T>
void ExpectTrimsAsFieldMaskUtil() {
  T full;
  Fill(&full, 3);
  std::vector<std::string> paths;
  Paths(T::descriptor(), "", 2, &paths);
  ASSERT_GT(paths.size(), 5u);
  std::vector<std::vector<std::string>> masks;
  for (const std::string& a : paths) {
    masks.push_back({a});
    for (const std::string& b : paths) masks.push_back({a, b});
  }
  int differing = 0;
  for (const std::vector<std::string>& paths_of_mask : masks) {
    const FieldMask mask = MaskOf(paths_of_mask);
    absl::StatusOr<ReadMask> compiled =
        ReadMask::Compile(mask, T::descriptor());
    ASSERT_THAT(compiled, IsOk()) << mask.DebugString();
    T want = full;
    FieldMaskUtil::TrimMessage(mask, &want);
    T got = full;
    compiled->Trim(&got);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, want))
        << mask.DebugString() << "\ngot: " << got.DebugString()
        << "\nwant: " << want.DebugString();
    if (!google::protobuf::util::MessageDifferencer::Equals(got, full)) {
      ++differing;
    }
  }
  // The masks really trimmed.
  EXPECT_GT(differing, static_cast<int>(masks.size()) / 2);
}

TEST(ReadMaskTest, TrimsAsFieldMaskUtilDoes) {
  ExpectTrimsAsFieldMaskUtil<v1::User>();
  ExpectTrimsAsFieldMaskUtil<v1::Workspace>();
  ExpectTrimsAsFieldMaskUtil<v1::Organization>();
  ExpectTrimsAsFieldMaskUtil<v1::RoleAssignment>();
  ExpectTrimsAsFieldMaskUtil<v1::DirectoryEvent>();
}

TEST(ReadMaskTest, AnEmptyMaskKeepsEverything) {
  v1::User user;
  Fill(&user, 3);
  absl::StatusOr<ReadMask> compiled =
      ReadMask::Compile(FieldMask(), v1::User::descriptor());
  ASSERT_THAT(compiled, IsOk());
  EXPECT_TRUE(compiled->empty());
  v1::User trimmed = user;
  compiled->Trim(&trimmed);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(trimmed, user));
}

void ExpectRefused(const std::string& path) {
  absl::StatusOr<ReadMask> compiled =
      ReadMask::Compile(MaskOf({"id", path}), v1::User::descriptor());
  EXPECT_THAT(compiled, StatusIs(absl::StatusCode::kInvalidArgument)) << path;
  ASSERT_TRUE(GetErrorInfo(compiled.status()).has_value()) << path;
  EXPECT_EQ(GetErrorInfo(compiled.status())->reason(), "INVALID_FIELD_MASK");
}

TEST(ReadMaskTest, RefusesWhatIsNotAPathOfTheType) {
  for (const std::string& path :
       {std::string("nope"), std::string("id.x"), std::string("name..x"),
        std::string("emails.address"), std::string("remote_data.fields.x"),
        std::string(1000, 'a')}) {
    EXPECT_FALSE(FieldMaskUtil::GetFieldDescriptors(v1::User::descriptor(),
                                                    path, nullptr))
        << path;
    ExpectRefused(path);
  }
  // Empty steps, which FieldMaskUtil skips, are refused too.
  for (const std::string& path : {"", "id.", ".id"}) ExpectRefused(path);
  std::vector<std::string> many(101, "id");
  EXPECT_THAT(ReadMask::Compile(MaskOf(many), v1::User::descriptor()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Every path FieldMaskUtil takes, and nothing else, in this list.
  std::vector<std::string> paths;
  Paths(v1::User::descriptor(), "", 2, &paths);
  for (const std::string& path : paths) {
    EXPECT_TRUE(FieldMaskUtil::GetFieldDescriptors(v1::User::descriptor(), path,
                                                   nullptr));
    EXPECT_THAT(ReadMask::Compile(MaskOf({path}), v1::User::descriptor()),
                IsOk());
  }
}

}  // namespace
}  // namespace unified
