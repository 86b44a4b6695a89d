// The TLS policy seen from real clients: openssl s_client for single suites, and testssl
// (Debian package testssl.sh) for the whole offer. TLS 1.2 gets ECDHE with AEAD only, in
// the server's order; server.tls_ciphers replaces the list, also on SIGHUP.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "pg_test_env.hpp"
#include "server_process.hpp"
#include "eventually.hpp"

using namespace caliper_sessiond::testing;
using namespace std::chrono_literals;

namespace {

using caliper_sessiond::testing::eventually;

class tls_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  }
  /// A TLS server with an RSA certificate (static-RSA suites need one to be negotiable at all).
  void start(const std::string& extra_toml = "") {
    server_process::options o;
    o.database_url = env_->create_database("tls");
    o.extra_toml = extra_toml;
    server_ = std::make_unique<server_process>(o);
    const auto [rc, out] = run_command("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
                                       "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
                                       server_->dir() + "/key.pem' -out '" + server_->cert() + "' 2>&1");
    ASSERT_EQ(rc, 0) << out;
    ASSERT_TRUE(server_->start()) << server_->log();
  }
  /// The suite a TLS 1.2 handshake offering `ciphers` (in that order) ends with; "" when it fails.
  std::string negotiated(const std::string& ciphers) const {
    const auto [rc, out] = run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(server_->port()) +
                                       " -tls1_2 -cipher '" + ciphers + "' </dev/null 2>&1");
    const auto at = out.find("Cipher is ");
    if (rc != 0 || at == std::string::npos) return {};
    const auto name = out.substr(at + 10, out.find('\n', at) - at - 10);
    return name == "(NONE)" ? std::string{} : name;
  }
  std::optional<pg_test_env> env_;
  std::unique_ptr<server_process> server_;
};

}  // namespace

TEST_F(tls_e2e, tls12_refuses_cbc_and_static_rsa_suites_and_accepts_ecdhe_gcm) {
  start();
  EXPECT_EQ(negotiated("AES128-SHA"), "");            // static RSA, CBC
  EXPECT_EQ(negotiated("AES256-SHA256"), "");         // static RSA, CBC
  EXPECT_EQ(negotiated("ECDHE-RSA-AES128-SHA"), "");  // forward secret, but CBC
  EXPECT_EQ(negotiated("ECDHE-RSA-AES128-GCM-SHA256"), "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(negotiated("ECDHE-RSA-CHACHA20-POLY1305"), "ECDHE-RSA-CHACHA20-POLY1305");
}

TEST_F(tls_e2e, server_picks_the_suite_whatever_the_client_lists_first) {
  start();
  EXPECT_EQ(negotiated("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"), "ECDHE-RSA-AES128-GCM-SHA256");
}

TEST_F(tls_e2e, tls_ciphers_setting_replaces_the_list_and_sighup_applies_it) {
  start("tls_ciphers = \"ECDHE-RSA-AES256-GCM-SHA384\"\n");
  EXPECT_EQ(negotiated("ECDHE-RSA-AES128-GCM-SHA256"), "");
  EXPECT_EQ(negotiated("ECDHE-RSA-AES256-GCM-SHA384"), "ECDHE-RSA-AES256-GCM-SHA384");
  std::stringstream config;
  config << std::ifstream(server_->config_path()).rdbuf();
  std::string text = config.str();
  const std::string from = "ECDHE-RSA-AES256-GCM-SHA384", to = "ECDHE-RSA-CHACHA20-POLY1305";
  text.replace(text.find(from), from.size(), to);
  std::ofstream(server_->config_path(), std::ios::trunc) << text;
  server_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return negotiated(to) == to; })) << server_->log();
  EXPECT_EQ(negotiated(from), "");
}

// Run time: about a minute (testssl -e tries every suite the local OpenSSL knows, one by one).
TEST_F(tls_e2e, testssl_finds_no_suite_without_forward_secrecy_and_no_cbc) {
  std::string tool;
  for (const char* candidate : {"testssl", "testssl.sh"})
    if (run_command(std::string("command -v ") + candidate + " >/dev/null 2>&1").first == 0) tool = candidate;
  if (tool.empty()) GTEST_SKIP() << "testssl is not installed (Debian package testssl.sh; scripts/bootstrap installs it)";
  start();
  const auto [rc, out] = run_command(tool + " --quiet --color 0 --warnings off --fast -e 127.0.0.1:" +
                                     std::to_string(server_->port()) + " 2>&1");
  // Each offered suite is a row: hexcode, OpenSSL name, key exchange, ..., IANA name.
  int offered = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream row(line);
    std::string hex, name, kx;
    if (!(row >> hex >> name >> kx) || hex.size() < 3 || hex[0] != 'x') continue;
    ++offered;
    std::string iana, word;
    while (row >> word) iana = word;
    EXPECT_TRUE(kx == "ECDH" || kx == "DH") << "no forward secrecy: " << line;
    EXPECT_EQ(iana.find("_CBC_"), std::string::npos) << "CBC: " << line;
  }
  EXPECT_GE(offered, 3) << out;
  EXPECT_NE(out.find("ECDHE-RSA-AES128-GCM-SHA256"), std::string::npos) << out;
}
