// The Stream RPCs of the directory: every page of a listing from a cursor
// on, as a PooledStream (service/api/serving.h). Each step on the worker pool
// takes the next page of the connector's iterator (pages of the largest
// size) and slices it into messages; the next step runs while the client
// reads, so at most two decoded pages are held, whatever the listing's size
// or the client's speed. The iterator reads ahead on its own (parallel
// requests, docs/streaming.md), only while the stream asks for pages.
#ifndef SERVICE_API_LISTING_STREAM_H_
#define SERVICE_API_LISTING_STREAM_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "connectors/common/error_details.h"
#include "service/api/serving.h"
#include "service/core/paging.h"

namespace unified {

// What a stream needs of its listing once the call is resolved.
template <typename T>
struct Listing {
  CursorBinding binding;
  // The connector's pages from a start.
  std::function<std::unique_ptr<PageIterator<T>>(const PageRequest& start)>
      iterate;
  // Applied to each item before it is sent (a read mask); unset: none.
  std::function<void(T& item)> shape;
  // Called right before the stream finishes normally (trailing metadata),
  // with the iterator that read the listing.
  std::function<void(const PageIterator<T>& pages)> before_finish;
  // Keeps alive what the functions above use.
  std::shared_ptr<void> keep;
};

// Where a listing stream starts and how it slices.
struct ListingParams {
  std::string cursor;
  int32_t limit = 0;
  bool include_remote_data = false;
};

// Resolves the call on the pool (the stream's first step): the caller's
// tenant, deadline and cancellation come in, the listing goes out.
struct StreamEnv {
  std::string tenant;
  absl::Time deadline;
  std::function<bool()> cancelled;
};
template <typename T>
using ListingOpener =
    std::function<absl::StatusOr<Listing<T>>(const StreamEnv& env)>;

template <typename T, typename Response>
class ListingStream final : public PooledStream<Response> {
  using Base = PooledStream<Response>;
  using Step = typename Base::Step;

 public:
  // Starts the stream of an admitted call; gRPC owns the result until done.
  static grpc::ServerWriteReactor<Response>* Start(
      Serving* serving, grpc::CallbackServerContext* context,
      Admission admission, const CursorCodec* codec, ListingParams params,
      ListingOpener<T> open) {
    auto* stream = new ListingStream(serving, context, std::move(admission),
                                     codec, std::move(params), std::move(open));
    stream->Base::Start();
    return stream;
  }

 private:
  ListingStream(Serving* serving, grpc::CallbackServerContext* context,
                Admission admission, const CursorCodec* codec,
                ListingParams params, ListingOpener<T> open)
      : Base(serving, context, std::move(admission), WorkerPool::Lane::kBulk),
        codec_(codec),
        params_(std::move(params)),
        open_(std::move(open)) {}

  PageRequest RequestFor(const std::string& token) const {
    PageRequest request;
    request.page_token = token;
    request.limit = kMaxPageSize;
    request.include_remote_data = params_.include_remote_data;
    return request;
  }

  absl::StatusOr<Step> Produce(std::vector<Response>* out) override {
    if (!opened_) {
      ASSIGN_OR_RETURN(limit_, ValidatePageSize(params_.limit));
      StreamEnv env{this->tenant(), this->deadline(),
                    [this] { return this->cancelled(); }};
      ASSIGN_OR_RETURN(listing_, open_(env));
      ASSIGN_OR_RETURN(CursorState start,
                       codec_->Open(listing_.binding, params_.cursor));
      token_ = start.page_token;
      skip_ = start.skip;
      pages_ = listing_.iterate(RequestFor(token_));
      opened_ = true;
    }
    Page<T> page;
    if (!pages_->Next(&page)) {
      // Where the client resumes once the cause is gone: this very page.
      absl::Status failed = pages_->status();
      if (failed.ok()) failed = absl::InternalError("the listing ended early");
      return WithErrorMetadata(
          failed, "resume_cursor",
          codec_->Seal(listing_.binding, CursorState{token_, skip_}),
          "UPSTREAM_ERROR");
    }
    const std::string next = page.next_page_token;
    const std::optional<int64_t> total = page.total_size;
    const int64_t unreadable = skip_ == 0 ? page.unreadable : 0;
    this->serving()->OnUnreadableRecords(unreadable);
    const size_t before = out->size();
    for (ListResult<T>& slice : SlicePage(*codec_, listing_.binding, token_,
                                          std::move(page), skip_, limit_)) {
      Response message;
      for (T& item : slice.items) {
        if (listing_.shape) listing_.shape(item);
        *message.add_result() = std::move(item);
      }
      message.set_next_cursor(std::move(slice.next_cursor));
      SetTotalSize(slice.total_size, &message);
      SetUnreadable(slice.unreadable, &message);
      out->push_back(std::move(message));
    }
    if (out->size() == before && unreadable > 0) {
      // A page of nothing readable still says so, with where to resume.
      Response& message = out->emplace_back();
      if (!next.empty()) {
        message.set_next_cursor(
            codec_->Seal(listing_.binding, CursorState{next, 0}));
      }
      SetTotalSize(total, &message);
      SetUnreadable(unreadable, &message);
    }
    skip_ = 0;
    produced_ |= !out->empty();
    if (!next.empty()) {
      token_ = next;
      return Step::kMore;
    }
    // An empty listing still answers one (empty) message.
    if (!produced_) SetTotalSize(total, &out->emplace_back());
    return Step::kDone;
  }

  absl::Status StallStatus(absl::Duration stalled,
                           const Response& pending) override {
    return WithErrorInfo(
        absl::AbortedError(absl::StrCat(
            "the client accepted no message for ",
            absl::FormatDuration(stalled),
            "; the stream was ended. Resume with the last next_cursor "
            "received (also in this error's resume_cursor; empty: the "
            "listing is complete)")),
        kStreamStalledReason, {{"resume_cursor", pending.next_cursor()}});
  }

  void BeforeFinish() override {
    if (listing_.before_finish) listing_.before_finish(*pages_);
  }

  const CursorCodec* const codec_;
  const ListingParams params_;
  const ListingOpener<T> open_;
  // Used by the one Produce at a time.
  bool opened_ = false;
  int limit_ = kDefaultPageSize;
  Listing<T> listing_;
  std::unique_ptr<PageIterator<T>> pages_;
  std::string token_;
  uint32_t skip_ = 0;
  bool produced_ = false;
};

// Admits a listing stream (a tenant's stream slot) and starts it; a refused
// call is finished at once.
template <typename T, typename Response>
grpc::ServerWriteReactor<Response>* StartListing(
    Serving* serving, grpc::CallbackServerContext* context,
    const CursorCodec* codec, ListingParams params, ListingOpener<T> open) {
  absl::StatusOr<Admission> admitted =
      serving->Admit(*context, Serving::Kind::kStream);
  if (!admitted.ok()) {
    return new FinishedStream<Response>(ToGrpcStatus(admitted.status()));
  }
  return ListingStream<T, Response>::Start(serving, context,
                                           std::move(*admitted), codec,
                                           std::move(params), std::move(open));
}

}  // namespace unified

#endif  // SERVICE_API_LISTING_STREAM_H_
