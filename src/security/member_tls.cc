#include "security/member_tls.h"

#include <grpcpp/security/tls_credentials_options.h>

#include "common/fs.h"

namespace security {
namespace {

// Writes `text` to `path` through a temporary file and a rename, so that the
// watcher never reads half a file.
common::Status ReplaceFile(common::Fs& fs, const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    ASSIGN_OR_RETURN(std::unique_ptr<common::File> f, fs.Open(tmp, common::OpenMode::kCreate));
    RETURN_IF_ERROR(f->Truncate(0));
    RETURN_IF_ERROR(f->WriteAt(0, text.data(), text.size()));
    RETURN_IF_ERROR(f->Sync());
  }
  return fs.Rename(tmp, path);
}

}  // namespace

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
  RETURN_IF_ERROR(ReplaceFile(fs, active.key_file, m.key_pem));
  RETURN_IF_ERROR(ReplaceFile(fs, active.cert_file, m.cert_pem));
  RETURN_IF_ERROR(ReplaceFile(fs, active.ca_file, m.ca_pem));
  return fs.SyncDir(active_dir_);
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
