#include "client/tls_credentials.h"

#include "security/tls_files.h"

namespace replog {

common::Result<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentialsFromFiles(const ClientTlsFiles& files) {
  if (!files.enabled()) return std::shared_ptr<grpc::ChannelCredentials>();
  if (files.ca_file.empty()) {
    return common::InvalidArgumentError("TLS: the CA certificate is required with a client certificate (--tls-ca)");
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return common::InvalidArgumentError("TLS: give the client certificate and its key together (--tls-cert, --tls-key)");
  }
  const security::TlsFiles f{.ca_file = files.ca_file, .cert_file = files.cert_file, .key_file = files.key_file};
  grpc::SslCredentialsOptions options;
  if (f.cert_file.empty()) {
    // Only the CA: the server's certificate is checked, none is presented.
    ASSIGN_OR_RETURN(options.pem_root_certs, security::ReadPemFile(f.ca_file, "CA certificate"));
  } else {
    ASSIGN_OR_RETURN(security::TlsMaterial m, security::LoadTlsFiles(f));
    options.pem_root_certs = m.ca_pem;
    options.pem_cert_chain = m.cert_pem;
    options.pem_private_key = m.key_pem;
  }
  return grpc::SslCredentials(options);
}

}  // namespace replog
