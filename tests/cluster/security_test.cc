// Mutual TLS and access control on real processes (issue 7): members run
// with certificates from scripts/dev-certs.sh and an access policy; clients
// and members with the wrong certificate, no certificate or no permission
// are refused, and SIGHUP reloads certificates without dropping the cluster.

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/client.h"
#include "client/tls_credentials.h"
#include "cluster_harness.h"
#include "process.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

using ::testing::HasSubstr;

constexpr char kPolicy[] = R"(
[[allow]]
principals = ["admin"]
actions = ["*"]

[[allow]]
principals = ["reader"]
actions = ["log:consume"]
)";

// Certificates of two CAs, made once: "a" is the cluster's (members 1-4,
// clients admin, reader, nobody), "b" another (member 4, client admin).
class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() / ("replog-security-" + std::to_string(getpid())));
    const std::string script = std::string(REPLOG_SOURCE_DIR) + "/scripts/dev-certs.sh";
    const std::string a = script + " " + *dir_ + "/a --members 4 --clients admin,reader,nobody --ca-name a >/dev/null";
    const std::string b = script + " " + *dir_ + "/b --members 4 --clients admin --ca-name b >/dev/null";
    ASSERT_EQ(std::system(a.c_str()), 0);
    ASSERT_EQ(std::system(b.c_str()), 0);
    std::ofstream(*dir_ + "/policy.toml") << kPolicy;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static std::string P(const std::string& rel) { return *dir_ + "/" + rel; }

  // TLS flags of member `id` with the certificate of CA `ca`, the policy on.
  static std::vector<std::string> MemberTlsArgs(uint64_t id, const std::string& ca = "a") {
    const std::string m = ca + "/member-" + std::to_string(id);
    return {"--tls-ca", P(ca + "/ca.crt"), "--tls-cert", P(m + ".crt"), "--tls-key", P(m + ".key"),
            "--acl-policy", P("policy.toml")};
  }

  static std::shared_ptr<grpc::ChannelCredentials> Credentials(const std::string& ca, const std::string& cert_ca,
                                                               const std::string& who) {
    auto c = replog::TlsCredentialsFromFiles(replog::ClientTlsFiles{
        .ca_file = P(ca + "/ca.crt"), .cert_file = P(cert_ca + "/" + who + ".crt"),
        .key_file = P(cert_ca + "/" + who + ".key")});
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c.has_value() ? *c : nullptr;
  }

  static ClusterOptions Options(const std::string& name) {
    ClusterOptions o;
    o.name = name;
    o.member_args = [](uint64_t id) { return MemberTlsArgs(id); };
    o.credentials = Credentials("a", "a", "admin");
    return o;
  }

  static common::Result<std::unique_ptr<replog::Client>> ConnectAs(const Cluster& c,
                                                                   std::shared_ptr<grpc::ChannelCredentials> creds,
                                                                   int64_t deadline_ms = 5'000) {
    replog::ClientOptions o;
    o.bootstrap_addresses = c.Addresses();
    o.deadline_ms = deadline_ms;
    o.credentials = std::move(creds);
    return replog::Client::Connect(std::move(o));
  }

  static std::string* dir_;
};

std::string* SecurityTest::dir_ = nullptr;

TEST_F(SecurityTest, AClientWithAPermissionIsServedAndOneWithoutIsDeniedAndNothingIsWritten) {
  auto started = StartCluster(Options("security-acl"));
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& c = *started->cluster;

  auto admin = ConnectAs(c, Credentials("a", "a", "admin"));
  ASSERT_TRUE(admin.has_value()) << admin.error().ToString();
  auto produced = (*admin)->Produce({replog::Record{.value = "by-admin"}});
  ASSERT_TRUE(produced.has_value()) << produced.error().ToString();

  // "reader" may consume (so discovery works) but not produce.
  auto reader = ConnectAs(c, Credentials("a", "a", "reader"));
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  auto denied = (*reader)->Produce({replog::Record{.value = "by-reader"}});
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), common::Code::kPermissionDenied) << denied.error().ToString();
  EXPECT_THAT(denied.error().message(), HasSubstr("principal \"reader\" may not log:produce"));

  // "nobody" is granted nothing: not even the member list.
  auto nobody = ConnectAs(c, Credentials("a", "a", "nobody"), 2'000);
  ASSERT_FALSE(nobody.has_value());
  EXPECT_THAT(nobody.error().message(), HasSubstr("principal \"nobody\" may not"));

  // The reader's record is on no member: the log holds the admin's alone.
  auto produced_again = (*admin)->Produce({replog::Record{.value = "after"}});
  ASSERT_TRUE(produced_again.has_value()) << produced_again.error().ToString();
  const uint64_t last = produced_again->offsets.back();
  for (uint64_t id : c.ids()) {
    ASSERT_TRUE(c.WaitCommitted({id}, last, 10'000).ok());
    auto log = c.ReadLog(id, last);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    for (const LogRecord& r : *log) EXPECT_NE(r.value, "by-reader") << "member " << id;
  }
  auto read = (*reader)->Consume(produced->offsets.front(), replog::ConsumeOptions{});
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
}

TEST_F(SecurityTest, ClientsWithoutATrustedCertificateFailCleanly) {
  auto started = StartCluster(Options("security-tls"));
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& c = *started->cluster;

  // A certificate from another CA (made into credentials straight, as a
  // client other than ours would: TlsCredentialsFromFiles refuses it
  // already): refused in the handshake.
  grpc::SslCredentialsOptions foreign;
  foreign.pem_root_certs = ReadWholeFile(P("a/ca.crt"));
  foreign.pem_cert_chain = ReadWholeFile(P("b/admin.crt"));
  foreign.pem_private_key = ReadWholeFile(P("b/admin.key"));
  auto other_ca = ConnectAs(c, grpc::SslCredentials(foreign), 2'000);
  ASSERT_FALSE(other_ca.has_value());
  EXPECT_EQ(other_ca.error().code(), common::Code::kUnavailable) << other_ca.error().ToString();
  EXPECT_TRUE(c.WaitUntil([&] { return ReadWholeFile(c.LogPath(1)).find("andshake") != std::string::npos; }, 5'000))
      << c.LogTail(1);

  // Plaintext to a TLS member: an error within the deadline, no hang.
  const auto before = std::chrono::steady_clock::now();
  auto plaintext = ConnectAs(c, nullptr, 2'000);
  ASSERT_FALSE(plaintext.has_value());
  EXPECT_EQ(plaintext.error().code(), common::Code::kUnavailable) << plaintext.error().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));

  // The members serve trusted clients as before.
  auto admin = ConnectAs(c, Credentials("a", "a", "admin"));
  ASSERT_TRUE(admin.has_value()) << admin.error().ToString();
  EXPECT_TRUE((*admin)->Produce({replog::Record{.value = "still-serving"}}).has_value());
}

// Starts members 1-3 with `o`, then member 4 joining through them with its
// flags from `o.member_args(4)`: it must exit non-zero, its log must say
// `why`, and the cluster must not list it.
void ExpectJoinRefused(const ClusterOptions& o, const std::string& why) {
  auto started = StartCluster(o);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& c = *started->cluster;
  auto joined = c.Join({1, 2, 3});
  ASSERT_TRUE(joined.has_value()) << joined.error().ToString();
  auto exit = c.WaitExited(*joined, 30'000);
  ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
  EXPECT_NE(exit->code, 0);
  EXPECT_THAT(ReadWholeFile(c.LogPath(*joined)), HasSubstr(why));
  auto servers = c.GetServers(c.LeaderId() == 0 ? 1 : c.LeaderId(), 2'000);
  ASSERT_TRUE(servers.has_value()) << servers.error().ToString();
  for (const auto& s : servers->servers()) EXPECT_NE(s.id(), *joined);
}

TEST_F(SecurityTest, AMemberWithACertificateOfAnotherCaCannotJoin) {
  ClusterOptions o = Options("security-join");
  // Member 4 joins with a certificate of CA "b" (its own CA file too).
  o.member_args = [](uint64_t id) { return MemberTlsArgs(id, id == 4 ? "b" : "a"); };
  ExpectJoinRefused(o, "TLS handshake failed");
}

TEST_F(SecurityTest, AMemberWhoseCertificateNamesAClientCannotJoin) {
  ClusterOptions o = Options("security-join-client-cert");
  // Member 4 presents the CA's "reader" certificate: trusted, not a member.
  o.member_args = [](uint64_t id) {
    if (id != 4) return MemberTlsArgs(id);
    return std::vector<std::string>{"--tls-ca", P("a/ca.crt"), "--tls-cert", P("a/reader.crt"), "--tls-key",
                                    P("a/reader.key")};
  };
  ExpectJoinRefused(o, "principal \"reader\" may not");
}

// The output of the shell command `cmd` ("" when it fails).
std::string Output(const std::string& dir, const std::string& cmd) {
  const std::string out = dir + "/output.txt";
  if (std::system((cmd + " > " + out + " 2>/dev/null").c_str()) != 0) return "";
  return ReadWholeFile(out);
}

// The serial number of the certificate the member at `address` presents,
// as `openssl s_client` sees it with the admin's certificate.
std::string PresentedSerial(const std::string& dir, const std::string& address) {
  return Output(dir, "openssl s_client -connect " + address + " -CAfile " + dir + "/a/ca.crt -cert " + dir +
                         "/a/admin.crt -key " + dir + "/a/admin.key </dev/null 2>/dev/null | openssl x509 -noout -serial");
}

std::string FileSerial(const std::string& dir, const std::string& cert) {
  return Output(dir, "openssl x509 -noout -serial -in " + cert);
}

TEST_F(SecurityTest, SighupReloadsTheCertificateWithoutDroppingTheCluster) {
  // Member 1 reads its certificate from files the test replaces.
  const std::string conf = P("reload");
  std::filesystem::create_directories(conf);
  auto install = [&](const std::string& from_dir) {
    for (const char* f : {"member-1.crt", "member-1.key"}) {
      std::filesystem::copy_file(from_dir + "/" + f, conf + "/" + f, std::filesystem::copy_options::overwrite_existing);
    }
  };
  install(P("a"));
  ClusterOptions o = Options("security-reload");
  o.member_args = [conf](uint64_t id) {
    if (id != 1) return MemberTlsArgs(id);
    return std::vector<std::string>{"--tls-ca", P("a/ca.crt"), "--tls-cert", conf + "/member-1.crt", "--tls-key",
                                    conf + "/member-1.key", "--acl-policy", P("policy.toml")};
  };
  auto started = StartWithClient(o, replog::ClientOptions{.credentials = Credentials("a", "a", "admin")});
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& c = *started->cluster;
  const std::string first = FileSerial(*dir_, P("a/member-1.crt"));
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(PresentedSerial(*dir_, c.Address(1)), first);

  // A new certificate for member 1 from the same CA.
  const std::string renewed = P("renewed");
  std::filesystem::create_directories(renewed);
  std::filesystem::copy_file(P("a/ca.crt"), renewed + "/ca.crt");
  std::filesystem::copy_file(P("a/ca.key"), renewed + "/ca.key");
  const std::string script = std::string(REPLOG_SOURCE_DIR) + "/scripts/dev-certs.sh " + renewed +
                             " --members 1 --clients '' >/dev/null";
  ASSERT_EQ(std::system(script.c_str()), 0);
  const std::string second = FileSerial(*dir_, renewed + "/member-1.crt");
  ASSERT_NE(second, first);

  // A bad update first (the new certificate, the old key): refused, kept.
  std::filesystem::copy_file(renewed + "/member-1.crt", conf + "/member-1.crt",
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(kill(c.Pid(1), SIGHUP), 0);
  EXPECT_TRUE(c.WaitUntil([&] { return ReadWholeFile(c.LogPath(1)).find("certificates kept") != std::string::npos; },
                          5'000))
      << c.LogTail(1);
  EXPECT_EQ(PresentedSerial(*dir_, c.Address(1)), first);

  install(renewed);
  ASSERT_EQ(kill(c.Pid(1), SIGHUP), 0);
  EXPECT_TRUE(c.WaitUntil([&] { return PresentedSerial(*dir_, c.Address(1)) == second; }, 10'000));
  // The cluster never stopped: every member still runs and writes commit.
  for (uint64_t id : c.ids()) EXPECT_TRUE(c.Running(id)) << id;
  auto r = started->client->Produce({replog::Record{.value = "after-reload"}});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(c.WaitCommitted(c.ids(), r->offsets.back(), 10'000).ok());
}

}  // namespace
}  // namespace cluster_testing
