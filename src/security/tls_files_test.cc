#include "security/tls_files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "security/member_tls.h"

namespace security {
namespace {

using ::testing::HasSubstr;

// Two CAs made once by scripts/dev-certs.sh: "a" (members 1-2, client
// alice) and "b" (member 1).
class TlsFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(std::filesystem::temp_directory_path() /
                           ("replog-tls-test-" + std::to_string(getpid())));
    const std::string script = std::string(REPLOG_SOURCE_DIR) + "/scripts/dev-certs.sh";
    for (const char* ca : {"a", "b"}) {
      const std::string cmd = script + " " + *dir_ + "/" + ca + " --members 2 --clients alice --ca-name " + ca +
                              " > /dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& ca, const std::string& name) { return *dir_ + "/" + ca + "/" + name; }
  static TlsFiles Files(const std::string& ca, const std::string& who, const std::string& cert_ca = "") {
    const std::string c = cert_ca.empty() ? ca : cert_ca;
    return TlsFiles{.ca_file = Path(ca, "ca.crt"), .cert_file = Path(c, who + ".crt"), .key_file = Path(c, who + ".key")};
  }

  static std::string* dir_;
};

std::string* TlsFilesTest::dir_ = nullptr;

TEST_F(TlsFilesTest, AMatchingSetGivesTheSubjectCn) {
  CertificateInfo info;
  auto m = LoadTlsFiles(Files("a", "member-1"), &info);
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(info.common_name, "member-1");
  EXPECT_GT(info.not_after_unix, 1'700'000'000);
  EXPECT_THAT(m->cert_pem, HasSubstr("BEGIN CERTIFICATE"));
}

TEST_F(TlsFilesTest, AKeyOfAnotherCertificateIsRefused) {
  TlsFiles f = Files("a", "member-1");
  f.key_file = Path("a", "member-2.key");
  auto m = LoadTlsFiles(f);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code(), common::Code::kInvalidArgument);
  EXPECT_THAT(m.error().message(), HasSubstr("does not belong to the certificate"));
  EXPECT_THAT(m.error().message(), HasSubstr("member-2.key"));
}

TEST_F(TlsFilesTest, ACertificateOfAnotherCaIsRefused) {
  auto m = LoadTlsFiles(Files("a", "member-1", /*cert_ca=*/"b"));
  ASSERT_FALSE(m.has_value());
  EXPECT_THAT(m.error().message(), HasSubstr("does not verify against the CA"));
}

TEST_F(TlsFilesTest, MissingAndMalformedFilesAreNamed) {
  TlsFiles missing = Files("a", "member-1");
  missing.cert_file = Path("a", "nobody.crt");
  auto m = LoadTlsFiles(missing);
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().code(), common::Code::kNotFound);
  EXPECT_THAT(m.error().message(), HasSubstr("nobody.crt"));

  const std::string garbage = Path("a", "garbage.crt");
  std::ofstream(garbage) << "not a certificate\n";
  TlsFiles bad = Files("a", "member-1");
  bad.cert_file = garbage;
  m = LoadTlsFiles(bad);
  ASSERT_FALSE(m.has_value());
  EXPECT_THAT(m.error().message(), HasSubstr("no PEM certificate in " + garbage));

  TlsFiles key_as_ca = Files("a", "member-1");
  key_as_ca.ca_file = Path("a", "ca.key");
  m = LoadTlsFiles(key_as_ca);
  ASSERT_FALSE(m.has_value());
  EXPECT_THAT(m.error().message(), HasSubstr("CA file"));
}

TEST_F(TlsFilesTest, ReloadReplacesTheActiveCopiesOnlyWithAValidSet) {
  const std::string active = *dir_ + "/active";
  // The configured files are copies the test edits, as an operator would.
  const std::string conf = *dir_ + "/conf";
  std::filesystem::create_directories(conf);
  TlsFiles files{.ca_file = conf + "/ca.crt", .cert_file = conf + "/m.crt", .key_file = conf + "/m.key"};
  auto put = [&](const std::string& cert, const std::string& key) {
    std::filesystem::copy_file(Path("a", "ca.crt"), files.ca_file, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(Path("a", cert), files.cert_file, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(Path("a", key), files.key_file, std::filesystem::copy_options::overwrite_existing);
  };
  put("member-1.crt", "member-1.key");
  auto tls = MemberTls::Create(files, active);
  ASSERT_TRUE(tls.has_value()) << tls.error().ToString();
  EXPECT_EQ((*tls)->principal(), "member-1");
  ASSERT_NE((*tls)->ServerCredentials(), nullptr);
  ASSERT_NE((*tls)->ChannelCredentials(), nullptr);

  put("member-2.crt", "member-1.key");  // half-way through an update: refused, member-1 stays
  auto refused = (*tls)->Reload();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ((*tls)->principal(), "member-1");
  auto active_cert = ReadPemFile(active + "/member.crt", "certificate");
  auto first_cert = ReadPemFile(Path("a", "member-1.crt"), "certificate");
  ASSERT_TRUE(active_cert.has_value() && first_cert.has_value());
  EXPECT_EQ(*active_cert, *first_cert);

  put("member-2.crt", "member-2.key");
  auto reloaded = (*tls)->Reload();
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().ToString();
  EXPECT_EQ(reloaded->common_name, "member-2");
  EXPECT_EQ((*tls)->principal(), "member-2");
  active_cert = ReadPemFile(active + "/member.crt", "certificate");
  auto second_cert = ReadPemFile(Path("a", "member-2.crt"), "certificate");
  ASSERT_TRUE(active_cert.has_value() && second_cert.has_value());
  EXPECT_EQ(*active_cert, *second_cert);
}

}  // namespace
}  // namespace security
