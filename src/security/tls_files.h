#pragma once

// TLS material from files: a CA certificate (the one CA of the cluster), a
// certificate and its private key, all PEM (docs/operations.md,
// "Certificates").
//
// LoadTlsFiles tells what is wrong before gRPC sees the files, in words
// an operator can act on: gRPC itself only logs a failed handshake, later,
// on the first connection. Pure functions; safe from any thread.

#include <cstdint>
#include <string>

#include "common/status.h"

namespace security {

struct TlsFiles {
  std::string ca_file;    // PEM: the CA certificate(s) peers and clients must chain to
  std::string cert_file;  // PEM: this party's certificate (and intermediates after it)
  std::string key_file;   // PEM: its private key

  // Any named: TLS is meant to be on (ServerConfig::Validate then requires
  // all three). None named: TLS off.
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// The files' contents.
struct TlsMaterial {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// What LoadTlsFiles learned from the certificate.
struct CertificateInfo {
  std::string common_name;  // the subject's CN: the principal the access policy names
  int64_t not_after_unix = 0;
};

// Reads one PEM file of at most 1 MiB; `what` names it in errors ("CA
// certificate"). kInvalidArgument when `path` is empty.
common::Result<std::string> ReadPemFile(const std::string& path, const std::string& what);

// Reads the three files and checks them: the CA and the certificate parse,
// the key parses and belongs to the certificate, the certificate chains to
// the CA, is valid now and has a subject CN. Errors: kInvalidArgument saying
// which, with `files`' names (also when a file is not named); the file
// system's (kNotFound, ...) naming the file. `info`, when given, gets what
// the certificate says.
common::Result<TlsMaterial> LoadTlsFiles(const TlsFiles& files, CertificateInfo* info = nullptr);

}  // namespace security
