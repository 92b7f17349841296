#pragma once

// MemberTls: the mutual TLS of one replogd member (DESIGN §4): its gRPC
// server requires and verifies a client certificate from the cluster's CA on
// every connection, client or peer, and its channels to peers present the
// member's own certificate and verify the peer's against the same CA (and
// the address dialled against the certificate's names).
//
// Reload without a restart: gRPC reads the material through a file watcher
// from copies this class keeps in `active_dir` (under the data directory),
// not from the configured files. Reload() (SIGHUP) re-reads and checks the
// configured files and, only if they are valid, replaces the copies; gRPC
// picks them up within kRefreshSeconds for new handshakes. Connections
// already up keep their session: the cluster does not drop. So a
// half-written or mismatched file never reaches gRPC, and files edited in
// place without a SIGHUP are not picked up by surprise.
//
// Threads: Reload may be called from any thread (calls are serialized);
// the credentials are shared with gRPC and outlive nothing of ours.

#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include "common/status.h"
#include "security/tls_files.h"

namespace security {

class MemberTls {
 public:
  // How often gRPC looks at the active copies.
  static constexpr int kRefreshSeconds = 1;

  // Checks `files` (LoadTlsFiles' errors), writes the active copies
  // (the file system's errors, naming the file).
  static common::Result<std::unique_ptr<MemberTls>> Create(const TlsFiles& files, const std::string& active_dir);

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // The subject CN of the certificate in use.
  std::string principal() const;

  // Re-reads and checks the configured files; if valid, they become the
  // active copies and their certificate's info is returned. On an error the
  // material in use stays.
  common::Result<CertificateInfo> Reload();

 private:
  MemberTls(TlsFiles files, std::string active_dir) : files_(std::move(files)), active_dir_(std::move(active_dir)) {}
  common::Status WriteActive(const TlsMaterial& m);
  TlsFiles ActiveFiles() const;

  const TlsFiles files_;
  const std::string active_dir_;
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;
  mutable std::mutex mu_;
  CertificateInfo info_;  // guarded by mu_
};

}  // namespace security
