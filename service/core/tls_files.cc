#include "service/core/tls_files.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace unified {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

absl::Status Unusable(const std::string& path, const char* what) {
  return absl::InvalidArgumentError(
      absl::StrCat("TLS file '", path, "' ", what));
}

}  // namespace

absl::Status CheckTlsFiles(const std::string& cert_file,
                           const std::string& key_file,
                           const std::string& ca_file) {
  File cert_in(std::fopen(cert_file.c_str(), "r"));
  if (cert_in == nullptr) return Unusable(cert_file, "cannot be read");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_X509(cert_in.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) return Unusable(cert_file, "holds no PEM certificate");
  File key_in(std::fopen(key_file.c_str(), "r"));
  if (key_in == nullptr) return Unusable(key_file, "cannot be read");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_PrivateKey(key_in.get(), nullptr, nullptr, nullptr),
      &EVP_PKEY_free);
  if (key == nullptr) return Unusable(key_file, "holds no PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Unusable(key_file, "is not the key of the certificate");
  }
  if (!ca_file.empty()) {
    File ca_in(std::fopen(ca_file.c_str(), "r"));
    if (ca_in == nullptr) return Unusable(ca_file, "cannot be read");
    std::unique_ptr<X509, decltype(&X509_free)> ca(
        PEM_read_X509(ca_in.get(), nullptr, nullptr, nullptr), &X509_free);
    if (ca == nullptr) return Unusable(ca_file, "holds no PEM certificate");
  }
  return absl::OkStatus();
}

}  // namespace unified
