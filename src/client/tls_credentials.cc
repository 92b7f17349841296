#include "client/tls_credentials.h"

namespace replog {

common::Result<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentialsFromFiles(const ClientTlsFiles& files) {
  if (!files.enabled()) return std::shared_ptr<grpc::ChannelCredentials>();
  if (files.ca_file.empty()) {
    return common::InvalidArgumentError("TLS: the CA certificate is required with a client certificate (--tls-ca)");
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return common::InvalidArgumentError("TLS: give the client certificate and its key together (--tls-cert, --tls-key)");
  }
  grpc::SslCredentialsOptions options;
  if (files.cert_file.empty()) {
    // Only the CA: the server's certificate is checked, none is presented.
    ASSIGN_OR_RETURN(options.pem_root_certs, security::ReadPemFile(files.ca_file, "CA certificate"));
  } else {
    ASSIGN_OR_RETURN(security::TlsMaterial m, security::LoadTlsFiles(files));
    options.pem_root_certs = m.ca_pem;
    options.pem_cert_chain = m.cert_pem;
    options.pem_private_key = m.key_pem;
  }
  return grpc::SslCredentials(options);
}

}  // namespace replog
