#include "security/member_tls.h"

#include <grpcpp/security/tls_credentials_options.h>

#include "common/fs.h"

namespace security {

common::Result<std::unique_ptr<MemberTls>> MemberTls::Create(const TlsFiles& files, const std::string& active_dir) {
  CertificateInfo info;
  ASSIGN_OR_RETURN(TlsMaterial m, LoadTlsFiles(files, &info));
  std::unique_ptr<MemberTls> tls(new MemberTls(files, active_dir));
  RETURN_IF_ERROR(tls->WriteActive(m));
  tls->info_ = std::move(info);
  const TlsFiles active = tls->ActiveFiles();
  tls->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      active.key_file, active.cert_file, active.ca_file, kRefreshSeconds);
  return tls;
}

TlsFiles MemberTls::ActiveFiles() const {
  return TlsFiles{.ca_file = common::JoinPath(active_dir_, "ca.crt"),
                  .cert_file = common::JoinPath(active_dir_, "member.crt"),
                  .key_file = common::JoinPath(active_dir_, "member.key")};
}

common::Status MemberTls::WriteActive(const TlsMaterial& m) {
  common::PosixFs fs;
  RETURN_IF_ERROR(fs.CreateDir(active_dir_));
  const TlsFiles active = ActiveFiles();
  // The key first: the watcher refuses a certificate whose key it does not
  // hold, and keeps what it had until the pair matches again.
  // Each file through a temporary name and a rename: the watcher never
  // reads half a file.
  RETURN_IF_ERROR(common::ReplaceFileDurably(fs, active.key_file, m.key_pem));
  RETURN_IF_ERROR(common::ReplaceFileDurably(fs, active.cert_file, m.cert_pem));
  return common::ReplaceFileDurably(fs, active.ca_file, m.ca_pem);
}

std::shared_ptr<grpc::ServerCredentials> MemberTls::ServerCredentials() const {
  grpc::experimental::TlsServerCredentialsOptions options(provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MemberTls::ChannelCredentials() const {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  return grpc::experimental::TlsCredentials(options);
}

std::string MemberTls::principal() const {
  std::lock_guard lock(mu_);
  return info_.common_name;
}

common::Result<CertificateInfo> MemberTls::Reload() {
  std::lock_guard lock(mu_);
  CertificateInfo info;
  ASSIGN_OR_RETURN(TlsMaterial m, LoadTlsFiles(files_, &info));
  RETURN_IF_ERROR(WriteActive(m));
  info_ = info;
  return info;
}

}  // namespace security
