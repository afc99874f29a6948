#include "service/api/reflection.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"

namespace unified {
namespace {

using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

// One reflection stream: reads a request, answers it (descriptor lookups
// only, no blocking), reads the next.
class Reflector final
    : public grpc::ServerBidiReactor<ServerReflectionRequest,
                                     ServerReflectionResponse> {
 public:
  explicit Reflector(const ReflectionService* service) : service_(service) {
    StartRead(&request_);
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);
      return;
    }
    response_.Clear();
    Answer(request_, &response_);
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::CANCELLED);
      return;
    }
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

  void Error(grpc::StatusCode code, const std::string& message,
             ServerReflectionResponse* out) {
    out->mutable_error_response()->set_error_code(static_cast<int>(code));
    out->mutable_error_response()->set_error_message(message);
  }

  // `file` and its dependencies not sent yet on this stream.
  void AddFile(const FileDescriptor* file, ServerReflectionResponse* out) {
    std::vector<const FileDescriptor*> todo = {file};
    while (!todo.empty()) {
      const FileDescriptor* f = todo.back();
      todo.pop_back();
      if (!sent_.insert(f->name()).second) continue;
      google::protobuf::FileDescriptorProto proto;
      f->CopyTo(&proto);
      proto.SerializeToString(
          out->mutable_file_descriptor_response()->add_file_descriptor_proto());
      for (int i = 0; i < f->dependency_count(); ++i) {
        todo.push_back(f->dependency(i));
      }
    }
    // Asked again for a file already sent: send it anyway.
    if (!out->has_file_descriptor_response()) {
      google::protobuf::FileDescriptorProto proto;
      file->CopyTo(&proto);
      proto.SerializeToString(
          out->mutable_file_descriptor_response()->add_file_descriptor_proto());
    }
  }

  void Answer(const ServerReflectionRequest& in,
              ServerReflectionResponse* out) {
    const DescriptorPool* pool = DescriptorPool::generated_pool();
    out->set_valid_host(in.host());
    *out->mutable_original_request() = in;
    switch (in.message_request_case()) {
      case ServerReflectionRequest::kListServices:
        for (const std::string& name : service_->services()) {
          out->mutable_list_services_response()->add_service()->set_name(name);
        }
        return;
      case ServerReflectionRequest::kFileByFilename: {
        const FileDescriptor* file =
            pool->FindFileByName(in.file_by_filename());
        if (file == nullptr) {
          return Error(grpc::StatusCode::NOT_FOUND, "file not found", out);
        }
        return AddFile(file, out);
      }
      case ServerReflectionRequest::kFileContainingSymbol: {
        const FileDescriptor* file =
            pool->FindFileContainingSymbol(in.file_containing_symbol());
        if (file == nullptr) {
          return Error(grpc::StatusCode::NOT_FOUND, "symbol not found", out);
        }
        return AddFile(file, out);
      }
      case ServerReflectionRequest::kFileContainingExtension: {
        const auto* type = pool->FindMessageTypeByName(
            in.file_containing_extension().containing_type());
        const FieldDescriptor* extension =
            type == nullptr
                ? nullptr
                : pool->FindExtensionByNumber(
                      type, in.file_containing_extension().extension_number());
        if (extension == nullptr) {
          return Error(grpc::StatusCode::NOT_FOUND, "extension not found", out);
        }
        return AddFile(extension->file(), out);
      }
      case ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const auto* type =
            pool->FindMessageTypeByName(in.all_extension_numbers_of_type());
        if (type == nullptr) {
          return Error(grpc::StatusCode::NOT_FOUND, "type not found", out);
        }
        std::vector<const FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        auto* numbers = out->mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const FieldDescriptor* e : extensions) {
          numbers->add_extension_number(e->number());
        }
        return;
      }
      default:
        return Error(grpc::StatusCode::UNIMPLEMENTED,
                     "unknown reflection request", out);
    }
  }

  const ReflectionService* const service_;
  ServerReflectionRequest request_;
  ServerReflectionResponse response_;
  std::set<std::string> sent_;  // Files sent on this stream.
};

}  // namespace

ReflectionService::ReflectionService(std::vector<std::string> services)
    : services_(std::move(services)) {
  std::sort(services_.begin(), services_.end());
}

grpc::ServerBidiReactor<ServerReflectionRequest, ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext*) {
  return new Reflector(this);
}

}  // namespace unified
