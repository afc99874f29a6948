#include "connectors/podio/pagers.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/common/status_macros.h"
#include "connectors/podio/mappers.h"
#include "connectors/podio/podio_errors.h"

namespace unified::podio {
namespace {

constexpr int kTokenVersion = 1;

}  // namespace

absl::Status ParsePageSizes(absl::string_view text,
                            PodioConnectorOptions* options) {
  static constexpr std::pair<const char*, PagedRoute> kNames[] = {
      {"org_members", PagedRoute::kOrgMembers},
      {"org_contacts", PagedRoute::kOrgContacts},
      {"space_members", PagedRoute::kSpaceMembers}};
  for (absl::string_view entry : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(entry, absl::MaxSplits('=', 1));
    int size = 0;
    const auto* named =
        std::find_if(std::begin(kNames), std::end(kNames),
                     [&](const auto& n) { return kv.first == n.first; });
    if (named == std::end(kNames) || !absl::SimpleAtoi(kv.second, &size) ||
        size < 1 || size > 100000) {
      return absl::InvalidArgumentError(absl::StrCat(
          "page size entry '", entry,
          "' is not org_members|org_contacts|space_members=N (1..100000)"));
    }
    options->page_size[static_cast<int>(named->second)] = size;
  }
  return absl::OkStatus();
}

absl::StatusOr<PodioPageToken> DecodeToken(const std::string& bytes,
                                           absl::string_view kind) {
  PodioPageToken token;
  if (!token.ParseFromString(bytes) || token.version() != kTokenVersion ||
      token.kind() != kind) {
    return WithErrorInfo(
        absl::InvalidArgumentError("cursor does not belong to this listing"),
        "INVALID_CURSOR");
  }
  return token;
}

std::string EncodeToken(PodioPageToken token, absl::string_view kind) {
  token.set_version(kTokenVersion);
  token.set_kind(std::string(kind));
  return token.SerializeAsString();
}

absl::StatusOr<std::optional<PodioPageToken>> TokenOf(
    const std::string& page_token, absl::string_view kind) {
  if (page_token.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(PodioPageToken token, DecodeToken(page_token, kind));
  return std::optional<PodioPageToken>(std::move(token));
}

v1::OrganizationRef OrgRef(int64_t id, const std::string& name) {
  v1::OrganizationRef ref;
  ref.set_id(absl::StrCat(id));
  ref.set_name(name);
  return ref;
}

absl::Status UnexpectedAnswer(const std::string& path) {
  return absl::InternalError(
      absl::StrCat("listing fed an answer it did not want: ", path));
}

PageSizes::PageSizes(const PodioConnectorOptions& options)
    : min_page_size_(options.min_page_size),
      blind_pages_(std::max(0, options.blind_pages)),
      trusted_rows_(std::max(0, options.trusted_rows)) {
  for (int i = 0; i < kPagedRoutes; ++i) {
    size_[i] = std::max(options.min_page_size, options.page_size[i]);
    proven_[i] = 0;
  }
}

bool PageSizes::Ends(PagedRoute route, int64_t rows, int asked, int64_t read,
                     int64_t count) {
  std::atomic<int64_t>& proven = proven_[static_cast<int>(route)];
  for (int64_t seen = proven.load();
       rows > seen && !proven.compare_exchange_weak(seen, rows);) {
  }
  if (rows >= asked) return false;
  return rows < trusted_rows_ || (count > 0 && read >= count) ||
         proven.load() >= asked;
}

void PageSizes::LearnCap(PagedRoute route, int64_t rows) {
  std::atomic<int>& size = size_[static_cast<int>(route)];
  const int cap = static_cast<int>(std::max<int64_t>(1, rows));
  for (int current = size.load();
       current > cap && !size.compare_exchange_weak(current, cap);) {
  }
}

int PageSizes::BlindPages(int64_t answered) const {
  return static_cast<int>(
      std::max<int64_t>(0, std::min<int64_t>(answered - 1, blind_pages_)));
}

int PageSizes::Size(PagedRoute route, int want) const {
  return std::max(1, std::min(size_[static_cast<int>(route)].load(), want));
}

bool PageSizes::ShrinkAfter400(PagedRoute route, int limit) {
  if (limit <= min_page_size_) return false;
  const int smaller = limit > 100 ? 100 : std::max(min_page_size_, limit / 2);
  std::atomic<int>& size = size_[static_cast<int>(route)];
  // Only ever shrinks; racing shrinks keep the smallest.
  for (int current = size.load();
       current > smaller && !size.compare_exchange_weak(current, smaller);) {
  }
  return true;
}

std::string OrgsPath(int64_t only) {
  return only == 0 ? "/org/" : absl::StrCat("/org/", only);
}

absl::StatusOr<std::vector<SourceInfo>> ReadOrgs(int64_t only,
                                                 const rapidjson::Value& doc) {
  if (only == 0) return ReadOrgList(doc);
  ASSIGN_OR_RETURN(v1::Organization org, MapOrganization(doc, false));
  return std::vector<SourceInfo>{{only, org.name(), org.member_count()}};
}

absl::Status AddOrgSources(int64_t only, HttpResponse answer,
                           PodioPageToken* token) {
  ASSIGN_OR_RETURN(json::Body doc, ReadAnswer(std::move(answer)));
  ASSIGN_OR_RETURN(std::vector<SourceInfo> orgs, ReadOrgs(only, doc));
  for (const SourceInfo& org : orgs) {
    PageSource* source = token->add_sources();
    source->set_id(org.id);
    source->set_name(org.name);
    source->set_expected(org.members);
  }
  return absl::OkStatus();
}

absl::StatusOr<PageSource> ReadWorkspaceSource(
    HttpResponse answer, const std::string& organization_id) {
  ASSIGN_OR_RETURN(json::Body space, ReadAnswer(std::move(answer)));
  ASSIGN_OR_RETURN(v1::Workspace ws,
                   MapSpace(space, v1::OrganizationRef(), false));
  if (!organization_id.empty() && ws.organization().id() != organization_id) {
    return BadArgument("the workspace is not in that organization",
                       "WORKSPACE_NOT_IN_ORGANIZATION");
  }
  PageSource source;
  int64_t id = 0, org_id = 0;
  (void)absl::SimpleAtoi(ws.id(), &id);
  (void)absl::SimpleAtoi(ws.organization().id(), &org_id);
  source.set_id(id);
  source.set_name(ws.name());
  source.set_parent_id(org_id);
  source.set_parent_name(ws.organization().name());
  source.set_expected(ws.member_count());
  return source;
}

void GuessPages(const PageSource& source, int64_t start, int size, int overlap,
                bool counted, int blind,
                const std::function<std::string(int64_t)>& url,
                std::vector<std::string>* out) {
  out->push_back(url(start));
  for (int64_t k = 1; out->size() < kMaxGuesses; ++k) {
    const int64_t offset = start + k * std::max(1, size - overlap);
    if (counted && source.expected() > 0 ? offset + overlap > source.expected()
                                         : k > blind) {
      break;
    }
    out->push_back(url(offset));
  }
}

bool AllDone(const PodioPageToken& token) {
  for (const PageSource& source : token.sources()) {
    if (!source.done()) return false;
  }
  return true;
}

std::vector<SourceBuffer> BuffersAt(const PodioPageToken& token) {
  std::vector<SourceBuffer> buffers(token.sources_size());
  for (int i = 0; i < token.sources_size(); ++i) {
    const PageSource& source = token.sources(i);
    SourceBuffer& buffer = buffers[i];
    for (const std::string& id : source.anchors()) buffer.recent.Add(id);
    buffer.read = source.offset();
    buffer.anchored = !buffer.recent.empty() && source.offset() > 0;
    buffer.ask = AskAt(source.offset(), buffer.anchored);
  }
  return buffers;
}

void SetAnchors(const std::vector<SourceBuffer>& buffers,
                PodioPageToken* token) {
  for (int i = 0;
       i < token->sources_size() && i < static_cast<int>(buffers.size()); ++i) {
    WriteAnchors(buffers[i].recent, token->mutable_sources(i));
  }
}

void WriteAnchors(const RecentIds& recent, PageSource* source) {
  source->clear_anchors();
  for (const std::string& id : recent.Last(kAnchors)) source->add_anchors(id);
}

std::vector<v1::User> MergeByName(
    PodioPageToken* token, std::vector<SourceBuffer>* buffers, int limit,
    const std::function<bool(const v1::User&)>& keep) {
  std::vector<v1::User> out;
  const int n = token->sources_size();
  while (static_cast<int>(out.size()) < limit) {
    // Merging needs every live source's head: stop where one ran dry.
    bool blocked = false, any = false;
    UserOrderKey best;
    for (int i = 0; i < n; ++i) {
      if (token->sources(i).done()) continue;
      if ((*buffers)[i].users.empty()) {
        blocked = true;
        break;
      }
      const UserOrderKey key = OrderKeyOf((*buffers)[i].users.front().user);
      if (!any || key < best) best = key;
      any = true;
    }
    if (blocked || !any) break;
    v1::User merged;
    bool first = true;
    for (int i = 0; i < n; ++i) {
      PageSource& source = *token->mutable_sources(i);
      SourceBuffer& buffer = (*buffers)[i];
      if (source.done() || buffer.users.empty() ||
          !(OrderKeyOf(buffer.users.front().user) == best)) {
        continue;
      }
      buffer.recent.Add(buffer.users.front().user.id());
      if (first) {
        merged = std::move(buffer.users.front().user);
        first = false;
      } else {
        MergeUser(buffer.users.front().user, &merged);
      }
      source.set_offset(buffer.users.front().at + 1);
      buffer.users.pop_front();
      if (buffer.users.empty()) {
        source.set_offset(source.offset() + buffer.skipped);
        buffer.skipped = 0;
      }
      if (buffer.users.empty() && !buffer.more) source.set_done(true);
    }
    if (keep(merged)) out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace unified::podio
