#pragma once

// Client credentials for a cluster with mutual TLS on (docs/operations.md,
// "Certificates"): the cluster's CA certificate, and the client's
// certificate and key, whose subject CN is the principal the access policy
// names. For ClientOptions::credentials and KvClientOptions::credentials.

#include <memory>
#include <string>

#include <grpcpp/security/credentials.h>

#include "common/status.h"
#include "security/tls_files.h"

namespace replog {

// The CA file is required when any is given; the certificate and its key
// go together, or are both left out (then the members, which require one,
// refuse the handshake).
using ClientTlsFiles = security::TlsFiles;

// Reads and checks the files (a key that does not belong to the
// certificate, a certificate not from the CA, expiry: kInvalidArgument
// naming the file; a missing file: kNotFound). Returns nullptr (plaintext)
// when `files` names none.
common::Result<std::shared_ptr<grpc::ChannelCredentials>> TlsCredentialsFromFiles(const ClientTlsFiles& files);

}  // namespace replog
