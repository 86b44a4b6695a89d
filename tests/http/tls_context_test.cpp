// The TLS server context: TLS 1.2 suites limited to ECDHE with AEAD, chosen by the server.
#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "caliper_sessiond/config/config.hpp"
#include "server_state.hpp"

namespace http = caliper_sessiond::http;
namespace fs = std::filesystem;

namespace {

bool is_tls13(const SSL_CIPHER* c) { return std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3"; }

class tls_context : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("caliper-tls-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout '" +
                            key() + "' -out '" + cert() + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string cert() const { return (dir_ / "cert.pem").string(); }
  std::string key() const { return (dir_ / "key.pem").string(); }
  fs::path dir_;
};

}  // namespace

TEST_F(tls_context, default_offers_only_ecdhe_with_aead_below_tls13) {
  std::string error;
  auto ctx = http::make_tls_context(cert(), key(), caliper_sessiond::config::default_tls_ciphers, error);
  ASSERT_TRUE(ctx) << error;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->native_handle());
  ASSERT_NE(ciphers, nullptr);
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (is_tls13(c)) continue;  // OpenSSL's TLS 1.3 defaults
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    EXPECT_EQ(SSL_CIPHER_is_aead(c), 1) << SSL_CIPHER_get_name(c);
  }
  EXPECT_EQ(tls12, 6);
}

TEST_F(tls_context, server_chooses_the_suite) {
  std::string error;
  auto ctx = http::make_tls_context(cert(), key(), caliper_sessiond::config::default_tls_ciphers, error);
  ASSERT_TRUE(ctx) << error;
  EXPECT_NE(SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_CIPHER_SERVER_PREFERENCE, 0u);
}

TEST_F(tls_context, configured_list_replaces_the_default) {
  std::string error;
  auto ctx = http::make_tls_context(cert(), key(), "ECDHE-RSA-AES256-GCM-SHA384", error);
  ASSERT_TRUE(ctx) << error;
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->native_handle());
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
    if (!is_tls13(sk_SSL_CIPHER_value(ciphers, i))) ++tls12;
  EXPECT_EQ(tls12, 1);
}

TEST_F(tls_context, list_that_selects_nothing_is_refused) {
  std::string error;
  EXPECT_FALSE(http::make_tls_context(cert(), key(), "NO-SUCH-CIPHER", error));
  EXPECT_NE(error.find("server.tls_ciphers"), std::string::npos) << error;
}
