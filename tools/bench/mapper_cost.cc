// Benchmark 2 of the directory: CPU cost per user record of parse + map +
// serialize, against RapidJSON parsing alone of the same bytes the way the
// connector parses them (in situ). Counted in instructions by callgrind
// (repeatable), driven by mapper_cost.sh.
//
//   mapper_cost --dump=FILE                 write a page of 500 org members
//   mapper_cost --input=FILE --mode=parse   RapidJSON ParseInsitu of a copy
//                                           of the page (the baseline: the
//                                           full path copies it too)
//   mapper_cost ... --mode=sax              RapidJSON's in-situ parse with a
//                                           handler that builds nothing
//                                           (the floor of a SAX mapper)
//   mapper_cost ... --mode=parse_copy       RapidJSON's copying Parse (the
//                                           earlier baseline, reported for
//                                           comparison only)
//   mapper_cost --input=FILE --mode=full    podio::MapOrgMemberPage (rows
//                                           mapped as the page is parsed in
//                                           situ, as the organization member
//                                           listing maps them) +
//                                           ListUsersResponse serialization
//   mapper_cost ... --mode=dom              full, through a document:
//                                           json::ParseOwned, then
//                                           MapOrgMember for each row
//   mapper_cost ... --mode=remote           full, with remote_data mapped
//   mapper_cost ... --mode=trimmed          remote, then read_mask
//                                           "id,name,emails" applied: a mask
//                                           that only trims
//   mapper_cost ... --mode=masked           what the service does for that
//                                           mask with include_remote_data:
//                                           the mapper skips remote_data,
//                                           then the mask, compiled once
//                                           per page
//                                           (service/core/read_mask.h), trims
//   mapper_cost ... --mode=masked_util      masked, trimmed instead by
//                                           FieldMaskUtil::TrimMessage (the
//                                           mask parsed again per record)
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "connectors/common/http_client.h"
#include "connectors/common/json.h"
#include "connectors/podio/mappers.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "proto/unified/v1/user_directory.pb.h"
#include "rapidjson/document.h"
#include "service/core/read_mask.h"
#include "tools/podio_sim/sim_client.h"
#include "tools/podio_sim/simulator.h"

ABSL_FLAG(std::string, dump, "", "Write a page of 500 members here and exit.");
ABSL_FLAG(std::string, input, "", "Page to process.");
ABSL_FLAG(std::string, mode, "full",
          "parse | parse_copy | sax | full | dom | remote | trimmed | "
          "masked | masked_util");
ABSL_FLAG(int, iterations, 10, "Times to process the page.");

namespace unified {
namespace {

int Dump(const std::string& path) {
  podio_sim::SimulatorOptions options;
  options.data.users = 2000;
  options.data.orgs = 1;
  auto sim = podio_sim::Simulator::Start(options);
  if (!sim.ok()) return 1;
  auto http = NewCurlHttpClient({});
  absl::StatusOr<std::string> token =
      podio_sim::PasswordGrantToken(*http, (*sim)->base_url());
  if (!token.ok()) return 1;
  HttpRequest page;
  page.url = absl::StrCat((*sim)->base_url(), "/org/", podio_sim::kFirstOrgId,
                          "/member/?limit=500&offset=100");
  page.headers = {{"Authorization", "OAuth2 " + *token}};
  auto r = http->Send(page);
  if (!r.ok() || r->status != 200) return 1;
  std::ofstream(path) << r->body;
  return 0;
}

// The floor of a mapper fed by SAX events: the same in-situ parse with a
// handler that keeps nothing (no DOM is built). -1 on a parse error.
int64_t SaxOnce(const std::string& page) {
  std::string copy = page;
  rapidjson::InsituStringStream stream(&copy[0]);
  rapidjson::Reader reader;
  rapidjson::BaseReaderHandler<> handler;
  if (reader.Parse<rapidjson::kParseInsituFlag>(stream, handler).IsError()) {
    return -1;
  }
  return copy.size();
}

// RapidJSON's DOM parse alone, in situ or copying: the records found.
int64_t ParseOnce(const std::string& page, bool in_situ) {
  rapidjson::Document doc;
  std::string copy;
  if (in_situ) {
    copy = page;
    doc.ParseInsitu(&copy[0]);
  } else {
    doc.Parse(page.c_str(), page.size());
  }
  return doc.IsArray() ? doc.Size() : 0;
}

// Parse + map + serialize, as `mode` says; the bytes serialized, -1 on a
// failure. `*records` is set to the users mapped.
int64_t FullOnce(const std::string& page, const std::string& mode,
                 const v1::OrganizationRef& org,
                 const google::protobuf::FieldMask& mask, int* records) {
  const bool remote = mode == "remote" || mode == "trimmed";
  absl::StatusOr<ReadMask> compiled =
      ReadMask::Compile(mask, v1::User::descriptor());
  if (!compiled.ok()) return -1;
  v1::ListUsersResponse response;
  auto keep = [&](v1::User user) {
    if (mode == "masked_util") {
      google::protobuf::util::FieldMaskUtil::TrimMessage(mask, &user);
    } else {
      compiled->Trim(&user);
    }
    *response.add_result() = std::move(user);
  };
  if (mode == "dom") {
    // The page as a document, each row mapped from it.
    absl::StatusOr<json::Body> doc = json::ParseOwned(std::string(page));
    if (!doc.ok() || !doc->root().IsArray()) return -1;
    for (const auto& member : doc->root().GetArray()) {
      absl::StatusOr<v1::User> user = podio::MapOrgMember(member, org, false);
      if (!user.ok()) return -1;
      keep(std::move(*user));
    }
  } else {
    // As the organization member listing maps a page it owns; the copy
    // stands for the body the HTTP client hands over.
    auto users = podio::MapOrgMemberPage(std::string(page), org, false, remote);
    if (!users.ok()) return -1;
    for (absl::StatusOr<v1::User>& user : *users) {
      if (!user.ok()) return -1;
      keep(std::move(*user));
    }
  }
  *records = response.result_size();
  return response.SerializeAsString().size();
}

int Run() {
  if (!absl::GetFlag(FLAGS_dump).empty())
    return Dump(absl::GetFlag(FLAGS_dump));
  std::ifstream in(absl::GetFlag(FLAGS_input));
  std::stringstream text;
  text << in.rdbuf();
  const std::string page = text.str();
  const std::string mode = absl::GetFlag(FLAGS_mode);
  google::protobuf::FieldMask mask;
  if (mode == "trimmed" || mode == "masked" || mode == "masked_util") {
    for (const char* path : {"id", "name", "emails"}) mask.add_paths(path);
  }
  v1::OrganizationRef org;
  org.set_id("1000");
  org.set_name("Organization 1");
  size_t checksum = 0;
  int records = 0;
  for (int i = 0; i < absl::GetFlag(FLAGS_iterations); ++i) {
    int64_t n;
    if (mode == "sax") {
      n = SaxOnce(page);
    } else if (mode == "parse" || mode == "parse_copy") {
      n = records = ParseOnce(page, mode == "parse");
    } else {
      n = FullOnce(page, mode, org, mask, &records);
    }
    if (n < 0) return 1;
    checksum += n;
  }
  std::printf("%s: %d records x %d iterations (checksum %zu)\n", mode.c_str(),
              records, absl::GetFlag(FLAGS_iterations), checksum);
  return 0;
}

}  // namespace
}  // namespace unified

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return unified::Run();
}
