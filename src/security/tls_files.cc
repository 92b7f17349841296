#include "security/tls_files.h"

#include <memory>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "common/fs.h"

namespace security {
namespace {

constexpr uint64_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct StoreFree {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::unique_ptr<BIO, BioFree> MemBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, in order; empty if none parses.
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  auto bio = MemBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the read that ended the loop left "no start line"
  return out;
}

std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string cn(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

common::Result<std::string> ReadPemFile(const std::string& path, const std::string& what) {
  common::PosixFs fs;
  if (path.empty()) return common::InvalidArgumentError("TLS: no " + what + " file named");
  common::Result<std::string> text = common::ReadWholeFile(fs, path, kMaxPemBytes);
  if (!text.has_value() && text.error().code() == common::Code::kInvalidArgument) {
    return text.error().WithContext("TLS " + what);
  }
  return text;
}

namespace {

common::Result<TlsMaterial> ReadTlsFiles(const TlsFiles& files) {
  TlsMaterial m;
  ASSIGN_OR_RETURN(m.ca_pem, ReadPemFile(files.ca_file, "CA certificate"));
  ASSIGN_OR_RETURN(m.cert_pem, ReadPemFile(files.cert_file, "certificate"));
  ASSIGN_OR_RETURN(m.key_pem, ReadPemFile(files.key_file, "private key"));
  return m;
}

common::Result<CertificateInfo> CheckTlsMaterial(const TlsMaterial& m, const TlsFiles& files) {
  auto bad = [](const std::string& what) { return common::InvalidArgumentError("TLS: " + what); };
  std::vector<X509Ptr> cas = ReadCertificates(m.ca_pem);
  if (cas.empty()) return bad("no PEM certificate in the CA file " + files.ca_file);
  std::vector<X509Ptr> chain = ReadCertificates(m.cert_pem);
  if (chain.empty()) return bad("no PEM certificate in " + files.cert_file);
  auto key_bio = MemBio(m.key_pem);
  std::unique_ptr<EVP_PKEY, KeyFree> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) return bad("no PEM private key in " + files.key_file + " (or it is encrypted)");
  X509* leaf = chain.front().get();
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return bad("the key in " + files.key_file + " does not belong to the certificate in " + files.cert_file);
  }

  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  for (const X509Ptr& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  STACK_OF(X509)* intermediates = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(intermediates, chain[i].get());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, intermediates);
  const bool verified = X509_verify_cert(ctx.get()) == 1;
  const int err = X509_STORE_CTX_get_error(ctx.get());
  sk_X509_free(intermediates);  // the certificates are owned by `chain`
  ERR_clear_error();
  if (!verified) {
    return bad("the certificate in " + files.cert_file + " does not verify against the CA in " + files.ca_file +
               ": " + X509_verify_cert_error_string(err));
  }
  CertificateInfo info;
  info.common_name = CommonName(leaf);
  if (info.common_name.empty()) return bad("the certificate in " + files.cert_file + " has no subject CN");
  tm not_after{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &not_after) == 1) info.not_after_unix = timegm(&not_after);
  return info;
}

}  // namespace

common::Result<TlsMaterial> LoadTlsFiles(const TlsFiles& files, CertificateInfo* info) {
  ASSIGN_OR_RETURN(TlsMaterial m, ReadTlsFiles(files));
  ASSIGN_OR_RETURN(CertificateInfo i, CheckTlsMaterial(m, files));
  if (info != nullptr) *info = std::move(i);
  return m;
}

}  // namespace security
