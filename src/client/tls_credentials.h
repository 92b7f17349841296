#pragma once

// Client credentials for a cluster with mutual TLS on (docs/operations.md,
// "Certificates"): the cluster's CA certificate, and the client's
// certificate and key, whose subject CN is the principal the access policy
// names. For ClientOptions::credentials and KvClientOptions::credentials.

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>

#include "common/status.h"

namespace replog {

struct ClientTlsFiles {
  std::string ca_file;    // PEM; required when any is given
  std::string cert_file;  // PEM; with key_file, or neither (then the
  std::string key_file;   // members, which require one, refuse the handshake)

  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// Reads and checks the files (a key that does not belong to the
// certificate, a certificate not from the CA, expiry: kInvalidArgument
// naming the file; a missing file: kNotFound). Returns nullptr (plaintext)
// when `files` names none.
common::Result<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentialsFromFiles(const ClientTlsFiles& files);

}  // namespace replog
