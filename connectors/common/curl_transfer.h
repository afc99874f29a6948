// What libcurl's easy (http_client.cc) and multi (curl_multi_client.cc)
// clients share: one transfer's state, and setting up and finishing a
// transfer on an easy handle. Internal to connectors/common.
#ifndef CONNECTORS_COMMON_CURL_TRANSFER_H_
#define CONNECTORS_COMMON_CURL_TRANSFER_H_

#include <curl/curl.h>

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "connectors/common/http_client.h"

namespace unified::curl_internal {

struct CurlEasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct CurlListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;
using CurlList = std::unique_ptr<curl_slist, CurlListDeleter>;

struct Transfer {
  HttpResponse* response;
  size_t max_bytes;
  const std::function<bool()>* cancelled;
  const HttpRequest* request = nullptr;
  CURL* curl = nullptr;
  bool too_large = false;
  bool stopped_by_callback = false;
  bool refused_peer = false;
};

void GlobalInit();
// Sets up `h` for `request`, its callbacks writing into `transfer` (and
// `*headers`, which must live as long as the transfer). INVALID_ARGUMENT
// for a request that must not be sent.
absl::Status Prepare(CURL* h, const CurlHttpClientOptions& options,
                     const HttpRequest& request, Transfer* transfer,
                     CurlList* headers);
// The outcome of a finished transfer on `h` (which is left holding no
// pointer to the transfer's buffers, ready for reuse).
absl::StatusOr<HttpResponse> Complete(CURL* h, CURLcode code,
                                      const Transfer& transfer,
                                      HttpResponse response,
                                      const CurlHttpClientOptions& options);

}  // namespace unified::curl_internal

#endif  // CONNECTORS_COMMON_CURL_TRANSFER_H_
