#include "service/api/http_tls.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "service/core/tls_files.h"

namespace unified {
namespace {

constexpr unsigned kMaxChain = 8;

struct Pair {
  gnutls_pcert_st certs[kMaxChain];
  unsigned count = 0;
  gnutls_privkey_t key = nullptr;
};

std::atomic<Pair*> current{nullptr};
absl::Mutex loaded_mu;
// Every pair ever loaded: handshakes may still hold an old one.
std::vector<std::unique_ptr<Pair>>* loaded ABSL_GUARDED_BY(loaded_mu) =
    new std::vector<std::unique_ptr<Pair>>();

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

int Retrieve(gnutls_session_t, const gnutls_datum_t*, int,
             const gnutls_pk_algorithm_t*, int, gnutls_pcert_st** certs,
             unsigned int* count, gnutls_privkey_t* key) {
  Pair* pair = current.load(std::memory_order_acquire);
  if (pair == nullptr) return -1;
  *certs = pair->certs;
  *count = pair->count;
  *key = pair->key;
  return 0;
}

}  // namespace

absl::Status LoadHttpTlsPair(const std::string& cert_file,
                             const std::string& key_file) {
  if (absl::Status s = CheckTlsFiles(cert_file, key_file, ""); !s.ok()) {
    return s;
  }
  std::string cert_pem = ReadFile(cert_file);
  std::string key_pem = ReadFile(key_file);
  auto pair = std::make_unique<Pair>();
  gnutls_datum_t cert_data{reinterpret_cast<unsigned char*>(cert_pem.data()),
                           static_cast<unsigned>(cert_pem.size())};
  pair->count = kMaxChain;
  if (gnutls_pcert_list_import_x509_raw(pair->certs, &pair->count, &cert_data,
                                        GNUTLS_X509_FMT_PEM, 0) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS file '", cert_file, "' cannot be loaded"));
  }
  gnutls_datum_t key_data{reinterpret_cast<unsigned char*>(key_pem.data()),
                          static_cast<unsigned>(key_pem.size())};
  if (gnutls_privkey_init(&pair->key) < 0 ||
      gnutls_privkey_import_x509_raw(pair->key, &key_data, GNUTLS_X509_FMT_PEM,
                                     nullptr, 0) < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLS file '", key_file, "' cannot be loaded"));
  }
  absl::MutexLock lock(&loaded_mu);
  current.store(pair.get(), std::memory_order_release);
  loaded->push_back(std::move(pair));
  return absl::OkStatus();
}

void* HttpTlsRetrieveCallback() { return reinterpret_cast<void*>(&Retrieve); }

}  // namespace unified
