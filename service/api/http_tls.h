// The HTTP side listener's certificate, swappable while it serves: each TLS
// handshake takes the pair loaded last (a gnutls retrieve callback, given to
// libmicrohttpd as MHD_OPTION_HTTPS_CERT_CALLBACK). Pairs replaced stay
// alive, since handshakes in progress may still use them; a rotation costs
// a few kilobytes for the life of the process. Thread-safe. One per process.
#ifndef SERVICE_API_HTTP_TLS_H_
#define SERVICE_API_HTTP_TLS_H_

#include <string>

#include "absl/status/status.h"

namespace unified {

// Reads and checks the PEM certificate chain and key files, then makes them
// the pair new handshakes use. INVALID_ARGUMENT (the previous pair stays)
// when they cannot be read, parsed, or do not belong together.
absl::Status LoadHttpTlsPair(const std::string& cert_file,
                             const std::string& key_file);

// The callback for MHD_OPTION_HTTPS_CERT_CALLBACK (a
// gnutls_certificate_retrieve_function2*), as an opaque pointer.
void* HttpTlsRetrieveCallback();

}  // namespace unified

#endif  // SERVICE_API_HTTP_TLS_H_
