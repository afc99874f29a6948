#include "connectors/podio/pagers.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/common/error_details.h"
#include "connectors/podio/mappers.h"

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

OffsetPager::OffsetPager(PodioClient* client,
                         const PodioConnectorOptions& options)
    : client_(client), min_page_size_(options.min_page_size) {
  for (int i = 0; i < kPagedRoutes; ++i) {
    page_size_[i] = std::max(options.min_page_size, options.page_size[i]);
  }
}

int OffsetPager::PageSize(PagedRoute route, int want) const {
  return std::max(1,
                  std::min(page_size_[static_cast<int>(route)].load(), want));
}

absl::StatusOr<OffsetPager::Fetched> OffsetPager::Fetch(
    CallContext& ctx, PagedRoute route, int want,
    const std::function<std::string(int limit)>& url) {
  std::atomic<int>& size = page_size_[static_cast<int>(route)];
  while (true) {
    const int limit = PageSize(route, want);
    absl::StatusOr<json::Body> doc = client_->Get(ctx, url(limit));
    if (doc.ok()) return Fetched{std::move(*doc), limit};
    if (doc.status().code() != absl::StatusCode::kInvalidArgument ||
        limit <= min_page_size_) {
      return doc.status();
    }
    const int smaller = limit > 100 ? 100 : std::max(min_page_size_, limit / 2);
    // Only ever shrinks; racing shrinks keep the smallest.
    for (int current = size.load();
         current > smaller && !size.compare_exchange_weak(current, smaller);) {
    }
  }
}

std::vector<SourceBuffer> BuffersAt(const PodioPageToken& token) {
  std::vector<SourceBuffer> buffers(token.sources_size());
  for (int i = 0; i < token.sources_size(); ++i) {
    buffers[i].read = token.sources(i).offset();
  }
  return buffers;
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
      const UserOrderKey key = OrderKeyOf((*buffers)[i].users.front());
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
          !(OrderKeyOf(buffer.users.front()) == best)) {
        continue;
      }
      if (first) {
        merged = std::move(buffer.users.front());
        first = false;
      } else {
        MergeUser(buffer.users.front(), &merged);
      }
      buffer.users.pop_front();
      source.set_offset(source.offset() + 1);
      if (buffer.users.empty() && !buffer.more) source.set_done(true);
    }
    if (keep(merged)) out.push_back(std::move(merged));
  }
  return out;
}

absl::Status ReadSources(
    PodioPageToken* token, int limit, const std::function<int()>& held,
    const std::function<absl::StatusOr<bool>(PageSource& source, int room)>&
        read) {
  int64_t index = token->position();
  while (index < token->sources_size() && held() < limit) {
    absl::StatusOr<bool> exhausted =
        read(*token->mutable_sources(static_cast<int>(index)), limit - held());
    if (!exhausted.ok()) {
      token->set_position(index);
      return exhausted.status();
    }
    if (*exhausted) ++index;
  }
  token->set_position(index);
  return absl::OkStatus();
}

}  // namespace unified::podio
